"""Partner structures as the programme team follows them: who reports, who went quiet, who
works there, which tokens their systems use.

The list is the coordinators' (`partner.list`); a structure's page is read by whoever the
permission table lets read the structure, each part of it by those it grants that part.
"""

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa

from ..cadence import Record, records
from ..extensions import db
from ..models import Activity, ApiToken, StageChange, Structure, TrainingSession, User
from ..permissions import Actor, Scope, covers, structures_within
from . import containing
from .activities import RECENT as RECENT_ACTIVITIES
from .activities import list_activities, open_next_steps
from .people import list_people
from .pipeline import stage_history
from .structures import get_structure

RECENT_TRAININGS = 10


@dataclass
class Partner:
    """A structure with its activity and its reporting record (`cadence.Record`)."""

    structure: Structure
    record: Record
    people: int = 0

    @property
    def reports(self) -> int:
        return self.record.reports

    @property
    def last_report(self) -> dt.date | None:
        return self.record.last_report

    @property
    def silent(self) -> bool:
        """Nothing received for the last two periods owed: a partner to call."""
        return self.record.silent

    @property
    def stage(self) -> str:
        return self.record.stage


@dataclass
class PartnerPage:
    """What a structure's page shows; the parts the reader may not see stay empty."""

    partner: Partner
    people: list[User] = field(default_factory=list)
    tokens: list[ApiToken] = field(default_factory=list)
    tokens_visible: bool = False  # the reader manages the tokens of the structure's people
    trainings: list[TrainingSession] = field(default_factory=list)
    trainings_total: int = 0
    follows: bool = False  # the reader follows the structure: its activities and next steps
    activities: list[Activity] = field(default_factory=list)  # the most recent
    next_steps: list[Activity] = field(default_factory=list)  # not done, soonest due first
    stages: list[StageChange] = field(default_factory=list)  # recorded, the latest first


def list_partners(actor: Actor, filters: dict | None = None) -> list[Partner]:
    """The structures of the actor's deployments with their activity, by name. `filters`:
    search (in the name), deployment_id, kind, active (True/False), silent (True)."""
    filters = filters or {}
    query = sa.select(Structure).where(structures_within(actor, "partner.list"))
    if filters.get("search"):
        query = query.where(sa.func.lower(Structure.name).like(containing(filters["search"])))
    if filters.get("deployment_id"):
        query = query.where(Structure.deployment_id == filters["deployment_id"])
    if filters.get("kind"):
        query = query.where(Structure.kind == filters["kind"])
    if filters.get("active") is not None:
        query = query.where(Structure.active.is_(filters["active"]))
    structures = db.session.scalars(query.order_by(Structure.name, Structure.id)).all()
    partners = _with_activity(structures)
    if filters.get("silent"):
        partners = [partner for partner in partners if partner.silent]
    return partners


def partner_page(actor: Actor, structure_id: int) -> PartnerPage:
    """A structure's page as the actor may read it."""
    structure = get_structure(actor, structure_id)
    page = PartnerPage(_with_activity([structure])[0])
    if actor.may("user.read") and covers(actor, "user.read", structure):
        page.people = list_people(actor, {"structure_id": structure.id})
    page.tokens_visible = _reaches_tokens(actor, structure)
    if page.tokens_visible:
        page.tokens = db.session.scalars(
            sa.select(ApiToken)
            .join(User, ApiToken.user_id == User.id)
            .where(User.structure_id == structure.id)
            .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc())
        ).all()
    if actor.may("training.read") and covers(actor, "training.read", structure):
        trainings = sa.select(TrainingSession).where(TrainingSession.structure_id == structure.id)
        page.trainings_total = db.session.scalar(
            sa.select(sa.func.count()).select_from(trainings.subquery())
        )
        page.trainings = db.session.scalars(
            trainings.order_by(TrainingSession.held_on.desc()).limit(RECENT_TRAININGS)
        ).all()
    page.follows = actor.may("activity.read") and covers(actor, "activity.read", structure)
    if page.follows:
        page.activities = list_activities(actor, structure.id, RECENT_ACTIVITIES)
        page.next_steps = open_next_steps(actor, structure.id)
        page.stages = stage_history(actor, structure.id)
    return page


def _reaches_tokens(actor: Actor, structure: Structure) -> bool:
    scope = actor.check("token.read")
    return scope is not Scope.OWN and covers(actor, "token.read", structure)


def _with_activity(structures: list[Structure]) -> list[Partner]:
    """Each structure with its reporting record (reports, latest intervention) and its number
    of active accounts."""
    ids = [structure.id for structure in structures]
    if not ids:
        return []
    people = dict(
        db.session.execute(
            sa.select(User.structure_id, sa.func.count(User.id))
            .where(User.structure_id.in_(ids), User.active)
            .group_by(User.structure_id)
        ).all()
    )
    return [
        Partner(record.structure, record, people.get(record.structure.id, 0))
        for record in records(structures)
    ]
