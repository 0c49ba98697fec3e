"""Reading the indicators: for a period, everywhere or in one territory, per territory of a
level, over the actor's deployments, as the actor's role may read them."""

import datetime as dt

from flask_babel import gettext as _

from ..errors import invalid
from ..indicators import Period, Result, compute, first_partners
from ..models import Territory
from ..permissions import Actor
from ..territories import territory_by_code


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
    """The indicators as `actor` may read them (`action`: the page or surface asking)."""
    actor.check(action)
    return compute(
        period, territory, level, viewer_role=actor.role, ids=ids, deployments=actor.deployment_ids
    )


def partners_by_commune(actor: Actor, period: Period, territory) -> dict[int, dt.date]:
    """When each commune's first partner joined, over the actor's deployments."""
    actor.check("indicator.read")
    return first_partners(period, territory, actor.deployment_ids)
