"""The indicators of DESIGN §4: their definitions, and their computation by SQL aggregates.

`INDICATORS` lists every indicator with its stable identifier, French label, definition,
unit and the data it rests on. `compute` runs the aggregates for a period and a territory,
per territory of a level and for the whole, and returns them as the viewer may read them:
raw for the coordination, through `privacy` for everyone else.
"""

import datetime as dt

from .. import privacy
from ..models import Territory
from .definitions import (
    INDICATORS,
    LEVELS,
    NATIONAL_INFESTED_HOUSEHOLDS_PERCENT,
    NATIONAL_MEAN_COST_EUR,
    NATIONAL_SOURCE,
    Indicator,
    describe_all,
)
from .measures import Period, Scope, measure, reference_date
from .presentation import present, protect, territory_dict

__all__ = [
    "INDICATORS",
    "NATIONAL_INFESTED_HOUSEHOLDS_PERCENT",
    "NATIONAL_MEAN_COST_EUR",
    "NATIONAL_SOURCE",
    "Indicator",
    "Period",
    "compute",
    "describe_all",
]


def compute(
    period: Period | None = None,
    territory: Territory | None = None,
    level: str | None = None,
    viewer_role: str | None = None,
    reference: dt.date | None = None,
    ids=None,
) -> dict:
    """Indicators for a period and a territory, per territory of `level` and for the whole.

    Values are raw for the coordination and suppressed for every other role. Suppression
    always runs over every indicator, so that a hidden cell stays hidden whichever
    indicators are asked for.
    """
    if level is not None and level not in LEVELS:
        raise ValueError(f"unknown territory level: {level!r}")
    unknown = set(ids or ()) - set(INDICATORS)
    if unknown:
        raise ValueError(f"unknown indicators: {', '.join(sorted(unknown))}")
    period = period or Period()
    scope = Scope(period, territory, level, reference_date(period, reference))
    policy = privacy.Policy.for_role(viewer_role)
    figures = measure(scope)
    cells = protect(figures, policy)
    selected = [INDICATORS[id_] for id_ in ids] if ids else list(INDICATORS.values())
    return {
        "period": period.as_dict(),
        "reference_date": scope.reference.isoformat(),
        "territory": territory_dict(territory) if territory else None,
        "level": level,
        "suppression": {"applied": not policy.raw, "k": policy.k},
        "indicators": [present(indicator, figures, cells, policy) for indicator in selected],
    }
