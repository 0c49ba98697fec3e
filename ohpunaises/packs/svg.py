"""The pack's pictures as inline SVG: the choropleth map, bar charts, the bar of a target.

Drawn for print: sizes are in points (one SVG unit is one point where the width allows), text
is 8 pt or more, and what colour tells is also told by a pattern or by words, so that a page
printed in black and white reads the same. Hidden values are hatched and labelled "< K".
"""

import itertools
import math
from dataclasses import dataclass

import numpy as np
from flask_babel import gettext as _
from markupsafe import Markup, escape

from . import decimal
from .outlines import Drawing

# The web map's palette (ColorBrewer OrRd): its lightness falls steadily, so that the classes
# stay in order once printed in grey.
PALETTE = ("#fef0d9", "#fdcc8a", "#fc8d59", "#e34a33", "#b30000")
INK = "#222222"
BAR = "#4d4d4d"
MAX_CLASSES = 5
LABEL_CHARACTERS = 40  # a chart label longer than this is shortened
NARROW = "\u202f"  # narrow non-breaking space, before "%"
_ids = itertools.count(1)


def _defs(prefix: str, unit: float = 1.0) -> str:
    """The patterns of a picture: hatches for hidden values, dots for missing ones; `unit` is
    the length of a printed point in the picture's units, so that every picture shows them
    at the same size."""
    size, line, dot = 5 * unit, 1.6 * unit, 0.7 * unit
    return (
        f'<defs><pattern id="{prefix}-hatch" width="{size:g}" height="{size:g}" '
        'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        f'<rect width="{size:g}" height="{size:g}" fill="#ffffff"/>'
        f'<line x1="0" y1="0" x2="0" y2="{size:g}" stroke="{INK}" stroke-width="{line:g}"/>'
        f'</pattern><pattern id="{prefix}-dots" width="{size:g}" height="{size:g}" '
        f'patternUnits="userSpaceOnUse"><rect width="{size:g}" height="{size:g}" fill="#ffffff"/>'
        f'<circle cx="{size / 2:g}" cy="{size / 2:g}" r="{dot:g}" fill="#777777"/></pattern></defs>'
    )


def _prefix() -> str:
    # Each inline SVG is its own document for WeasyPrint, but ids stay unique to be safe.
    return f"p{next(_ids)}"


# The map ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LegendEntry:
    """One class of the map: its swatch, its words, how many territories fall in it."""

    swatch: Markup
    label: str
    count: int


@dataclass(frozen=True)
class Classes:
    """Classes of values by quantiles: `uppers[i]` is the highest value of class i."""

    lowest: float
    uppers: tuple[float, ...]
    places: int
    single: bool = False  # one class per value, when there are few distinct values

    @classmethod
    def of(cls, values: list[float]) -> "Classes | None":
        """At most five classes; one per value when there are five values or fewer."""
        if not values:
            return None
        places = 0 if all(float(value).is_integer() for value in values) else _places(values)
        distinct = sorted(set(values))
        if len(distinct) <= MAX_CLASSES:
            return cls(min(values), tuple(distinct), places, single=True)
        # Zero is a class of its own ("no report"); quantiles split the other values.
        positive = [value for value in values if value > 0]
        splits = MAX_CLASSES - (len(positive) < len(values))
        quantiles = np.quantile(np.array(positive, dtype=float), np.linspace(0, 1, splits + 1))
        uppers = {_round_up(value, places) for value in quantiles[1:]}
        if len(positive) < len(values):
            uppers.add(0.0)
        lowest = _round_down(min(values), places)
        found = cls(lowest, tuple(sorted(uppers)), places)
        filled = sorted({found.index(value) for value in values})  # no empty class
        return cls(lowest, tuple(found.uppers[index] for index in filled), places)

    def index(self, value: float) -> int:
        """The class of a value."""
        for number, upper in enumerate(self.uppers):
            if value <= upper:
                return number
        return len(self.uppers) - 1

    def colours(self) -> list[str]:
        """A colour per class, spread over the palette."""
        if len(self.uppers) == 1:
            return [PALETTE[2]]
        picks = np.linspace(0, len(PALETTE) - 1, len(self.uppers)).round().astype(int)
        return [PALETTE[pick] for pick in picks]

    def labels(self) -> list[str]:
        """The bounds of each class in words."""
        if self.single:  # the values themselves, as exact as they are
            return [decimal(upper, 3) for upper in self.uppers]

        def number(value):
            return decimal(value, self.places)

        labels, lower = [], None
        for upper in self.uppers:
            if lower is None and upper == self.lowest:
                labels.append(number(upper))
            elif lower is None:
                low = number(self.lowest)
                labels.append(_("de %(low)s à %(high)s", low=low, high=number(upper)))
            else:
                labels.append(
                    _("plus de %(low)s à %(high)s", low=number(lower), high=number(upper))
                )
            lower = upper
        return labels


def _places(values) -> int:
    # Enough decimals to tell the classes apart: one for values above 1, two below.
    return 1 if max(abs(value) for value in values) >= 1 else 2


def _round_up(value: float, places: int) -> float:
    factor = 10**places
    return math.ceil(round(value * factor, 6)) / factor


def _round_down(value: float, places: int) -> float:
    factor = 10**places
    return math.floor(round(value * factor, 6)) / factor


@dataclass(frozen=True)
class Choropleth:
    """The map as inline SVG with its legend."""

    svg: Markup
    legend: list[LegendEntry]


def choropleth(
    drawing: Drawing, territories: list[dict], title: str, box: tuple[float, float]
) -> Choropleth:
    """The territories coloured by class of value, hidden ones hatched, missing ones dotted,
    with a scale bar; as large as fits in `box` (width, height in points)."""
    prefix = _prefix()
    readable = {
        row["code"]: float(row["value"])
        for row in territories
        if not row.get("suppressed") and _number(row.get("value"))
    }
    classes = Classes.of(list(readable.values()))
    colours = classes.colours() if classes else []
    counts = {"hatch": 0, "dots": 0} | dict.fromkeys(range(len(colours)), 0)
    fills = {}
    for row in territories:
        if row["code"] in readable:
            key = classes.index(readable[row["code"]])
            fills[row["code"]] = colours[key]
        else:
            key = "hatch" if row.get("suppressed") else "dots"
            fills[row["code"]] = f"url(#{prefix}-{key})"
        counts[key] += 1
    shapes = "".join(
        f'<path d="{outline.path}" fill="{fills.get(outline.code, f"url(#{prefix}-dots)")}" '
        f'fill-rule="evenodd"><title>{escape(outline.name)} ({escape(outline.code)})</title></path>'
        for outline in drawing.outlines
    )
    width = drawing.width + 8
    # 16 points of the box are kept below the outlines for the scale bar.
    scale = min(box[0] / width, (box[1] - 16) / (max(drawing.height, 1.0) + 8))
    band = 16 / scale
    height = max(drawing.height, 1.0) + 8 + band
    svg = Markup(
        f'<svg class="map" xmlns="http://www.w3.org/2000/svg" viewBox="-4 -4 {width:g} '
        f'{height:g}" width="{width * scale:.1f}pt" height="{height * scale:.1f}pt" role="img" '
        f'aria-label="{escape(title)}">{_defs(prefix, 1 / scale)}'
        f'<g stroke="{INK}" stroke-width="{0.45 / scale:.2f}" stroke-linejoin="round">{shapes}</g>'
        f"{_scale_bar(drawing, scale, max(drawing.height, 1.0) + band - 4)}</svg>"
    )
    labels = classes.labels() if classes else []
    legend = [
        LegendEntry(_swatch(colour), label, counts[key])
        for key, (colour, label) in enumerate(zip(colours, labels, strict=True))
    ]
    if counts["hatch"]:
        legend.append(LegendEntry(_swatch("hatch"), _("masqué (petit effectif)"), counts["hatch"]))
    if counts["dots"]:
        legend.append(LegendEntry(_swatch("dots"), _("sans donnée"), counts["dots"]))
    return Choropleth(svg, legend)


SCALE_KM = (0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


def _scale_bar(drawing: Drawing, scale: float, bottom: float) -> str:
    """A bar of a round number of kilometres, about a fifth of the map's width."""
    if not drawing.per_km or not drawing.outlines:
        return ""
    fitting = [km for km in SCALE_KM if km * drawing.per_km <= drawing.width / 4]
    km = fitting[-1] if fitting else SCALE_KM[0]
    length, font = km * drawing.per_km, 8 / scale
    words = _("%(km)s km", km=decimal(km, 1))
    return (
        f'<g stroke="{INK}" stroke-width="{1 / scale:.2f}" fill="none">'
        f'<path d="M0,{bottom - 3 / scale:.1f} V{bottom:.1f} H{length:.1f} '
        f'V{bottom - 3 / scale:.1f}"/></g>'
        f'<text x="{length + 3 / scale:.1f}" y="{bottom:.1f}" font-size="{font:.1f}" '
        f'fill="{INK}" font-family="DejaVu Sans">{words}</text>'
    )


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _swatch(fill: str) -> Markup:
    """A legend's little square, filled like the map's territories of that class."""
    prefix = _prefix()
    if fill in ("hatch", "dots"):
        fill = f"url(#{prefix}-{fill})"
    return Markup(
        f'<svg class="swatch" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 11" '
        f'width="16pt" height="11pt">{_defs(prefix)}<rect x="0.5" y="0.5" width="15" '
        f'height="10" fill="{fill}" stroke="{INK}" stroke-width="0.8"/></svg>'
    )


# Bar charts -------------------------------------------------------------------------------------

CHART_WIDTH = 480.0  # points: the width of the text column
LABEL_WIDTH = 200.0
VALUE_WIDTH = 50.0
ROW = 16.0
FONT = 8.5


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its value (None when hidden) and the text shown beside it."""

    label: str
    value: float | None
    display: str


def bar_chart(bars: list[Bar], title: str, hidden_bound: float = 5) -> Markup:
    """Horizontal bars in the given order; a hidden value is a hatched bar up to its bound."""
    prefix = _prefix()
    values = [bar.value for bar in bars if bar.value is not None]
    top = max([*values, hidden_bound if any(bar.value is None for bar in bars) else 0, 1])
    room = CHART_WIDTH - LABEL_WIDTH - VALUE_WIDTH
    rows = []
    for number, bar in enumerate(bars):
        y = number * ROW
        box = f'x="{LABEL_WIDTH:g}" y="{y + 3:g}" height="{ROW - 5:g}"'
        label = (
            bar.label
            if len(bar.label) <= LABEL_CHARACTERS
            else bar.label[: LABEL_CHARACTERS - 1] + "…"
        )
        rows.append(
            f'<text x="{LABEL_WIDTH - 6:g}" y="{y + 11.5:g}" text-anchor="end" '
            f'font-size="{FONT}">{escape(label)}</text>'
        )
        if bar.value is None:
            # At least a few points long, so that its hatching shows.
            length = max(room * hidden_bound / top, 6.0)
            rows.append(
                f'<rect {box} width="{length:.1f}" fill="url(#{prefix}-hatch)" '
                f'stroke="{INK}" stroke-width="0.6" '
                'stroke-dasharray="2 1.5"/>'
            )
        else:
            length = max(room * max(bar.value, 0) / top, 0.0)
            rows.append(f'<rect {box} width="{length:.1f}" fill="{BAR}"/>')
        rows.append(
            f'<text x="{LABEL_WIDTH + length + 4:.1f}" y="{y + 11.5:g}" font-size="{FONT}">'
            f"{escape(bar.display)}</text>"
        )
    height = max(len(bars), 1) * ROW + 4
    axis = (
        f'<line x1="{LABEL_WIDTH:g}" y1="0" x2="{LABEL_WIDTH:g}" y2="{height - 2:g}" '
        f'stroke="{INK}" stroke-width="0.8"/>'
    )
    return Markup(
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {CHART_WIDTH:g} '
        f'{height:g}" width="{CHART_WIDTH:g}pt" height="{height:g}pt" role="img" '
        f'aria-label="{escape(title)}">{_defs(prefix)}<g fill="{INK}" '
        f'font-family="DejaVu Sans">{"".join(rows)}</g>{axis}</svg>'
    )


# A target's bar ---------------------------------------------------------------------------------

TARGET_WIDTH, TARGET_HEIGHT = 100.0, 28.0


def target_bar(share: float | None, on_track: float, at_risk: float) -> Markup:
    """The share of the way reached, against the "à surveiller" and "en bonne voie" marks."""
    prefix = _prefix()
    scale_top = max(150.0, math.ceil(max(share or 0, on_track) / 50) * 50)
    scale_top = min(scale_top, 300.0)

    def x(percent):
        return 2 + (TARGET_WIDTH - 4) * min(max(percent, 0), scale_top) / scale_top

    parts = [
        f'<rect x="2" y="4" width="{TARGET_WIDTH - 4:g}" height="10" fill="#ffffff" '
        f'stroke="{INK}" stroke-width="0.6"/>'
    ]
    if share is None:
        parts.append(
            f'<rect x="2" y="4" width="{TARGET_WIDTH - 4:g}" height="10" '
            f'fill="url(#{prefix}-dots)"/>'
        )
    else:
        parts.append(f'<rect x="2" y="4" width="{x(share) - 2:.1f}" height="10" fill="{BAR}"/>')
        if share > scale_top:
            parts.append(
                f'<text x="{TARGET_WIDTH - 3:g}" y="12" font-size="8" fill="#ffffff" '
                'text-anchor="end">»</text>'
            )
    # "à surveiller" is labelled left of its mark, "en bonne voie" right of its own: they may
    # stand close together.
    for percent, dash, anchor, shift in (
        (at_risk, "2 1.5", "end", -1.5),
        (on_track, "", "start", 1.5),
    ):
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<line x1="{x(percent):.1f}" y1="1" x2="{x(percent):.1f}" y2="17" stroke="{INK}" '
            f'stroke-width="1.2"{dashes}/>'
            f'<text x="{x(percent) + shift:.1f}" y="25" font-size="8" text-anchor="{anchor}">'
            f"{decimal(percent, 0)}{NARROW}%</text>"
        )
    return Markup(
        f'<svg class="target-bar" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 '
        f'{TARGET_WIDTH:g} {TARGET_HEIGHT:g}" width="{TARGET_WIDTH:g}pt" '
        f'height="{TARGET_HEIGHT:g}pt">{_defs(prefix)}<g fill="{INK}" font-family="DejaVu Sans">'
        f"{''.join(parts)}</g></svg>"
    )
