"""Essaimage (DESIGN §5, `/essaimage`): how the partners move through the programme's stages,
which of them went quiet, and where the programme has taken root — for the coordinators
within their deployments (`partner.list`), the operator everywhere.

Every figure is read as of `today` from `cadence.records` (stages derived from the data,
periods expected and received):

- the funnel: how many structures are at each of the nine stages now;
- the conversion prospect → active: among the structures whose earliest recorded stage (the
  first of their stage history) comes before the agreement — prospect, contacted or met —
  the share that are active now; structures without a recorded history are left out;
- the median days from prospect to first report: among those same structures that reported,
  the days from the date of that earliest recorded stage to the intervention date of their
  first report (a first report dated before it is left out);
- the median days from onboarding to first report: among the structures that joined and
  reported on or after the day they joined, the days from `onboarded_on` to the intervention
  date of their first report.

"Rien à signaler" declarations make a structure active (it follows the programme) but are no
report: they start neither median.
"""

import csv
import datetime as dt
import io
import statistics
from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from .. import audit, logs
from ..cadence import Record, ReportingPeriod, local_today, records
from ..errors import NotFound
from ..exports import BOM, LINE_END, spreadsheet_safe
from ..extensions import db
from ..models import Activity, Deployment, Structure, Territory, deployment_territories
from ..permissions import Actor, deployments_within, structures_within
from ..vocabulary import ACTIVITY_KINDS, BEFORE_AGREEMENT, STAGES, STRUCTURE_KINDS
from . import transaction
from .reminders import FollowThrough, follow_through

ACTION = "partner.list"
COMMUNE_STATES = ("active", "prospect", "none")
CSV_NAME = "silencieuses.csv"


@dataclass(frozen=True)
class Median:
    """A median number of days, and how many structures it was measured on."""

    days: float | None
    count: int

    @classmethod
    def of(cls, values: list[int]) -> "Median":
        return cls(statistics.median(values) if values else None, len(values))


@dataclass(frozen=True)
class Funnel:
    """The structures of one group (a deployment, or all of them) by stage, and how fast
    they go from prospect or onboarding to their first report (see the module's docstring)."""

    name: str
    deployment_id: int | None
    counts: dict  # stage → structures, every stage of STAGES in its order
    prospects: int  # structures whose earliest recorded stage is before the agreement
    converted: int  # of them, active now
    prospect_to_first_report: Median
    onboarding_to_first_report: Median

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def conversion(self) -> float | None:
        """The share of `prospects` active now, or None when there are none."""
        return self.converted / self.prospects if self.prospects else None


@dataclass(frozen=True)
class QuietPartner:
    """A structure silent (two periods or more missed in a row) or late (the last one), with
    whom to call and what was last done with it."""

    structure_id: int
    name: str
    kind: str
    commune: str
    deployment: str | None
    state: str  # "silent" or "late"
    contact_name: str | None
    contact_function: str | None
    contact_email: str | None
    contact_phone: str | None
    last_report: dt.date | None
    missed: int  # periods missed in a row, up to the last one due
    oldest_missed: ReportingPeriod
    last_activity_on: dt.date | None  # the latest activity done, on or before today
    last_activity_kind: str | None
    next_step: str | None  # the open next step due soonest
    next_step_due: dt.date | None

    @property
    def silent(self) -> bool:
        return self.state == "silent"


@dataclass(frozen=True)
class CommuneState:
    """A commune of the actor's deployments and what the programme has there: "active" (a
    structure based there is active now), "prospect" (every structure based there is before
    the agreement) or "none" (no structure, or none active and not only prospects)."""

    territory_id: int
    code: str
    name: str
    state: str


@dataclass(frozen=True)
class Overview:
    """The essaimage workspace of an actor, for all their deployments or the one chosen."""

    today: dt.date
    deployment: Deployment | None  # the one chosen, if any
    deployments: list  # the actor's deployments, to choose from
    funnel: Funnel  # every structure of the scope together
    by_deployment: list  # one Funnel per deployment of the scope
    quiet: list  # QuietPartner: silent first, then late, each by name
    communes: list  # CommuneState, by name
    follow_through: FollowThrough  # reminded partners, and those that came back within 30 days


def overview(actor: Actor, deployment_id: int | None = None, today=None) -> Overview:
    """The funnel, the silent and late partners and the communes of the actor's deployments
    (of one of them when `deployment_id` is given; NotFound when it is not theirs)."""
    actor.check(ACTION)
    today = today or local_today()
    deployments = db.session.scalars(
        sa.select(Deployment)
        .where(deployments_within(actor, ACTION))
        .order_by(Deployment.name, Deployment.id)
    ).all()
    chosen = None
    if deployment_id is not None:
        chosen = next((d for d in deployments if d.id == deployment_id), None)
        if chosen is None:
            raise NotFound()
    query = (
        sa.select(Structure)
        .where(structures_within(actor, ACTION))
        .options(selectinload(Structure.commune), selectinload(Structure.deployment))
        .order_by(Structure.name, Structure.id)
    )
    if chosen is not None:
        query = query.where(Structure.deployment_id == chosen.id)
    found = records(db.session.scalars(query).all(), today)
    groups = [chosen] if chosen is not None else deployments
    by_deployment = [
        _funnel(d.name, d.id, [r for r in found if r.structure.deployment_id == d.id])
        for d in groups
    ]
    outside = [r for r in found if r.structure.deployment_id is None]
    if outside and chosen is None:  # seen by who reaches every structure
        by_deployment.append(_funnel(_("Hors déploiement"), None, outside))
    everything = chosen.name if chosen is not None else _("Tous vos déploiements")
    return Overview(
        today=today,
        deployment=chosen,
        deployments=list(deployments),
        funnel=_funnel(everything, chosen.id if chosen else None, found),
        by_deployment=by_deployment,
        quiet=_quiet(found, today),
        communes=_communes(actor, chosen, found),
        follow_through=follow_through([record.structure.id for record in found], today),
    )


# The funnel -------------------------------------------------------------------------------------


def _funnel(name: str, deployment_id: int | None, found: list[Record]) -> Funnel:
    counts = dict.fromkeys(STAGES, 0)
    prospects = converted = 0
    from_prospect, from_onboarding = [], []
    for record in found:
        stage = record.stage
        counts[stage] += 1
        first = record.changes[0] if record.changes else None
        first_report = record.first_report
        if first is not None and first[1] in BEFORE_AGREEMENT:
            prospects += 1
            if stage == "active":
                converted += 1
            if first_report is not None and first_report >= first[0]:
                from_prospect.append((first_report - first[0]).days)
        joined = record.structure.onboarded_on
        if joined is not None and first_report is not None and first_report >= joined:
            from_onboarding.append((first_report - joined).days)
    return Funnel(
        name,
        deployment_id,
        counts,
        prospects,
        converted,
        Median.of(from_prospect),
        Median.of(from_onboarding),
    )


# Silent and late partners -----------------------------------------------------------------------


def _quiet(found: list[Record], today: dt.date) -> list[QuietPartner]:
    quiet = [record for record in found if record.silent or record.late]
    ids = [record.structure.id for record in quiet]
    last_done = _last_activities(ids, today)
    steps = _open_next_steps(ids)
    partners = [
        _quiet_partner(record, last_done.get(record.structure.id), steps.get(record.structure.id))
        for record in quiet
    ]
    return sorted(partners, key=lambda p: (not p.silent, p.name.casefold(), p.structure_id))


def _quiet_partner(record: Record, last_done, step) -> QuietPartner:
    structure = record.structure
    missed = record.missed_in_a_row()
    return QuietPartner(
        structure_id=structure.id,
        name=structure.name,
        kind=structure.kind,
        commune=structure.commune.name,
        deployment=structure.deployment.name if structure.deployment else None,
        state="silent" if record.silent else "late",
        contact_name=structure.contact_name,
        contact_function=structure.contact_function,
        contact_email=structure.contact_email,
        contact_phone=structure.contact_phone,
        last_report=record.last_report,
        missed=len(missed),
        oldest_missed=missed[0],
        last_activity_on=last_done[0] if last_done else None,
        last_activity_kind=last_done[1] if last_done else None,
        next_step=step[0] if step else None,
        next_step_due=step[1] if step else None,
    )


def _first_by_structure(query, ordering, ids: list[int]) -> dict:
    """The first row of `query` (structure id and two values) per structure, by `ordering`:
    one grouped query for them all."""
    if not ids:
        return {}
    rank = sa.func.row_number().over(partition_by=Activity.structure_id, order_by=ordering)
    ranked = query.add_columns(rank.label("rank")).where(Activity.structure_id.in_(ids)).subquery()
    structure_id, first, second = list(ranked.c)[:3]
    rows = db.session.execute(sa.select(structure_id, first, second).where(ranked.c.rank == 1))
    return {structure_id: (first, second) for structure_id, first, second in rows}


def _last_activities(ids: list[int], today: dt.date) -> dict:
    """Each structure's latest activity done on or before today: (date, kind)."""
    query = sa.select(Activity.structure_id, Activity.held_on, Activity.kind).where(
        Activity.status == "done", Activity.held_on <= today
    )
    return _first_by_structure(query, (Activity.held_on.desc(), Activity.id.desc()), ids)


def _open_next_steps(ids: list[int]) -> dict:
    """Each structure's open next step due soonest: (text, due date)."""
    query = sa.select(Activity.structure_id, Activity.next_step, Activity.next_step_due).where(
        Activity.next_step.is_not(None), Activity.next_step_done_at.is_(None)
    )
    return _first_by_structure(query, (Activity.next_step_due, Activity.id), ids)


# The communes -----------------------------------------------------------------------------------


def _communes(actor: Actor, chosen: Deployment | None, found: list[Record]) -> list:
    query = (
        sa.select(Territory.id, Territory.code, Territory.name)
        .join(deployment_territories, deployment_territories.c.territory_id == Territory.id)
        .join(Deployment, Deployment.id == deployment_territories.c.deployment_id)
        .where(Territory.level == "commune", deployments_within(actor, ACTION))
        .distinct()
    )
    if chosen is not None:
        query = query.where(Deployment.id == chosen.id)
    stages = defaultdict(list)
    for record in found:
        stages[record.structure.commune_id].append(record.stage)
    communes = [
        CommuneState(territory_id, code, name, _commune_state(stages.get(territory_id, [])))
        for territory_id, code, name in db.session.execute(query)
    ]
    return sorted(communes, key=lambda c: (c.name.casefold(), c.code))


def _commune_state(stages: list[str]) -> str:
    """The commune's class: "active" with an active partner; else "prospect" with a partner
    on its way in (where the programme may take root next); else "none"."""
    if "active" in stages:
        return "active"
    if any(stage in BEFORE_AGREEMENT for stage in stages):
        return "prospect"
    return "none"


# The CSV of silent and late partners ------------------------------------------------------------


def csv_header() -> list[str]:
    return [
        _("Structure"),
        _("Type"),
        _("Commune"),
        _("Déploiement"),
        _("État"),
        _("Contact"),
        _("Fonction"),
        _("Courriel"),
        _("Téléphone"),
        _("Dernier signalement"),
        _("Périodes manquées"),
        _("Plus ancienne période manquée"),
        _("Dernière activité"),
        _("Type de la dernière activité"),
        _("Prochaine étape"),
        _("Échéance de la prochaine étape"),
    ]


def silent_csv_rows(found: Overview) -> list[list[str]]:
    """The header, then one row per silent or late partner (dates ISO, periods by name:
    2026-11 or 2026-Q4), free text made harmless for spreadsheets."""
    states = {"silent": _("silencieuse"), "late": _("en retard")}
    rows = [csv_header()]
    for partner in found.quiet:
        texts = [
            partner.name,
            str(STRUCTURE_KINDS.get(partner.kind, partner.kind)),
            partner.commune,
            partner.deployment,
            states[partner.state],
            partner.contact_name,
            partner.contact_function,
            partner.contact_email,
            partner.contact_phone,
            _iso(partner.last_report),
            str(partner.missed),
            partner.oldest_missed.name,
            _iso(partner.last_activity_on),
            str(ACTIVITY_KINDS[partner.last_activity_kind]) if partner.last_activity_kind else "",
            partner.next_step,
            _iso(partner.next_step_due),
        ]
        rows.append([spreadsheet_safe(text) or "" for text in texts])
    return rows


def _iso(day: dt.date | None) -> str:
    return day.isoformat() if day else ""


def silent_csv(actor: Actor, deployment_id: int | None = None, today=None) -> bytes:
    """The silent and late partners as CSV for spreadsheets (UTF-8 with BOM, `;`); the export
    goes into the audit log with its row count (no name in it)."""
    actor.check(ACTION)
    with transaction():
        rows = silent_csv_rows(overview(actor, deployment_id, today))
        buffer = io.StringIO()
        buffer.write(BOM)
        csv.writer(buffer, delimiter=";", lineterminator=LINE_END).writerows(rows)
        details = {"deployment": deployment_id, "rows": len(rows) - 1}
        audit.record(actor, "export.silent_partners", CSV_NAME, details)
    logs.event("export", kind=CSV_NAME, rows=len(rows) - 1, complete=True)
    return buffer.getvalue().encode()
