"""Deployments side by side (DESIGN §2: "its indicators compare deployments"): the same
indicators over the same period for each deployment the reader reaches, as the reader may
read them, and the counts per 10,000 inhabitants of each deployment's communes.

A deployment's figures are those of the structures that belong to it, as everywhere else
(`indicators.compute`); its population is that of the communes it covers, with the
arrondissements it covers outside them (Lyon's are inside Lyon: counted once). A population
unknown for one of them makes the rate "non disponible" rather than wrong.
"""

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from babel import numbers
from flask_babel import format_date, get_locale
from flask_babel import gettext as _

from .. import privacy
from ..errors import invalid
from ..extensions import db
from ..indicators import INDICATORS, Period, compute, suppression_of
from ..indicators.results import Figure, Suppression
from ..models import Deployment, Territory, deployment_territories
from ..permissions import Actor, deployments_within
from ..privacy import SECRET, on_the_grid
from .indicators import check_grid

ACTION = "evaluation.read"
COMPARED = (
    "reports",
    "distinct_dwellings",
    "people_reached",
    "share_vulnerable",
    "share_social_housing",
    "share_in_qpv",
    "resolution_rate",
    "median_days_to_resolution",
    "mean_cost_total",
    "mean_cost_household",
    "share_non_chemical",
    "active_structures",
    "training_sessions",
    "people_trained",
    "completeness_rate",
)
PER = 10_000
COMPARED_AT_MOST = 50  # deployments asked by id at once


@dataclass(frozen=True)
class ComparedIndicator:
    """A column of the comparison; counts have a second one, per 10,000 inhabitants."""

    id: str
    label: str
    unit: str
    shape: str

    @property
    def per_10000(self) -> bool:
        return self.shape == "count"

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "label": self.label,
            "unit": self.unit,
            "shape": self.shape,
            "per_10000": self.per_10000,
        }


@dataclass(frozen=True)
class ComparedValue:
    """One indicator of one row, and for a count its rate per 10,000 inhabitants."""

    indicator: str
    figure: Figure
    per_10000: Figure | None

    def as_dict(self) -> dict:
        return {
            "indicator": self.indicator,
            **_figure_dict(self.figure),
            "per_10000": _figure_dict(self.per_10000) if self.per_10000 else None,
        }


@dataclass(frozen=True)
class ComparisonRow:
    """A deployment, or every deployment together ("Ensemble")."""

    deployment_id: int | None
    name: str
    total: bool
    population: int | None
    values: tuple[ComparedValue, ...]

    def value(self, indicator: str) -> ComparedValue:
        """The value of this indicator; KeyError when it is not compared."""
        for found in self.values:
            if found.indicator == indicator:
                return found
        raise KeyError(indicator)

    def as_dict(self) -> dict:
        return {
            "deployment_id": self.deployment_id,
            "name": self.name,
            "total": self.total,
            "population": self.population,
            "values": [value.as_dict() for value in self.values],
        }


@dataclass(frozen=True)
class Comparison:
    """The rows of the deployments compared over one period, with the columns they share."""

    period: Period
    period_label: str
    suppression: Suppression
    indicators: tuple[ComparedIndicator, ...]
    rows: tuple[ComparisonRow, ...]

    def as_dict(self) -> dict:
        return {
            "period": {**self.period.as_dict(), "label": self.period_label},
            "suppression": {
                "applied": self.suppression.applied,
                "k": self.suppression.k,
                "perturbation": self.suppression.perturbation,
            },
            "indicators": [indicator.as_dict() for indicator in self.indicators],
            "rows": [row.as_dict() for row in self.rows],
        }


def _figure_dict(figure: Figure) -> dict:
    return {"value": figure.value, "display": figure.display, "suppressed": figure.suppressed}


# Comparing --------------------------------------------------------------------------------------


def compare_deployments(actor: Actor, period: Period, ids=None) -> Comparison:
    """One row per deployment the actor reaches (those of `ids` only, when given), and
    "Ensemble" when the actor reaches every deployment; protected readers ask for a calendar
    month, quarter or year (or the whole history)."""
    actor.check(ACTION)
    check_grid(actor, period)
    deployments = _deployments(actor, ids)
    populations = deployment_populations([deployment.id for deployment in deployments])
    rows = [
        _row(actor, period, deployment.id, deployment.name, populations[deployment.id])
        for deployment in deployments
    ]
    if actor.deployment_ids is None and deployments:
        rows.append(_total(actor, period))
    indicators = tuple(_column(INDICATORS[id_]) for id_ in COMPARED)
    return Comparison(
        period=period,
        period_label=period_label(period),
        suppression=suppression_of(privacy.Policy.for_role(actor.role)),
        indicators=indicators,
        rows=tuple(rows),
    )


def last_quarter(today: dt.date) -> Period:
    """The last complete calendar quarter on `today`."""
    first_month = 3 * ((today.month - 1) // 3) + 1
    end = today.replace(month=first_month, day=1) - dt.timedelta(days=1)
    return Period(end.replace(month=end.month - 2, day=1), end)


def period_label(period: Period) -> str:
    """ "T3 2026", "mars 2026", "2026", "depuis le début" or "du … au …"."""
    start, end = period.start, period.end
    if start is None and end is None:
        return _("depuis le début")
    if start is not None and end is not None and on_the_grid(start, end):
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        if months == 12:
            return str(start.year)
        if months == 3:
            return _("T%(quarter)s %(year)s", quarter=(start.month + 2) // 3, year=start.year)
        return format_date(start, "MMMM y")
    if start is None:
        return _("jusqu'au %(end)s", end=format_date(end, "long"))
    if end is None:
        return _("depuis le %(start)s", start=format_date(start, "long"))
    return _(
        "du %(start)s au %(end)s", start=format_date(start, "long"), end=format_date(end, "long")
    )


def deployment_populations(ids: list[int]) -> dict[int, int | None]:
    """Each deployment's population: its communes, and its arrondissements outside them;
    None when one of them has no population, or when it covers none."""
    rows = db.session.execute(
        sa.select(
            deployment_territories.c.deployment_id,
            Territory.id,
            Territory.level,
            Territory.parent_id,
            Territory.population,
        )
        .join(Territory, Territory.id == deployment_territories.c.territory_id)
        .where(
            deployment_territories.c.deployment_id.in_(ids),
            Territory.level.in_(("commune", "arrondissement")),
        )
    ).all()
    communes = {(row.deployment_id, row.id) for row in rows if row.level == "commune"}
    counted: dict[int, list] = {id_: [] for id_ in ids}
    for row in rows:
        inside = row.level == "arrondissement" and (row.deployment_id, row.parent_id) in communes
        if not inside:
            counted[row.deployment_id].append(row.population)
    return {
        id_: None if not found or None in found else sum(found) for id_, found in counted.items()
    }


# Inside -----------------------------------------------------------------------------------------


def _deployments(actor: Actor, ids) -> list[Deployment]:
    query = sa.select(Deployment).where(deployments_within(actor, ACTION)).order_by(Deployment.name)
    if ids is None:
        return list(db.session.scalars(query))
    wanted = list(dict.fromkeys(ids))
    if not wanted or len(wanted) > COMPARED_AT_MOST:
        raise invalid(
            "ids", _("Entre 1 et %(most)d déploiements à comparer.", most=COMPARED_AT_MOST)
        )
    found = list(db.session.scalars(query.where(Deployment.id.in_(wanted))))
    missing = set(wanted) - {deployment.id for deployment in found}
    if missing:
        named = ", ".join(str(id_) for id_ in sorted(missing))
        raise invalid(
            "ids", _("Déploiement inconnu ou hors de votre périmètre : %(ids)s.", ids=named)
        )
    return found


def _row(actor, period, deployment_id, name, population) -> ComparisonRow:
    result = compute(period, viewer_role=actor.role, ids=COMPARED, deployments=(deployment_id,))
    return ComparisonRow(deployment_id, name, False, population, _values(result, population))


def _total(actor: Actor, period: Period) -> ComparisonRow:
    """Every deployment together: the structures of all of them, the population of all."""
    every = list(db.session.scalars(sa.select(Deployment.id)))
    populations = deployment_populations(every).values()
    population = None if None in populations else sum(populations)
    result = compute(period, viewer_role=actor.role, ids=COMPARED, deployments=tuple(every))
    return ComparisonRow(None, _("Ensemble"), True, population, _values(result, population))


def _column(indicator) -> ComparedIndicator:
    return ComparedIndicator(
        indicator.id, str(indicator.label), str(indicator.unit), indicator.shape
    )


def _values(result, population: int | None) -> tuple[ComparedValue, ...]:
    values = []
    for indicator in result.indicators:
        whole = indicator.whole
        rate = per_10000(whole, population) if INDICATORS[indicator.id].shape == "count" else None
        values.append(ComparedValue(indicator.id, whole, rate))
    return tuple(values)


def per_10000(count: Figure, population: int | None) -> Figure:
    """A count per 10,000 inhabitants, to the hundredth; hidden with its count, and "non
    disponible" without a population."""
    if count.suppressed:
        return Figure(None, True, SECRET)
    if not population or not isinstance(count.value, int | float):
        return Figure(None, False, _("non disponible"))
    value = round(count.value * PER / population, 2)
    display = numbers.format_decimal(value, "#,##0.##", locale=get_locale() or "fr")
    return Figure(value, False, display)
