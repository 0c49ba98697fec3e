"""Indicators as a viewer may read them: immutable results, read by attribute.

`compute` returns a `Result`: one `IndicatorResult` per indicator asked for, each with a
figure for the whole and one per territory of the level. A figure's class follows the
indicator's shape and carries only the figures that shape rests on; a hidden figure has no
value, and its text says why ("< K" or "s").
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from .measures import Period


@dataclass(frozen=True, slots=True)
class Figure:
    """A figure (a count, or an ISO date) as the viewer may read it, and the text to show."""

    value: int | float | str | None
    suppressed: bool
    display: str


@dataclass(frozen=True, slots=True)
class Share(Figure):
    """A percentage, with the counts it is made of."""

    numerator: Figure
    denominator: Figure


@dataclass(frozen=True, slots=True)
class Statistic(Figure):
    """A mean, a median or a date, with how many values it rests on."""

    basis: Figure


@dataclass(frozen=True, slots=True)
class Part(Figure):
    """One category of a breakdown, and its subcategory when the breakdown has two levels."""

    category: str
    subcategory: str | None = None


@dataclass(frozen=True, slots=True)
class Breakdown(Figure):
    """A total and its parts, subcategories in the order of their category's."""

    parts: tuple[Part, ...]


@dataclass(frozen=True, slots=True)
class Rate(Figure):
    """A count per 10,000 inhabitants, with the count and the population."""

    numerator: Figure
    population: int | None


@dataclass(frozen=True, slots=True)
class Ratio(Figure):
    """The rate inside QPV over the rate outside, with the counts and populations of each."""

    inside: Figure
    outside: Figure
    population_inside: int | None
    population_outside: int | None


@dataclass(frozen=True, slots=True)
class Coverage(Figure):
    """Communes covered, out of the communes in scope."""

    out_of: int | None


@dataclass(frozen=True, slots=True)
class TerritoryRef:
    """A territory, as results name it."""

    id: int
    code: str
    name: str
    level: str


@dataclass(frozen=True, slots=True)
class TerritoryFigure:
    """An indicator's figure for one territory of the level."""

    territory: TerritoryRef
    figure: Figure


@dataclass(frozen=True, slots=True)
class NationalReference:
    """A national figure to read an indicator against, in the reader's language."""

    value: float
    unit: str
    source: str


@dataclass(frozen=True, slots=True)
class IndicatorResult:
    """One indicator for the whole and per territory; `reference` None when it has none.
    `territories` reads as a tuple (`presentation.Territories` shapes each when read)."""

    id: str
    label: str
    unit: str
    theme: str
    whole: Figure
    territories: Sequence[TerritoryFigure] = ()
    reference: NationalReference | None = None


@dataclass(frozen=True, slots=True)
class Suppression:
    """Whether this viewer's counts are protected: hidden below `k`, and moved by at most
    `perturbation` (0: the raw figures of the coordination)."""

    applied: bool
    k: int
    perturbation: int = 0


@dataclass(frozen=True, slots=True)
class Result:
    """The indicators of a period and a territory, as one viewer may read them."""

    period: Period
    reference_date: dt.date
    territory: TerritoryRef | None
    level: str | None
    suppression: Suppression
    indicators: tuple[IndicatorResult, ...]

    def indicator(self, id_: str) -> IndicatorResult:
        """The indicator of this id; KeyError when it was not asked for."""
        for found in self.indicators:
            if found.id == id_:
                return found
        raise KeyError(id_)
