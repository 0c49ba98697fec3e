"""Deployments (DESIGN §2): where the programme runs, opened over the territories loaded.

A commune belongs to one deployment at most, and the structures based in it belong to that
deployment. Coordinators open and edit deployments within their own (an attached coordinator
is attached to the deployment they open, or they could not see it), and attach the accounts
without a structure (coordination, institutions, evaluators) who then see only their
deployments. Every change is audited.
"""

import datetime as dt
import unicodedata
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _

from .. import audit
from ..errors import Conflict, NotFound, invalid
from ..extensions import db
from ..models import (
    Deployment,
    Structure,
    Territory,
    User,
    deployment_territories,
    user_deployments,
)
from ..permissions import Actor, deployments_within
from ..schemas import storable
from ..vocabulary import TERRITORY_LEVELS
from . import transaction
from .structures import move

NAME_LENGTH = 200  # the column's size
ATTACHABLE_ROLES = ("coordinator", "institution", "evaluator")
NAMED_AT_MOST = 10  # codes, communes or accounts named in one message
CHUNK = 500  # codes per IN (…) list


@dataclass(frozen=True)
class DeploymentSummary:
    """A deployment as lists show it, with what it holds."""

    id: int
    name: str
    started_on: dt.date
    territories: int
    structures: int
    people: int


@dataclass(frozen=True)
class TerritoryChoice:
    """A loaded territory as the picker offers it, with the deployment already holding it."""

    code: str
    name: str
    level: str
    parent_code: str | None
    parent_name: str | None
    deployment: str | None

    @property
    def label(self) -> str:
        return f"{self.name} ({self.code})"


# Reading --------------------------------------------------------------------------------------


def list_deployments(actor: Actor) -> list[DeploymentSummary]:
    """The deployments the actor reaches, by name, with their territories, structures and
    attached people counted."""
    rows = db.session.execute(
        sa.select(
            Deployment.id,
            Deployment.name,
            Deployment.started_on,
            _count(deployment_territories, deployment_territories.c.deployment_id),
            _count(Structure.__table__, Structure.deployment_id),
            _count(user_deployments, user_deployments.c.deployment_id),
        )
        .where(deployments_within(actor, "deployment.read"))
        .order_by(Deployment.name, Deployment.id)
    )
    return [DeploymentSummary(*row) for row in rows]


def _count(table, deployment_column):
    return (
        sa.select(sa.func.count())
        .select_from(table)
        .where(deployment_column == Deployment.id)
        .correlate(Deployment)
        .scalar_subquery()
    )


def get_deployment(actor: Actor, deployment_id: int, action: str = "deployment.read") -> Deployment:
    """A deployment `action` reaches for the actor; NotFound whether it exists or not."""
    deployment = db.session.scalar(
        sa.select(Deployment).where(
            Deployment.id == deployment_id, deployments_within(actor, action)
        )
    )
    if deployment is None:
        raise NotFound()
    return deployment


def set_for(actor: Actor, deployment_id: int | None, action: str) -> Deployment | None:
    """The deployment a target, a question or a pack is set for: one `action` reaches for the
    actor, or None (the whole programme) for an actor attached to no deployment; Invalid on
    the field `deployment_id` otherwise."""
    if deployment_id is None:
        if actor.deployment_ids is not None:
            raise invalid("deployment_id", _("Choisissez l'un de vos déploiements."))
        return None
    deployment = db.session.scalar(
        sa.select(Deployment).where(
            Deployment.id == deployment_id, deployments_within(actor, action)
        )
    )
    if deployment is None:
        raise invalid("deployment_id", _("Déploiement inconnu ou hors de votre périmètre."))
    return deployment


def deployment_territories_of(deployment: Deployment) -> list[Territory]:
    """The deployment's territories, communes first, then by name."""
    order = list(TERRITORY_LEVELS)
    return sorted(
        deployment.territories, key=lambda t: (order.index(t.level), t.name.casefold(), t.code)
    )


def structures_count(deployment: Deployment) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(Structure.id)).where(Structure.deployment_id == deployment.id)
    )


def deployment_structures(deployment: Deployment) -> list[Structure]:
    """The structures of the deployment (based in its communes), by name."""
    return db.session.scalars(
        sa.select(Structure)
        .where(Structure.deployment_id == deployment.id)
        .order_by(Structure.name, Structure.id)
    ).all()


def attached_people(deployment: Deployment) -> list[User]:
    """The accounts attached to the deployment, by role and address."""
    return db.session.scalars(
        sa.select(User)
        .join(user_deployments, user_deployments.c.user_id == User.id)
        .where(user_deployments.c.deployment_id == deployment.id)
        .order_by(User.role, User.email)
    ).all()


def attachable_people(actor: Actor, deployment: Deployment) -> list[User]:
    """The active accounts without a structure the actor may attach, not attached yet."""
    actor.check("deployment.manage")
    attached = sa.select(user_deployments.c.user_id).where(
        user_deployments.c.deployment_id == deployment.id
    )
    query = sa.select(User).where(
        User.active.is_(True), User.id.not_in(attached), _attachable(actor)
    )
    return db.session.scalars(query.order_by(User.role, User.email)).all()


def _attachable(actor: Actor):
    """Accounts without a structure, of the attachable roles, within the actor's reach."""
    return sa.and_(User.structure_id.is_(None), User.role.in_(ATTACHABLE_ROLES), _reach(actor))


def _reach(actor: Actor):
    """The accounts a restricted actor may touch: those of their deployments (attached to one,
    or of a structure in one). An account attached to none reads everything, which is beyond
    a restricted actor's reach; who reaches every deployment reaches every account."""
    if actor.deployment_ids is None:
        return sa.true()
    structures = sa.select(Structure.id).where(Structure.deployment_id.in_(actor.deployment_ids))
    attached = sa.exists().where(
        user_deployments.c.user_id == User.id,
        user_deployments.c.deployment_id.in_(actor.deployment_ids),
    )
    return sa.or_(attached, User.structure_id.in_(structures))


# Choosing territories ---------------------------------------------------------------------------


def choosable_territories(
    level: str | None = None,
    parent_code: str | None = None,
    search: str | None = None,
    editing: int | None = None,
) -> list[TerritoryChoice]:
    """The loaded territories a deployment may cover: of a level, of a parent commune, and
    whose name or code holds `search` (case and accents ignored); by level, then name. Each
    names the deployment holding it, other than the one being edited."""
    parent = sa.orm.aliased(Territory)
    held = (
        sa.select(
            deployment_territories.c.territory_id.label("territory_id"),
            sa.func.min(Deployment.name).label("deployment"),
        )
        .join(Deployment, Deployment.id == deployment_territories.c.deployment_id)
        .where(Deployment.id != editing if editing is not None else sa.true())
        .group_by(deployment_territories.c.territory_id)
        .subquery()
    )
    query = (
        sa.select(
            Territory.code,
            Territory.name,
            Territory.level,
            parent.code,
            parent.name,
            held.c.deployment,
        )
        .outerjoin(parent, parent.id == Territory.parent_id)
        .outerjoin(held, held.c.territory_id == Territory.id)
    )
    if level:
        query = query.where(Territory.level == level)
    if parent_code:
        query = query.where(parent.code == parent_code)
    choices = [TerritoryChoice(*row) for row in db.session.execute(query)]
    if search and (wanted := folded(search)):
        choices = [c for c in choices if wanted in folded(c.name) or wanted in folded(c.code)]
    order = list(TERRITORY_LEVELS)
    return sorted(choices, key=lambda c: (order.index(c.level), folded(c.name), c.code))


def folded(text: str) -> str:
    """Text compared without case or accents: "Vénissieux" holds "venis"."""
    decomposed = unicodedata.normalize("NFKD", " ".join(text.split()).casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def parent_choices() -> list[tuple[str, str]]:
    """(code, name) of the communes that have territories under them, by name."""
    child = sa.orm.aliased(Territory)
    has_children = sa.exists().where(child.parent_id == Territory.id)
    rows = db.session.execute(
        sa.select(Territory.code, Territory.name)
        .where(Territory.level == "commune", has_children)
        .order_by(Territory.name, Territory.code)
    )
    return [tuple(row) for row in rows]


def loaded_levels() -> list[str]:
    """The levels of the territories loaded, in the vocabulary's order."""
    found = set(db.session.scalars(sa.select(Territory.level).distinct()))
    return [level for level in TERRITORY_LEVELS if level in found]


# Changing ---------------------------------------------------------------------------------------


def create_deployment(
    actor: Actor, name: str, territory_codes, started_on: dt.date | None = None
) -> Deployment:
    """A new deployment over these territories, starting today unless told; the structures
    of its communes join it."""
    actor.check("deployment.manage")
    with transaction():
        name = _free_name(name)
        territories = _territories(territory_codes)
        _check_communes_free(territories)
        deployment = Deployment(
            name=name, started_on=started_on or dt.date.today(), territories=territories
        )
        db.session.add(deployment)
        if actor.deployment_ids is not None and actor.user is not None:
            actor.user.deployments.append(deployment)  # else they could not see it
        _flush(name)
        joined, _left = _rehome_structures(deployment)
        details = {
            "name": name,
            "started_on": deployment.started_on,
            "territories": [t.code for t in territories],
            "structures_joined": joined,
            "attached_creator": actor.deployment_ids is not None and actor.user is not None,
        }
        audit.record(actor, "deployment.create", _target(deployment), details)
        return deployment


def open_deployment(
    actor: Actor, name: str, territories: list[Territory], started_on: dt.date | None = None
) -> Deployment:
    """A new deployment over these territories (as `create_deployment`, given the records)."""
    return create_deployment(actor, name, [t.code for t in territories], started_on)


def update_deployment(actor: Actor, deployment_id: int, data: dict) -> Deployment:
    """Change what `data` holds of name, started_on and territories (codes); structures join
    the deployment that now covers their commune, or leave it."""
    actor.check("deployment.manage")
    with transaction():
        deployment = get_deployment(actor, deployment_id, "deployment.manage")
        details = {"fields": sorted(key for key in data if key in UPDATABLE)}
        if "name" in data:
            deployment.name = _free_name(data["name"], deployment.id)
        if "started_on" in data:
            if data["started_on"] is None:
                raise invalid("started_on", _("Indiquez la date de début."))
            deployment.started_on = data["started_on"]
        if "territories" in data:
            details.update(_set_territories(deployment, data["territories"]))
        _flush(deployment.name)
        if "territories" in data:
            details["structures_joined"], details["structures_left"] = _rehome_structures(
                deployment
            )
        audit.record(actor, "deployment.update", _target(deployment), details)
        return deployment


UPDATABLE = ("name", "started_on", "territories")


def _set_territories(deployment: Deployment, codes) -> dict:
    territories = _territories(codes)
    _check_communes_free(territories, deployment.id)
    before = {t.code for t in deployment.territories}
    after = [t.code for t in territories]
    deployment.territories = territories
    return {
        "added": [code for code in after if code not in before],
        "removed": sorted(before - set(after)),
    }


def attach_people(actor: Actor, deployment_id: int, user_ids) -> list[User]:
    """Attach accounts without a structure to the deployment: they then see only their
    deployments. Returns the accounts newly attached (none if all already were)."""
    actor.check("deployment.manage")
    with transaction():
        deployment = get_deployment(actor, deployment_id, "deployment.manage")
        users = _people(actor, user_ids)
        newly = [user for user in users if deployment not in user.deployments]
        for user in newly:
            user.deployments.append(deployment)
        if newly:
            details = {"users": [user.id for user in newly], "roles": [u.role for u in newly]}
            audit.record(actor, "deployment.attach", _target(deployment), details)
        return newly


def detach_person(actor: Actor, deployment_id: int, user_id: int) -> User:
    """Detach an account from the deployment. An actor restricted to some deployments may not
    detach anyone from their last one: attached to none, the account would read everything."""
    actor.check("deployment.manage")
    with transaction():
        deployment = get_deployment(actor, deployment_id, "deployment.manage")
        user = db.session.get(User, user_id) if 0 < user_id < 2**31 else None
        if user is None or deployment not in user.deployments:
            raise NotFound(errors={"user_id": _("Ce compte n'est pas rattaché à ce déploiement.")})
        if actor.deployment_ids is not None and len(user.deployments) == 1:
            raise invalid(
                "user_id",
                _(
                    "C'est le seul déploiement de %(email)s : détaché, ce compte verrait tout "
                    "le programme. Rattachez-le d'abord à un autre déploiement, ou demandez-le "
                    "à une coordination rattachée à aucun déploiement.",
                    email=user.email,
                ),
            )
        user.deployments.remove(deployment)
        details = {"user": user.id, "role": user.role}
        audit.record(actor, "deployment.detach", _target(deployment), details)
        return user


# Rules --------------------------------------------------------------------------------------------


def _free_name(name, current_id: int | None = None) -> str:
    """The name, spaces tidied, if no other deployment bears it (case ignored)."""
    name = " ".join(str(name or "").split())
    if not name:
        raise invalid("name", _("Donnez un nom au déploiement."))
    if len(name) > NAME_LENGTH or not storable(name):
        raise invalid(
            "name", _("Nom de %(max)d caractères au plus, sans caractère nul.", max=NAME_LENGTH)
        )
    for other_id, other in db.session.execute(sa.select(Deployment.id, Deployment.name)):
        if other_id != current_id and other.casefold() == name.casefold():
            raise Conflict(
                errors={"name": _("Un déploiement s'appelle déjà « %(name)s ».", name=other)}
            )
    return name


def _flush(name: str):
    """Store the changes so far; a twin name stored meanwhile is a conflict, not a 500."""
    try:
        db.session.flush()
    except sa.exc.IntegrityError as error:
        raise Conflict(
            errors={"name": _("Un déploiement s'appelle déjà « %(name)s ».", name=name)}
        ) from error


def _territories(codes) -> list[Territory]:
    """The territories of these codes, in the order given; every code must be loaded."""
    if isinstance(codes, str):
        codes = [codes]
    codes = list(dict.fromkeys(str(code).strip() for code in codes or () if str(code).strip()))
    if not codes:
        raise invalid("territories", _("Choisissez au moins un territoire."))
    found = {}
    for start in range(0, len(codes), CHUNK):
        chunk = codes[start : start + CHUNK]
        found.update(
            (t.code, t)
            for t in db.session.scalars(sa.select(Territory).where(Territory.code.in_(chunk)))
        )
    unknown = [code for code in codes if code not in found]
    if unknown:
        raise invalid(
            "territories",
            _(
                "Territoire(s) inconnu(s) : %(codes)s. Chargez-les d'abord "
                "(ohpunaises territories load).",
                codes=_named(unknown),
            ),
        )
    return [found[code] for code in codes]


def _check_communes_free(territories: list[Territory], deployment_id: int | None = None):
    """A commune belongs to one deployment at most: refuse those another one covers."""
    commune_ids = [t.id for t in territories if t.level == "commune"]
    taken = {}
    for start in range(0, len(commune_ids), CHUNK):
        query = (
            sa.select(Deployment.name, Territory.name, Territory.code)
            .join(deployment_territories, deployment_territories.c.deployment_id == Deployment.id)
            .join(Territory, Territory.id == deployment_territories.c.territory_id)
            .where(Territory.id.in_(commune_ids[start : start + CHUNK]))
            .order_by(Deployment.name, Territory.name, Territory.code)
        )
        if deployment_id is not None:
            query = query.where(Deployment.id != deployment_id)
        for deployment, name, code in db.session.execute(query):
            taken.setdefault(deployment, []).append(f"{name} ({code})")
    if taken:
        said = [
            _(
                "Déjà dans le déploiement « %(deployment)s » : %(communes)s.",
                deployment=deployment,
                communes=_named(communes),
            )
            for deployment, communes in taken.items()
        ]
        said.append(_("Une commune n'appartient qu'à un déploiement."))
        raise Conflict(errors={"territories": " ".join(said)})


def _people(actor: Actor, user_ids) -> list[User]:
    """The accounts to attach: each one known, within the actor's reach, without structure."""
    ids = list(dict.fromkeys(user_ids or ()))
    if not ids:
        raise invalid("user_id", _("Choisissez un compte."))
    valid = [i for i in ids if isinstance(i, int) and 0 < i < 2**31]
    query = sa.select(User).where(User.id.in_(valid), _reach(actor))
    users = db.session.scalars(query).all() if valid else []
    missing = [str(i) for i in ids if i not in {user.id for user in users}]
    if missing:
        raise NotFound(errors={"user_id": _("Compte inconnu : n° %(ids)s.", ids=_named(missing))})
    refused = [u for u in users if u.structure_id is not None or u.role not in ATTACHABLE_ROLES]
    if refused:
        raise invalid(
            "user_id",
            _(
                "Seuls les comptes sans structure (coordination, institution, évaluation) se "
                "rattachent à un déploiement ; ceux d'une structure suivent le déploiement de "
                "sa commune : %(emails)s.",
                emails=_named(user.email for user in refused),
            ),
        )
    return users


def _rehome_structures(deployment: Deployment) -> tuple[list[int], list[int]]:
    """Structures based in the deployment's communes join it; those whose commune left it
    go to the deployment that covers it now, if any. Returns (joined, left) ids."""
    covered = sa.select(deployment_territories.c.territory_id).where(
        deployment_territories.c.deployment_id == deployment.id
    )
    joining = db.session.scalars(
        sa.select(Structure).where(
            Structure.commune_id.in_(covered),
            sa.or_(Structure.deployment_id.is_(None), Structure.deployment_id != deployment.id),
        )
    ).all()
    leaving = db.session.scalars(
        sa.select(Structure).where(
            Structure.deployment_id == deployment.id, Structure.commune_id.not_in(covered)
        )
    ).all()
    for structure in joining:
        structure.deployment = deployment
    for structure in leaving:
        move(structure, structure.commune)
    return sorted(s.id for s in joining), sorted(s.id for s in leaving)


def _named(items) -> str:
    """Items joined for a message, the first few of them only."""
    items = list(items)
    shown = ", ".join(items[:NAMED_AT_MOST])
    if len(items) > NAMED_AT_MOST:
        shown += " " + _("et %(n)d autre(s)", n=len(items) - NAMED_AT_MOST)
    return shown


def _target(deployment: Deployment) -> str:
    return f"deployment:{deployment.id}"
