"""The indicators of DESIGN §4: their definitions, and their computation by SQL aggregates.

`INDICATORS` lists every indicator with its stable identifier, French label, definition,
unit and the data it rests on. `compute` runs the aggregates for a period and a territory,
per territory of a level and for the whole, and returns them as the viewer may read them
(a `results.Result`): raw for the coordination, through `privacy` for everyone else.
"""

import datetime as dt

from flask_babel import get_locale

from .. import privacy
from ..models import Territory
from . import cache
from .definitions import (
    INDICATORS,
    LEVELS,
    NATIONAL_INFESTED_HOUSEHOLDS_PERCENT,
    NATIONAL_MEAN_COST_EUR,
    NATIONAL_SOURCE,
    Indicator,
    describe_all,
)
from .measures import Period, Scope, as_deployments, first_partners, measure, reference_date
from .presentation import present, protect, territory_ref
from .results import IndicatorResult, Result, Suppression

__all__ = [
    "INDICATORS",
    "NATIONAL_INFESTED_HOUSEHOLDS_PERCENT",
    "NATIONAL_MEAN_COST_EUR",
    "NATIONAL_SOURCE",
    "Indicator",
    "Period",
    "Result",
    "compute",
    "describe_all",
    "first_partners",
    "suppression_of",
]


def compute(
    period: Period | None = None,
    territory: Territory | None = None,
    level: str | None = None,
    viewer_role: str | None = None,
    reference: dt.date | None = None,
    ids=None,
    deployments=None,
) -> Result:
    """Indicators for a period and a territory, per territory of `level` and for the whole.

    Reports, structures and training sessions count when their structure belongs to one of
    `deployments` (ids; None: every deployment), as `auth.deployment_ids` gives them for the
    viewer; territories stay whole. Values are raw for the coordination and suppressed for
    every other role. Suppression always runs over every indicator, so that a hidden cell
    stays hidden whichever indicators are asked for.
    """
    if level is not None and level not in LEVELS:
        raise ValueError(f"unknown territory level: {level!r}")
    unknown = set(ids or ()) - set(INDICATORS)
    if unknown:
        raise ValueError(f"unknown indicators: {', '.join(sorted(unknown))}")
    period = period or Period()
    scope = Scope(
        period,
        territory,
        level,
        reference_date(period, reference),
        deployments=as_deployments(deployments),
    )
    policy = privacy.Policy.for_role(viewer_role)
    figures = cache.figures(scope, measure)
    selected = list(ids) if ids else list(INDICATORS)
    return Result(
        period=period,
        reference_date=scope.reference,
        territory=territory_ref(territory) if territory else None,
        level=level,
        suppression=suppression_of(policy),
        indicators=_presented(figures, policy, selected),
    )


def suppression_of(policy: privacy.Policy) -> Suppression:
    """How a viewer under this policy reads the counts: hidden below K, moved by at most the
    largest perturbation (none for the coordination)."""
    return Suppression(
        applied=not policy.raw,
        k=policy.k,
        perturbation=0 if policy.raw else privacy.MAX_PERTURBATION,
    )


def _presented(figures, policy: privacy.Policy, ids: list[str]) -> tuple[IndicatorResult, ...]:
    """The indicators asked, as this policy reads them, kept with the cached figures.

    Suppression and number formatting cost more than reading the cache: suppression is done
    once per policy, formatting once per policy and locale, and an indicator is shaped only
    when first asked for. Shaping every indicator for every territory at once would cost
    what the breakdowns cost (parts × territories) to a map that shows one indicator.
    Results are immutable, so every caller shares them.
    """
    if policy not in figures.protected:
        figures.protected[policy] = protect(figures, policy)
    cells = figures.protected[policy]
    shown = figures.presented.setdefault((policy, str(get_locale())), {})
    for id_ in ids:
        if id_ not in shown:
            shown[id_] = present(INDICATORS[id_], figures, cells, policy)
    return tuple(shown[id_] for id_ in ids)
