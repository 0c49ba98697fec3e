"""Reading the indicators: for a period, everywhere or in one territory, per territory of a
level, over the actor's deployments, as the actor's role may read them."""

import datetime as dt

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..errors import Invalid, invalid
from ..indicators import Period, Result, compute, first_partners
from ..models import Territory
from ..permissions import Actor
from ..privacy import on_the_grid, reads_raw
from ..territories import territory_by_code

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
