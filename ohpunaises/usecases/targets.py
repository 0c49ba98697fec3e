"""Targets (DESIGN §2): set by the coordination for an indicator in a deployment or a territory,
read with the value reached, always computed, never typed in (docs/steering.md).

Readers attached to deployments see the targets of those deployments; the others see every
target. The value reached is computed as the reader may read it (protected counts for every
role but the coordination), so a hidden figure gives the status "non disponible".
"""

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _

from .. import audit
from ..errors import NotFound, invalid
from ..extensions import db
from ..indicators import INDICATORS, Period, compute
from ..models import Milestone, Target
from ..permissions import Actor
from ..targets import TARGETABLE_SHAPES, Point, Progress, progress, window
from . import transaction
from .deployments import set_for
from .indicators import territory_named

MILESTONES_AT_MOST = 24


@dataclass(frozen=True)
class TargetView:
    """A target with where it stands on a day, as one reader may read it."""

    id: int
    indicator: str
    indicator_label: str
    unit: str
    deployment_id: int | None
    deployment: str | None
    territory_code: str | None
    territory: str | None
    agreement: str
    baseline: Point
    baseline_source: str
    milestones: tuple[Point, ...]
    on_track_percent: int
    at_risk_percent: int
    progress: Progress

    def as_dict(self) -> dict:
        """The target as JSON (the API, the packs)."""
        reached = self.progress
        return {
            "id": self.id,
            "indicator": self.indicator,
            "indicator_label": self.indicator_label,
            "unit": self.unit,
            "deployment_id": self.deployment_id,
            "deployment": self.deployment,
            "territory": self.territory_code,
            "territory_name": self.territory,
            "agreement": self.agreement,
            "baseline": {
                "value": self.baseline.value,
                "date": self.baseline.day.isoformat(),
                "source": self.baseline_source,
            },
            "milestones": [
                {"date": point.day.isoformat(), "value": point.value} for point in self.milestones
            ],
            "thresholds": {"on_track": self.on_track_percent, "at_risk": self.at_risk_percent},
            "as_of": reached.as_of.isoformat(),
            "counted_from": reached.window_start.isoformat(),
            "expected": _rounded(reached.expected),
            "actual": reached.actual,
            "actual_display": reached.actual_display,
            "share": None if reached.share is None else round(reached.share * 100, 1),
            "status": reached.status,
            "status_label": reached.status_label,
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


# Reading ----------------------------------------------------------------------------------------


def visible(actor: Actor, action: str = "target.read"):
    """A condition on `Target` selecting what `action` reaches for `actor`."""
    actor.check(action)
    deployments = actor.deployment_ids
    if deployments is None:
        return sa.true()
    return Target.deployment_id.in_(deployments)


def list_targets(
    actor: Actor,
    as_of: dt.date | None = None,
    indicator: str | None = None,
    deployment_id: int | None = None,
    whole: bool = False,
    viewer_role: str | None = None,
) -> list[TargetView]:
    """The targets the actor reaches, each with where it stands on `as_of` (default today).

    `deployment_id` keeps one deployment's; `whole` the programme-wide ones (no deployment).
    `viewer_role` reads the values as another role would (a pack, frozen as institutions read
    it)."""
    query = sa.select(Target).where(visible(actor)).order_by(Target.indicator, Target.id)
    if indicator:
        query = query.where(Target.indicator == indicator)
    if deployment_id is not None:
        query = query.where(Target.deployment_id == deployment_id)
    elif whole:
        query = query.where(Target.deployment_id.is_(None))
    targets = db.session.scalars(query).all()
    day = as_of or dt.date.today()
    return [_view(target, day, viewer_role or actor.role) for target in targets]


def get_target(actor: Actor, target_id: int, as_of: dt.date | None = None) -> TargetView:
    """One target the actor reaches; NotFound otherwise."""
    return _view(_find(actor, target_id, "target.read"), as_of or dt.date.today(), actor.role)


def _find(actor: Actor, target_id: int, action: str) -> Target:
    target = db.session.scalar(
        sa.select(Target).where(Target.id == target_id, visible(actor, action))
    )
    if target is None:
        raise NotFound(_("Aucune cible n° %(id)s.", id=target_id))
    return target


def _view(target: Target, as_of: dt.date, viewer_role: str) -> TargetView:
    indicator = INDICATORS[target.indicator]
    baseline = Point(target.baseline_on, target.baseline_value)
    milestones = [Point(m.due_on, m.value) for m in target.milestones]
    reached = progress(
        baseline,
        milestones,
        as_of,
        *_reached(target, as_of, viewer_role),
        thresholds=(target.on_track_percent, target.at_risk_percent),
    )
    return TargetView(
        id=target.id,
        indicator=target.indicator,
        indicator_label=str(indicator.label),
        unit=str(indicator.unit),
        deployment_id=target.deployment_id,
        deployment=target.deployment.name if target.deployment else None,
        territory_code=target.territory.code if target.territory else None,
        territory=target.territory.name if target.territory else None,
        agreement=target.agreement,
        baseline=baseline,
        baseline_source=target.baseline_source,
        milestones=tuple(milestones),
        on_track_percent=target.on_track_percent,
        at_risk_percent=target.at_risk_percent,
        progress=reached,
    )


def _reached(target: Target, as_of: dt.date, viewer_role: str) -> tuple[float | None, str]:
    """The indicator's value over the target's window, as `viewer_role` reads it."""
    start, end = window(target.baseline_on, as_of)
    if end < start:
        return None, "—"
    deployments = None if target.deployment_id is None else (target.deployment_id,)
    result = compute(
        Period(start, end),
        target.territory,
        viewer_role=viewer_role,
        ids=[target.indicator],
        deployments=deployments,
    )
    whole = result.indicator(target.indicator).whole
    value = whole.value if isinstance(whole.value, int | float) else None
    return value, whole.display


# Changing ---------------------------------------------------------------------------------------


def create_target(actor: Actor, data: dict) -> TargetView:
    """A new target; `data` as `TargetSchema` loads it."""
    actor.check("target.manage")
    with transaction() as session:
        target = Target(created_by_id=actor.user_id)
        _fill(actor, target, data)
        session.add(target)
        session.flush()
        audit.record(actor, "target.create", f"target:{target.id}", _audited(target))
    return _view(target, dt.date.today(), actor.role)


def update_target(actor: Actor, target_id: int, data: dict) -> TargetView:
    """The target with the fields of `data` changed (milestones replaced when given)."""
    target = _find(actor, target_id, "target.manage")
    with transaction():
        before = _audited(target)
        _fill(actor, target, {**_current(target), **data})
        audit.record(
            actor, "target.update", f"target:{target.id}", {"before": before, **_audited(target)}
        )
    return _view(target, dt.date.today(), actor.role)


def delete_target(actor: Actor, target_id: int) -> None:
    """The target removed (its milestones with it); the audit keeps what it was."""
    target = _find(actor, target_id, "target.manage")
    with transaction() as session:
        audit.record(actor, "target.delete", f"target:{target.id}", _audited(target))
        session.delete(target)


def _current(target: Target) -> dict:
    return {
        "indicator": target.indicator,
        "deployment_id": target.deployment_id,
        "territory": target.territory.code if target.territory else None,
        "agreement": target.agreement,
        "baseline_value": target.baseline_value,
        "baseline_on": target.baseline_on,
        "baseline_source": target.baseline_source,
        "on_track_percent": target.on_track_percent,
        "at_risk_percent": target.at_risk_percent,
        "milestones": [{"due_on": m.due_on, "value": m.value} for m in target.milestones],
    }


def _fill(actor: Actor, target: Target, data: dict) -> None:
    """Check `data` as a whole and write it on `target`."""
    indicator = INDICATORS.get(data["indicator"])
    if indicator is None or indicator.shape not in TARGETABLE_SHAPES:
        raise invalid("indicator", _("Cet indicateur ne peut pas recevoir de cible."))
    target.indicator = indicator.id
    deployment = set_for(actor, data.get("deployment_id"), "target.manage")
    target.deployment_id = deployment.id if deployment else None
    territory = territory_named(data.get("territory"))
    target.territory_id = territory.id if territory else None
    target.agreement = data["agreement"].strip()
    target.baseline_value = float(data["baseline_value"])
    target.baseline_on = data["baseline_on"]
    target.baseline_source = data["baseline_source"].strip()
    _thresholds(target, data.get("on_track_percent", 100), data.get("at_risk_percent", 80))
    _milestones(target, data.get("milestones") or [])


def _thresholds(target: Target, on_track: int, at_risk: int) -> None:
    if not 0 < at_risk <= on_track <= 1000:
        raise invalid(
            "at_risk_percent",
            _(
                "Le seuil « à surveiller » est positif et ne dépasse pas le seuil "
                "« en bonne voie »."
            ),
        )
    target.on_track_percent, target.at_risk_percent = on_track, at_risk


def _milestones(target: Target, given: list[dict]) -> None:
    days = [milestone["due_on"] for milestone in given]
    if not given:
        raise invalid("milestones", _("Donnez au moins un jalon : une date et la valeur visée."))
    if len(given) > MILESTONES_AT_MOST:
        raise invalid(
            "milestones", _("%(count)s jalons au plus par cible.", count=MILESTONES_AT_MOST)
        )
    if len(set(days)) != len(days):
        raise invalid("milestones", _("Deux jalons tombent le même jour."))
    if min(days) <= target.baseline_on:
        raise invalid(
            "milestones", _("Chaque jalon tombe après la date de la valeur de référence.")
        )
    target.milestones.clear()
    db.session.flush()
    for milestone in sorted(given, key=lambda m: m["due_on"]):
        target.milestones.append(Milestone(due_on=milestone["due_on"], value=milestone["value"]))


def _audited(target: Target) -> dict:
    return audit.jsonable(_current(target))
