"""Reading the indicators: for a period, everywhere or in one territory, per territory of a
level, over the actor's deployments, as the actor's role may read them."""

import datetime as dt
from dataclasses import dataclass, replace

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..errors import Invalid, invalid
from ..indicators import Period, Result, compute, first_partners
from ..indicators.presentation import Territories
from ..models import Territory
from ..permissions import Actor
from ..privacy import on_the_grid, reads_raw
from ..territories import territory_by_code
from .territories import decode_cursor, encode_cursor

OFF_THE_GRID = _l(
    "Pour votre rôle, les indicateurs se lisent par mois, trimestre ou année civils : du 1er "
    "jour au dernier jour d'un même mois, trimestre ou année, ou sans date pour tout "
    "l'historique."
)


def territory_named(code: str | None) -> Territory | None:
    """The territory with this code (None for none asked); Invalid when none has it."""
    if not code:
        return None
    territory = territory_by_code(code)
    if territory is None:
        raise invalid("territory", _("Territoire inconnu : %(code)s.", code=code))
    return territory


def read_indicators(
    actor: Actor,
    period: Period,
    territory: Territory | None = None,
    level: str | None = None,
    ids=None,
    action: str = "indicator.read",
) -> Result:
    """The indicators as `actor` may read them (`action`: the page or surface asking).

    Who reads protected figures asks for a calendar month, quarter or year, or the whole
    history: any other period is refused (docs/privacy.md).
    """
    actor.check(action)
    check_grid(actor, period)
    return compute(
        period, territory, level, viewer_role=actor.role, ids=ids, deployments=actor.deployment_ids
    )


def check_grid(actor: Actor, period: Period) -> None:
    """Invalid when a reader of protected figures asks for a period off the calendar grid."""
    if not reads_raw(actor.role) and not on_the_grid(period.start, period.end):
        raise Invalid(errors={"from": OFF_THE_GRID, "to": OFF_THE_GRID})


def partners_by_commune(actor: Actor, period: Period, territory) -> dict[int, dt.date]:
    """When each commune's first partner joined, over the actor's deployments."""
    actor.check("indicator.read")
    return first_partners(period, territory, actor.deployment_ids)


@dataclass(frozen=True)
class TerritoryPage:
    """A result whose territories are one page of those of its level: how many there are in
    all, and the cursor of the next page (None: the last). Read as the result it holds."""

    result: Result
    territory_count: int
    next_cursor: str | None

    def __getattr__(self, name):
        return getattr(self.result, name)


def territory_page(result: Result, limit: int, cursor: str | None = None) -> TerritoryPage:
    """The page of `limit` territories after `cursor`, in every indicator of the result.

    The figures are those of the whole answer, already protected, cut after: a cell hidden in
    the whole answer is hidden in its page, and `whole` stays the same on every page.
    """
    listed = next((i.territories for i in result.indicators if i.territories), ())
    start = _start_after(listed, decode_cursor(cursor)) if cursor else 0
    end = start + limit
    indicators = tuple(
        replace(indicator, territories=_slice(indicator.territories, start, end))
        for indicator in result.indicators
    )
    following = encode_cursor(listed[end - 1].territory) if end < len(listed) else None
    return TerritoryPage(replace(result, indicators=indicators), len(listed), following)


def _slice(territories, start: int, end: int) -> tuple:
    """A page of an indicator's territories, shaped for this answer and not kept."""
    if isinstance(territories, Territories):
        return territories.unkept(start, end)
    return tuple(territories[start:end])


def _start_after(listed, after: tuple[str, int]) -> int:
    """Where the page after this territory (code, id) starts in the answer's order; after the
    first that follows it when it is gone. Read from the territories' keys: the figures of
    the pages not asked for are never shaped."""
    if hasattr(listed, "keys"):
        keys = listed.keys()
    else:
        keys = [(row.territory.code, row.territory.id) for row in listed]
    if after in keys:
        return keys.index(after) + 1
    return next((n for n, key in enumerate(keys) if key > after), len(keys))
