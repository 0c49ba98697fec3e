"""Indicators as a viewer may read them: counts protected, then shaped as results."""

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from .. import privacy
from ..vocabulary import ACTIONS, STRUCTURE_KINDS
from .definitions import INDICATORS, Indicator, Reference
from .measures import Figures
from .results import (
    Breakdown,
    Coverage,
    Figure,
    IndicatorResult,
    NationalReference,
    Part,
    Rate,
    Ratio,
    Share,
    Statistic,
    TerritoryFigure,
    TerritoryRef,
)
from .table import Protected


def protect(figures: Figures, policy: privacy.Policy) -> Protected:
    """Every count of every indicator as the viewer may read it.

    The same count (the reports of a commune) appears in several indicators; its cell is
    computed once, from its records' key, and reads the same in all of them.
    """
    return figures.counts.protect(policy, follows())


def follows() -> list[tuple]:
    """Counts hidden with the count they rest on, in every territory: people with their
    dwellings or sessions."""
    return [
        ((indicator.counts[0],), (basis,))
        for indicator in INDICATORS.values()
        if indicator.shape == "count"
        for basis in indicator.counts[1:]
    ]


class _Reader:
    """Reads figures as the viewer may see them."""

    def __init__(self, figures: Figures, cells: Protected, policy: privacy.Policy):
        self.figures, self.cells, self.policy = figures, cells, policy
        self._categories: dict[str, list[tuple]] = {}
        # Results are immutable: one object per distinct figure, shared by every territory
        # that reads it. Over a country's communes most parts of a breakdown are the same
        # few (zeros), and millions of copies would fill a worker's memory.
        self._zero = privacy.Cell(0, False, policy.k)
        self._made: dict[tuple, Figure] = {}

    def categories(self, family: str) -> list[tuple]:
        """A breakdown's categories, found once for all territories: finding them reads
        every count, so once per territory would cost territories × counts."""
        if family not in self._categories:
            self._categories[family] = _categories(self.figures, family)
        return self._categories[family]

    def cell(self, family, group, *categories) -> privacy.Cell:
        # A count absent from the figures is a zero, which is never hidden.
        return self.cells.cell((family, *categories), group) or self._zero

    def figure(self, cell: privacy.Cell) -> Figure:
        """A protected cell as results hold it, made once per distinct cell."""
        return self._shared((cell, type(cell.value)), lambda: figure(cell))

    def part(self, family, group, categories: tuple) -> Part:
        """One part of a breakdown, made once per distinct cell and category."""
        cell = self.cell(family, group, *categories)
        category, subcategory = (*categories, None)[:2]
        return self._shared(
            (cell, type(cell.value), categories),
            lambda: Part(**cell.as_dict(), category=category, subcategory=subcategory),
        )

    def _shared(self, key: tuple, make) -> Figure:
        made = self._made.get(key)
        if made is None:
            made = self._made.setdefault(key, make())
        return made

    def count(self, family, group, *categories) -> int | None:
        """A count as the viewer reads it (perturbed for protected readers), None if hidden:
        shares and rates are computed from what is shown, never from hidden values."""
        return self.cell(family, group, *categories).value

    def shown(self, family, group, *categories) -> dict:
        """A count's fields as a figure holds them."""
        return self.cell(family, group, *categories).as_dict()

    def derived(self, value, *bases: privacy.Cell) -> dict:
        """The fields of a figure resting on `bases`: hidden whenever one of them is."""
        return privacy.derived(value, self.policy, *bases).as_dict()


def figure(cell: privacy.Cell) -> Figure:
    """A protected cell as results hold it."""
    return Figure(**cell.as_dict())


def _share(reader: _Reader, indicator: Indicator, group) -> Share:
    part, total = (reader.count(family, group) for family in indicator.counts)
    numerator, denominator = (reader.cell(family, group) for family in indicator.counts)
    value = None
    if part is not None and total:
        value = min(100.0, round(100 * part / total, 1))  # parts perturbed apart
    return Share(
        **reader.derived(value, numerator, denominator),
        numerator=reader.figure(numerator),
        denominator=reader.figure(denominator),
    )


def _mean(reader: _Reader, indicator: Indicator, group) -> Statistic:
    (count_family,) = indicator.counts
    count = reader.figures.count(count_family, group)
    cents = reader.figures.value(indicator.value, group)
    value = None
    if count:
        mean = Decimal(int(cents)) / count / 100
        value = float(mean.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
    basis = reader.cell(count_family, group)
    return Statistic(**reader.derived(value, basis), basis=reader.figure(basis))


def _statistic(reader: _Reader, indicator: Indicator, group) -> Statistic:
    (count_family,) = indicator.counts
    basis = reader.cell(count_family, group)
    value = reader.figures.value(indicator.value, group)
    return Statistic(**reader.derived(value, basis), basis=reader.figure(basis))


def _breakdown(reader: _Reader, indicator: Indicator, group) -> Breakdown:
    family, total = indicator.counts
    parts = tuple(
        reader.part(family, group, categories) for categories in reader.categories(family)
    )
    return Breakdown(**reader.shown(total, group), parts=parts)


def _categories(figures: Figures, family: str) -> list[tuple]:
    """Every category of a breakdown, zeros included, in a stable order."""
    if family == "action":
        return [(action,) for action in ACTIONS]
    if family == "structure_kind":
        return [(kind,) for kind in STRUCTURE_KINDS]
    quarters = _quarter_range({column[1] for column in figures.counts.families(family)})
    if family == "quarter":
        return [(quarter,) for quarter in quarters]
    return [(quarter, kind) for quarter in quarters for kind in STRUCTURE_KINDS]


def _quarter_range(quarters: set[str]) -> list[str]:
    if not quarters:
        return []
    first, last = min(quarters), max(quarters)
    year, quarter = int(first[:4]), int(first[-1])
    found = []
    while (name := f"{year}-Q{quarter}") <= last:
        found.append(name)
        year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
    return found


def _rate(reader: _Reader, indicator: Indicator, group) -> Rate:
    (family,) = indicator.counts
    population = reader.figures.value("population", group)
    count = reader.count(family, group)
    value = round(10_000 * count / population, 2) if population and count is not None else None
    numerator = reader.cell(family, group)
    return Rate(
        **reader.derived(value, numerator),
        numerator=reader.figure(numerator),
        population=population,
    )


def _ratio(reader: _Reader, indicator: Indicator, group) -> Ratio:
    inside_family, total_family = indicator.counts
    inside, total = reader.count(inside_family, group), reader.count(total_family, group)
    outside = None if inside is None or total is None else max(0, total - inside)
    population_inside = reader.figures.value("qpv_population", group)
    population = reader.figures.value("population", group)
    population_outside = None
    value = None
    if population_inside is not None and population is not None:
        population_outside = population - population_inside
        if population_inside > 0 and population_outside > 0 and outside:
            rate_inside = inside / population_inside
            value = round(rate_inside / (outside / population_outside), 2)
    inside_cell, total_cell = reader.cell(inside_family, group), reader.cell(total_family, group)
    return Ratio(
        **reader.derived(value, inside_cell, total_cell),
        inside=reader.figure(inside_cell),
        outside=Figure(**reader.derived(outside, inside_cell, total_cell)),
        population_inside=population_inside,
        population_outside=population_outside,
    )


def _coverage_value(reader: _Reader, indicator: Indicator, group) -> Figure:
    # Territories are public: whether a commune is covered is not a count of households.
    value = reader.figures.value(indicator.value, group)
    shown = privacy.Cell(value, False, reader.policy.k).as_dict()
    if indicator.id == "communes_covered":
        return Coverage(**shown, out_of=reader.figures.value("communes_in_scope", group))
    return Figure(**shown)


def _count(reader: _Reader, indicator: Indicator, group) -> Figure:
    return reader.figure(reader.cell(indicator.counts[0], group))


PRESENTERS = {
    "count": _count,
    "share": _share,
    "mean": _mean,
    "median": _statistic,
    "date": _statistic,
    "breakdown": _breakdown,
    "rate": _rate,
    "ratio": _ratio,
    "coverage": _coverage_value,
}


def present(indicator: Indicator, figures: Figures, cells: Protected, policy) -> IndicatorResult:
    """One indicator for the whole and per territory, as the viewer may read it; each
    territory's figure is shaped when first read (`Territories`)."""
    reader = _Reader(figures, cells, policy)
    build = PRESENTERS[indicator.shape]
    territories = ()
    if figures.level in indicator.levels:
        territories = Territories(
            figures.groups, lambda group_id: build(reader, indicator, group_id)
        )
    return IndicatorResult(
        id=indicator.id,
        label=str(indicator.label),
        unit=str(indicator.unit),
        theme=indicator.theme,
        whole=build(reader, indicator, None),
        territories=territories,
        reference=national_reference(indicator.reference) if indicator.reference else None,
    )


class Territories(Sequence):
    """An indicator's figures per territory of the level, in the level's order, each shaped
    when first read and kept: a page of 100 communes out of 35,000 costs what the page
    holds, and a breakdown by quarter and kind is never shaped for communes nobody reads.
    Reads as a tuple of `TerritoryFigure` (equal to one holding the same figures)."""

    __slots__ = ("_build", "_groups", "_made")

    def __init__(self, groups, build):
        self._groups, self._build = groups, build
        self._made: list = [None] * len(groups)

    def __len__(self) -> int:
        return len(self._groups)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(len(self))))
        made = self._made[index]
        if made is None:
            made = self._made[index] = self._make(index)  # two threads alike: either is kept
        return made

    def unkept(self, start: int, end: int) -> tuple:
        """Territories `start` to `end` shaped without keeping them (those already kept are
        reused): what a client paging through 35,000 communes reads, page after page, leaves
        nothing behind in the worker."""
        return tuple(
            self._made[i] or self._make(i) for i in range(*slice(start, end).indices(len(self)))
        )

    def _make(self, index: int) -> TerritoryFigure:
        group = self._groups[index]
        return TerritoryFigure(territory_ref(group), self._build(group.id))

    def keys(self) -> list[tuple[str, int]]:
        """(code, id) of every territory, in order, without shaping any figure."""
        return [(group.code, group.id) for group in self._groups]

    def __eq__(self, other):
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    def __hash__(self):
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"Territories({len(self)} territories)"


def national_reference(reference: Reference) -> NationalReference:
    """A national reference in the current language."""
    return NationalReference(reference.value, str(reference.unit), str(reference.source))


def territory_ref(group) -> TerritoryRef:
    """A territory (row or model) as results name it."""
    fields = ("id", "code", "name", "level")
    if isinstance(group, dict):
        return TerritoryRef(*(group[key] for key in fields))
    return TerritoryRef(*(getattr(group, key) for key in fields))
