"""Expected reporting, broken down for the coordination: per structure, kind, commune,
deployment or quarter, the periods expected, received and on time (DESIGN §2, partner
follow-up). The rules are `ohpunaises.cadence`'s; the figures are raw, as only the
coordination (`partner.list`) reads them.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import cadence
from ..errors import invalid
from ..extensions import db
from ..models import Deployment, Structure, Territory
from ..permissions import Actor, deployments_within, structures_within
from ..vocabulary import STRUCTURE_KINDS
from .deployments import folded

BREAKDOWNS = {
    "structure": _l("Structure"),
    "kind": _l("Type de structure"),
    "commune": _l("Commune d'implantation"),
    "deployment": _l("Déploiement"),
    "quarter": _l("Trimestre"),
}


@dataclass(frozen=True)
class CompletenessRow:
    """One group's expected periods, received and on time; the total row has `total` set.

    `key`: the structure or deployment id (None: no deployment), the kind, the commune's code,
    or the quarter ("2025-Q1"); None for the total. Rates are None when nothing was expected.
    """

    key: int | str | None
    label: str
    expected: int
    received: int
    on_time: int
    completeness_rate: float | None
    timeliness_rate: float | None
    total: bool = False


def completeness(
    actor: Actor,
    by: str,
    start: dt.date | None = None,
    end: dt.date | None = None,
    deployment_id: int | None = None,
    today: dt.date | None = None,
) -> list[CompletenessRow]:
    """The rows of the breakdown `by`, then the total, over the structures of the actor's
    deployments (of `deployment_id` alone when given) and the expected periods whose deadline
    passed by `today` and whose last day falls from `start` to `end`."""
    actor.check("partner.list")
    if by not in BREAKDOWNS:
        raise invalid(
            "by", _("Ventilation inconnue : structure, kind, commune, deployment ou quarter.")
        )
    if start and end and start > end:
        raise invalid("end", _("La fin de période précède son début."))
    query = sa.select(Structure).where(
        structures_within(actor, "partner.list"), Structure.onboarded_on.is_not(None)
    )
    if deployment_id is not None:
        _check_deployment(actor, deployment_id)
        query = query.where(Structure.deployment_id == deployment_id)
    structures = db.session.scalars(query.order_by(Structure.name, Structure.id)).all()
    today = today or cadence.local_today()
    records = cadence.records(structures, today)
    if by == "quarter":
        tallies = _by_quarter(records, start, end, today)
        groups = sorted(key for key in tallies if key is not None)
    else:
        group = GROUPS[by]
        tallies = cadence.tally(records, start, end, today, group)
        # Every group of the structures shows, those that owed nothing yet too.
        groups = list(dict.fromkeys(group(record) for record in records))
    labels = LABELS[by](groups)
    rows = [_row(*labels[group], tallies.get(group)) for group in _ordered(by, groups, labels)]
    rows.append(_row(None, _("Ensemble"), tallies.get(None), total=True))
    return rows


def _check_deployment(actor: Actor, deployment_id: int):
    reached = db.session.scalar(
        sa.select(Deployment.id).where(
            Deployment.id == deployment_id, deployments_within(actor, "partner.list")
        )
    )
    if reached is None:
        raise invalid("deployment_id", _("Déploiement inconnu ou hors de votre périmètre."))


# A structure outside every deployment; not None, which `cadence.tally` keys the whole by.
NO_DEPLOYMENT = 0
GROUPS = {
    "structure": lambda record: record.structure.id,
    "kind": lambda record: record.structure.kind,
    "commune": lambda record: record.structure.commune_id,
    "deployment": lambda record: record.structure.deployment_id or NO_DEPLOYMENT,
}


def _by_quarter(records: list, start, end, today: dt.date) -> dict:
    """Tallies per calendar quarter of each expected period's last day, and for the whole."""
    tallies = defaultdict(cadence.Tally)
    for record in records:
        # The same periods as `cadence.tally` counts, grouped by period rather than by record.
        for period in record.expected(today):
            if (start and period.end < start) or (end and period.end > end):
                continue
            tallies[None].add(record, period)
            tallies[cadence.period_of("quarterly", period.end).name].add(record, period)
    return tallies


def _structure_labels(ids: list) -> dict:
    rows = db.session.execute(sa.select(Structure.id, Structure.name).where(Structure.id.in_(ids)))
    return {row.id: (row.id, row.name) for row in rows}


def _commune_labels(ids: list) -> dict:
    rows = db.session.execute(
        sa.select(Territory.id, Territory.code, Territory.name).where(Territory.id.in_(ids))
    )
    return {row.id: (row.code, row.name) for row in rows}


def _deployment_labels(ids: list) -> dict:
    rows = db.session.execute(
        sa.select(Deployment.id, Deployment.name).where(Deployment.id.in_(ids))
    )
    labels = {row.id: (row.id, row.name) for row in rows}
    if NO_DEPLOYMENT in ids:
        labels[NO_DEPLOYMENT] = (None, _("Sans déploiement"))
    return labels


def _kind_labels(kinds: list) -> dict:
    return {kind: (kind, str(STRUCTURE_KINDS[kind])) for kind in kinds}


def _quarter_labels(names: list) -> dict:
    return {
        name: (name, _("T%(quarter)s %(year)s", quarter=name[-1], year=name[:4])) for name in names
    }


# Each group's key and French label, by the group of `GROUPS` (or the quarter's name).
LABELS = {
    "structure": _structure_labels,
    "kind": _kind_labels,
    "commune": _commune_labels,
    "deployment": _deployment_labels,
    "quarter": _quarter_labels,
}


def _ordered(by: str, groups: list, labels: dict) -> list:
    """Kinds in the vocabulary's order, quarters in time, the others by label."""
    if by == "kind":
        return [kind for kind in STRUCTURE_KINDS if kind in groups]
    if by == "quarter":
        return sorted(groups)
    return sorted(groups, key=lambda group: (folded(str(labels[group][1])), str(group)))


def _row(key, label, tally: cadence.Tally | None, total: bool = False) -> CompletenessRow:
    tally = tally or cadence.Tally()
    return CompletenessRow(
        key=key,
        label=str(label),
        expected=tally.expected,
        received=tally.received,
        on_time=tally.on_time,
        completeness_rate=_rate(tally.received, tally.expected),
        timeliness_rate=_rate(tally.on_time, tally.expected),
        total=total,
    )


def _rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None
