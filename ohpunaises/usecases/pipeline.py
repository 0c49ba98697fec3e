"""A partner's way through the programme (DESIGN §2, partner follow-up): the stages the team
records, with their history, and the "rien à signaler" declarations a structure makes for a
period it had nothing to report in (`ohpunaises.cadence` tells what is expected and derived).
"""

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _

from .. import audit
from ..cadence import Record, ReportingPeriod, local_today, parse_period, period_of, records
from ..errors import Conflict, invalid
from ..extensions import db
from ..models import NothingToReport, Report, StageChange, Structure
from ..permissions import Actor
from ..schemas import EARLIEST_DATE
from ..vocabulary import BEFORE_AGREEMENT, OUT_OF_PROGRAMME, RECORDED_STAGES
from . import transaction
from .structures import _set_active, add_stage, get_structure


@dataclass(frozen=True)
class Declaration:
    """A "rien à signaler" declaration as stored, and whether it was new."""

    declaration: NothingToReport
    period: ReportingPeriod
    created: bool


def record(actor: Actor, structure_id: int, action: str = "structure.read") -> Record:
    """A structure's reporting and pipeline record, as of today."""
    return records([get_structure(actor, structure_id, action)])[0]


def stage_history(actor: Actor, structure_id: int) -> list[StageChange]:
    """The stages recorded for a structure, the latest first."""
    actor.check("activity.read")
    structure = get_structure(actor, structure_id, "activity.read")
    query = (
        sa.select(StageChange)
        .where(StageChange.structure_id == structure.id)
        .order_by(StageChange.effective_on.desc(), StageChange.id.desc())
    )
    return db.session.scalars(query).all()


def record_stage(
    actor: Actor, structure_id: int, stage: str, effective_on: dt.date | None = None
) -> Structure:
    """Record the stage a structure reached, from `effective_on` (today by default).

    The agreement signed is its onboarding date when it has none yet; leaving deactivates it
    with its accounts, and coming back from it reactivates it (its accounts stay off, to be
    reactivated one by one). Trained, active and silent are derived, never recorded.
    """
    actor.check("structure.update")
    with transaction():
        structure = get_structure(actor, structure_id, "structure.update")
        effective_on = effective_on or local_today()
        _check_stage(structure, stage, effective_on)
        if stage == "agreement" and structure.onboarded_on is None:
            structure.onboarded_on = effective_on
        if stage == "left" or not structure.active:
            # Deactivation and reactivation record their own stage.
            _set_active(actor, structure, stage != "left")
        if structure.stage != stage:
            add_stage(actor, structure, stage, effective_on)
        details = {"stage": stage, "effective_on": effective_on}
        audit.record(actor, "structure.stage", structure.id, details)
        return structure


def _check_stage(structure: Structure, stage: str, effective_on: dt.date):
    if stage not in RECORDED_STAGES:
        raise invalid("stage", _("Choisissez une étape : les autres se déduisent des données."))
    if not EARLIEST_DATE <= effective_on <= local_today():
        raise invalid("effective_on", _("La date doit tomber entre 2000 et aujourd'hui."))
    if stage in BEFORE_AGREEMENT and structure.onboarded_on is not None:
        raise invalid(
            "stage",
            _(
                "Cette structure est déjà entrée dans le programme : mettez-la en pause ou "
                "notez sa sortie."
            ),
        )
    if stage in OUT_OF_PROGRAMME and structure.onboarded_on is None:
        raise invalid("stage", _("Cette structure n'est pas encore entrée dans le programme."))
    if structure.onboarded_on is not None and effective_on < structure.onboarded_on:
        raise invalid("effective_on", _("La date précède l'entrée dans le programme."))


# "Rien à signaler" ----------------------------------------------------------------------------


def declarable_period(record_: Record) -> ReportingPeriod | None:
    """The period a "rien à signaler" button offers: the oldest one missed (declared late,
    it is received, not on time), else the last one ended while it can still be declared on
    time, else the current one; None when the structure follows no programme today or none
    of them is left to declare."""
    if not record_.follows_on(record_.today):
        return None
    missed = record_.missed_in_a_row()
    if missed:
        return missed[0]
    current = record_.current_period
    previous = current.previous()
    candidates = (previous, current) if record_.today <= previous.deadline else (current,)
    for period in candidates:
        if record_.follows_on(period.start) and record_.received_at(period) is None:
            return period
    return None


def declare_nothing_to_report(
    actor: Actor, structure_id: int, period_name: str | None = None
) -> Declaration:
    """Declare that the structure had no intervention to report in a period (by its name,
    "2026-11" or "2026-Q4"; by default the one `declarable_period` offers). Declaring it again
    returns the declaration made; a period that holds reports cannot be declared empty."""
    actor.check("reporting.declare")
    with transaction():
        structure = get_structure(actor, structure_id, "reporting.declare")
        record_ = records([structure])[0]
        period = _period_asked(record_, period_name)
        existing = db.session.scalar(
            sa.select(NothingToReport).where(
                NothingToReport.structure_id == structure.id,
                NothingToReport.period_start == period.start,
            )
        )
        if existing is not None:
            return Declaration(existing, period, created=False)
        if _has_reports(structure, period):
            raise Conflict(
                _(
                    "Des signalements existent déjà pour %(period)s : la période est renseignée.",
                    period=period.name,
                )
            )
        declaration = NothingToReport(
            structure_id=structure.id,
            cadence=period.cadence,
            period_start=period.start,
            period_end=period.end,
            declared_by_id=actor.user_id,
        )
        db.session.add(declaration)
        db.session.flush()
        audit.record(actor, "reporting.declare", structure.id, {"period": period.name})
        return Declaration(declaration, period, created=True)


def _period_asked(record_: Record, name: str | None) -> ReportingPeriod:
    cadence = record_.structure.reporting_cadence
    if name is None:
        period = declarable_period(record_)
        if period is None:
            raise invalid("period", _("Aucune période à déclarer pour le moment."))
        return period
    period = parse_period(name, cadence)
    if period is None:
        example = "2026-Q4" if cadence == "quarterly" else "2026-11"
        raise invalid(
            "period",
            _("Période attendue au format %(example)s (rythme de la structure).", example=example),
        )
    joined = record_.structure.onboarded_on
    if joined is None or period.end < joined:
        raise invalid("period", _("Cette période précède l'entrée dans le programme."))
    if period > period_of(cadence, record_.today):
        raise invalid("period", _("Cette période n'a pas encore commencé."))
    return period


def _has_reports(structure: Structure, period: ReportingPeriod) -> bool:
    query = sa.select(Report.id).where(
        Report.structure_id == structure.id,
        Report.intervention_date.between(period.start, period.end),
    )
    return db.session.scalar(query.limit(1)) is not None
