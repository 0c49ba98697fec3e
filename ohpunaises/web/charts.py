"""Charts as plain geometry for inline SVG: bars and a timeline, drawn by the templates.

No JavaScript: the server works out every rectangle and label; the SVG scales to the width of
the page through its viewBox, and each chart comes with its data as a table.
"""

import datetime as dt
from dataclasses import dataclass, field

from ..indicators.results import Figure

# Narrow viewBoxes: on a 360 px phone, a unit is almost a pixel and labels stay readable.
WIDTH = 360
WIDE = 600  # the timeline, which needs room for commune names
ROW = 40  # height of one horizontal bar with its label above it
LABEL = 18


@dataclass
class Bar:
    label: str
    display: str
    suppressed: bool
    x: float = 0
    y: float = 0
    width: float = 0
    height: float = 0


@dataclass
class Chart:
    """What a template needs to draw a chart: its size and its shapes."""

    width: int
    height: int
    bars: list = field(default_factory=list)
    ticks: list = field(default_factory=list)
    points: list = field(default_factory=list)


def _number(cell: Figure) -> float:
    value = cell.value
    return float(value) if isinstance(value, int | float) and not cell.suppressed else 0.0


def horizontal_bars(items: list[tuple[str, Figure]]) -> Chart:
    """One bar per (label, cell), label above its bar, longest bar the full width."""
    top = max((_number(cell) for _, cell in items), default=0) or 1
    bars = []
    for index, (label, cell) in enumerate(items):
        length = (WIDTH - 70) * _number(cell) / top
        y = index * ROW + LABEL + 4
        bars.append(Bar(label, cell.display, cell.suppressed, 0, y, length, ROW - LABEL - 8))
    return Chart(WIDTH, max(len(items) * ROW, ROW), bars)


def vertical_bars(items: list[tuple[str, Figure]], height: int = 260) -> Chart:
    """One column per (label, cell): the quarterly trend."""
    count = max(len(items), 1)
    top = max((_number(cell) for _, cell in items), default=0) or 1
    slot = WIDTH / count
    plot = height - 60
    bars = []
    for index, (label, cell) in enumerate(items):
        size = plot * _number(cell) / top
        x = index * slot + slot * 0.15
        bars.append(
            Bar(label, cell.display, cell.suppressed, x, 24 + plot - size, slot * 0.7, size)
        )
    return Chart(WIDTH, height, bars)


@dataclass
class Milestone:
    label: str
    y: float
    first_report: float | None
    first_partner: float | None
    report_text: str
    partner_text: str


def timeline(rows: list[dict], start: dt.date, end: dt.date) -> Chart:
    """One line per territory: its first partner (square) and first report (circle) in time.

    `rows` hold label, first_report and first_partner (dates or None) and their texts.
    """
    left, right = 170, WIDE - 10
    span = max((end - start).days, 1)

    def x(day):
        return None if day is None else left + (right - left) * (day - start).days / span

    points = [
        Milestone(
            row["label"],
            40 + index * 26,
            x(row["first_report"]),
            x(row["first_partner"]),
            row["report_text"],
            row["partner_text"],
        )
        for index, row in enumerate(rows)
    ]
    ticks = [
        (x(dt.date(year, 1, 1)), str(year))
        for year in range(start.year + 1, end.year + 1)
        if start < dt.date(year, 1, 1) <= end
    ]
    return Chart(WIDE, 50 + len(rows) * 26, ticks=ticks, points=points)
