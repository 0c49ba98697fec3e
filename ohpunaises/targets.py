"""What a target expects by a date, and how far the computed value has come (docs/steering.md).

A target has a baseline (a value on a date) and milestones (values by later dates). The value
expected on a day is pro rata: on the straight line between the point before and the
milestone after (the last milestone once past it). The value reached is the indicator
computed from the first day of a month on or after the baseline's date to the end of the
last complete month,
so that every reader sees the same cumulative window, on month boundaries.

The share reached is the way travelled from the baseline towards the value expected, so
that it reads the same for a figure that should rise and one that should fall: 100 % is
exactly on the line, 50 % half of the way.
"""

import datetime as dt
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

STATUSES = {
    "on_track": _l("en bonne voie"),
    "at_risk": _l("à surveiller"),
    "off_track": _l("en retard"),
    "not_started": _l("pas encore commencée"),
    "unavailable": _l("non disponible"),
}
# Shapes whose value a target can follow (a date cannot be aimed at).
TARGETABLE_SHAPES = ("count", "breakdown", "share", "mean", "median", "rate", "ratio", "coverage")


@dataclass(frozen=True)
class Point:
    day: dt.date
    value: float


@dataclass(frozen=True)
class Progress:
    """Where a target stands on `as_of`: the value expected, the value reached as the reader
    may read it, the share of the way and the status that share gives."""

    as_of: dt.date
    window_start: dt.date
    expected: float | None
    actual: float | None
    actual_display: str
    share: float | None
    status: str

    @property
    def status_label(self) -> str:
        return str(STATUSES[self.status])


def month_end(day: dt.date) -> dt.date:
    """The last complete month's last day on `day` (`day` itself when it ends a month)."""
    following = day + dt.timedelta(days=1)
    if following.day == 1:
        return day
    return day.replace(day=1) - dt.timedelta(days=1)


def window(baseline_on: dt.date, as_of: dt.date) -> tuple[dt.date, dt.date]:
    """The days the value reached is computed over, by `as_of`: from the first day of a month
    on or after the baseline's date, to the end of the last complete month."""
    start = baseline_on
    if start.day != 1:
        start = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return start, month_end(as_of)


def expected_at(baseline: Point, milestones: list[Point], day: dt.date) -> float:
    """The value expected on `day`, on the line through the baseline and the milestones."""
    before = baseline
    for milestone in sorted(milestones, key=lambda point: point.day):
        if day < milestone.day:
            span = (milestone.day - before.day).days
            if span <= 0 or day <= before.day:
                return before.value
            return before.value + (milestone.value - before.value) * (day - before.day).days / span
        before = milestone
    return before.value


def share_reached(baseline: float, expected: float, actual: float, final: float) -> float:
    """The way travelled from `baseline` towards `expected`, as a fraction (1.0: on the line).

    When nothing is expected to have moved yet, holding the baseline (or better, in the
    direction of the final milestone) is the whole way.
    """
    if expected == baseline:
        rising = final >= baseline
        return 1.0 if (actual >= baseline if rising else actual <= baseline) else 0.0
    return (actual - baseline) / (expected - baseline)


def status_of(share: float, on_track_percent: int, at_risk_percent: int) -> str:
    """The status a share gives against the thresholds printed beside it."""
    percent = round(share * 100, 6)
    if percent >= on_track_percent:
        return "on_track"
    if percent >= at_risk_percent:
        return "at_risk"
    return "off_track"


def progress(
    baseline: Point,
    milestones: list[Point],
    as_of: dt.date,
    actual: float | None,
    actual_display: str,
    thresholds: tuple[int, int] = (100, 80),
) -> Progress:
    """Where a target stands on `as_of` given the value reached (None when not readable)."""
    start, end = window(baseline.day, as_of)
    if end < start:
        return Progress(end, start, None, None, actual_display, None, "not_started")
    expected = expected_at(baseline, milestones, end)
    if actual is None:
        return Progress(end, start, expected, None, actual_display, None, "unavailable")
    final = milestones[-1].value if milestones else baseline.value
    share = share_reached(baseline.value, expected, float(actual), final)
    status = status_of(share, *thresholds)
    return Progress(end, start, expected, float(actual), actual_display, share, status)
