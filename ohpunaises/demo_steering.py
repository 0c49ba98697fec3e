"""Demo steering: targets drawn from the demo's own figures, and an approved pack of the last
quarter ended, so that `/pilotage` shows living statuses and a pack to open on first start."""

import datetime as dt

import sqlalchemy as sa

from .extensions import db
from .indicators import Period, compute
from .models import Deployment, Milestone, Target, User
from .permissions import Actor
from .targets import Point, expected_at, month_end
from .usecases import packs

PREFIX = "[DÉMO] "
SOURCE = "Bilan de l'année précédente (données de démonstration)"


def write_steering(today: dt.date) -> None:
    """Demo targets for the first deployment, then a pack of the last quarter ended, frozen
    and approved by the demo coordination; nothing when targets exist already."""
    deployment = db.session.scalar(sa.select(Deployment).order_by(Deployment.id))
    if deployment is None or db.session.scalar(sa.select(sa.func.count(Target.id))):
        return
    year = today.year
    scope = (deployment.id,)
    before = _values(dt.date(year - 1, 1, 1), dt.date(year - 1, 12, 31), scope)
    as_of = month_end(today)
    now = _values(dt.date(year, 1, 1), as_of, scope) if as_of.year == year else {}
    end = dt.date(year, 12, 31)
    for indicator, wanted in AIMS:
        baseline = _baseline(indicator, before, year)
        final = _final(baseline, now.get(indicator), wanted, as_of, end)
        target = Target(
            indicator=indicator,
            deployment_id=deployment.id,
            agreement=f"{PREFIX}Convention {deployment.name} {year}",
            baseline_value=baseline.value,
            baseline_on=baseline.day,
            baseline_source="Début de la convention" if indicator == "reports" else SOURCE,
        )
        halfway = expected_at(baseline, [Point(end, final)], dt.date(year, 6, 30))
        target.milestones = [
            Milestone(due_on=dt.date(year, 6, 30), value=round(halfway, 1)),
            Milestone(due_on=end, value=final),
        ]
        db.session.add(target)
    db.session.commit()
    _approved_pack(deployment, today)


# Each aim set so that the demo shows every status: the share of the way reached by the end
# of last month, its sign telling whether the figure should rise (+) or fall (-).
AIMS = (
    ("reports", 1.08),
    ("share_vulnerable", 0.9),
    ("resolution_rate", 0.6),
    ("mean_cost_household", -1.1),
)


def _values(start: dt.date, end: dt.date, scope) -> dict[str, float]:
    result = compute(Period(start, end), viewer_role="coordinator", deployments=scope)
    return {
        indicator.id: float(indicator.whole.value)
        for indicator in result.indicators
        if isinstance(indicator.whole.value, int | float)
    }


def _baseline(indicator: str, before: dict, year: int) -> Point:
    if indicator == "reports":  # counted from the agreement's first day
        return Point(dt.date(year, 1, 1), 0.0)
    return Point(dt.date(year - 1, 12, 31), round(before.get(indicator, 0.0), 1))


def _final(baseline: Point, now: float | None, wanted: float, as_of, end) -> float:
    """The year's aim that puts `now` at `wanted` of the way on `as_of`; a small step the
    right way when the figure has not moved that way yet."""
    rising = wanted > 0
    moved = None if now is None else now - baseline.value
    elapsed, span = (as_of - baseline.day).days, (end - baseline.day).days
    if moved is None or elapsed <= 0 or (moved > 0) != rising or abs(moved) < 0.5:
        step = max(abs(baseline.value) * 0.05, 1.0)
        return round(baseline.value + (step if rising else -step), 1)
    expected = baseline.value + moved / abs(wanted)
    return round(baseline.value + (expected - baseline.value) * span / elapsed, 1)


def _approved_pack(deployment, today: dt.date) -> None:
    """The last quarter ended, frozen and approved by the demo coordination when it exists."""
    coordinator = db.session.scalar(
        sa.select(User).where(User.role == "coordinator", User.active.is_(True)).order_by(User.id)
    )
    if coordinator is None:
        return
    actor = Actor.of(coordinator)
    quarter_start = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    end = quarter_start - dt.timedelta(days=1)
    start = dt.date(end.year, end.month - 2, 1)
    frozen = packs.freeze_pack(actor, deployment.id, start, end)
    packs.approve_pack(actor, frozen.id)
