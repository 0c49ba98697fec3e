"""The indicator dashboard (/indicateurs) and the public advocacy page (/plaidoyer)."""

import datetime as dt
from dataclasses import dataclass

import marshmallow as ma
import sqlalchemy as sa
from flask import abort, current_app, render_template, request
from flask_babel import format_date
from flask_babel import gettext as _

from .. import privacy
from ..api.indicators import IndicatorQuerySchema
from ..auth import current_actor, public, requires
from ..errors import Invalid
from ..extensions import db
from ..indicators import (
    NATIONAL_INFESTED_HOUSEHOLDS_PERCENT,
    NATIONAL_MEAN_COST_EUR,
    NATIONAL_SOURCE,
    Period,
    describe_all,
)
from ..indicators.results import Breakdown, Figure, IndicatorResult, Part, Result
from ..models import Territory
from ..permissions import Actor
from ..ratelimits import figures_limit
from ..usecases.indicators import partners_by_commune, read_indicators, territory_named
from ..vocabulary import ACTIONS, STRUCTURE_KINDS, TERRITORY_LEVELS
from . import bp, charts
from .periods import period_choices, period_of

HEADLINES = (
    ("activity", ("reports", "distinct_dwellings", "people_reached")),
    ("vulnerability", ("share_vulnerable", "share_social_housing", "share_in_qpv")),
    (
        "outcome",
        ("resolution_rate", "median_days_to_resolution", "reinfestation_rate_12m"),
    ),
    ("cost", ("mean_cost_total", "mean_cost_household", "share_non_chemical")),
    (
        "essaimage",
        (
            "active_structures",
            "silent_structures",
            "communes_covered",
            "population_share_covered",
            "training_sessions",
            "people_trained",
            "median_days_to_first_report",
            "expected_reports",
            "received_reports",
            "completeness_rate",
            "timeliness_rate",
        ),
    ),
    ("advocacy", ("reports_per_10000", "qpv_rate_ratio")),
)
TERRITORY_COLUMNS = (
    "reports",
    "reports_per_10000",
    "share_vulnerable",
    "resolution_rate",
    "active_structures",
    "completeness_rate",
    "first_report_by_territory",
)
PUBLIC_FIGURES = (
    "reports",
    "people_reached",
    "share_vulnerable",
    "share_social_housing",
    "share_in_qpv",
    "qpv_rate_ratio",
    "reports_per_10000",
    "resolution_rate",
    "mean_cost_total",
    "mean_cost_household",
    "share_non_chemical",
    "communes_covered",
    "population_share_covered",
    "active_structures",
    "training_sessions",
    "people_trained",
)


def default_period(today: dt.date) -> Period:
    """From the first of January of last year to today: enough quarters to see a trend."""
    return Period(dt.date(today.year - 1, 1, 1), today)


def read_filters(args) -> tuple[dict, dict]:
    """The dashboard's filters from the query string, and the errors per field."""
    given = {key: value for key, value in args.items() if value.strip() and key != "periode"}
    given.setdefault("level", "commune")
    try:
        return IndicatorQuerySchema().load(given), {}
    except ma.ValidationError as error:
        return {}, {key: " ".join(map(str, v)) for key, v in error.normalized_messages().items()}


def territory_options() -> list:
    query = sa.select(Territory.code, Territory.name, Territory.level).order_by(
        Territory.level, Territory.code
    )
    return [
        (row.code, f"{row.name} ({TERRITORY_LEVELS[row.level]})")
        for row in db.session.execute(query)
    ]


@bp.get("/indicateurs")
@requires("indicator.read")
@figures_limit()
def indicators():
    actor = current_actor()
    filters, errors = read_filters(request.args)
    territory = None
    try:
        territory = territory_named(filters.get("territory"))
    except Invalid as error:
        errors.update(error.errors)
    protected = not privacy.reads_raw(actor.role)
    context = {"errors": errors, "form": request.args, "options": territory_options()}
    context.update(levels=TERRITORY_LEVELS, protected=protected)
    if protected:
        context["choices"] = period_choices(dt.date.today())
    try:
        period = asked_period(filters, protected)
        result = read_indicators(actor, period, territory, filters.get("level", "commune"))
    except Invalid as error:
        errors.update({key: str(message) for key, message in error.errors.items()})
    if errors:
        return render_template("web/indicators.html", **context), 422
    context.update(dashboard(actor, result, period, territory))
    return render_template("web/indicators.html", **context)


def asked_period(filters: dict, protected: bool) -> Period:
    """The period of the query string: a choice of the list for protected figures (the whole
    history by default), dates otherwise (since the first of January of last year)."""
    if protected and "periode" in request.args:
        return Period(*period_of(request.args["periode"]))
    default = Period() if protected else default_period(dt.date.today())
    return Period(filters.get("date_from", default.start), filters.get("date_to", default.end))


def dashboard(actor: Actor, result: Result, period: Period, territory) -> dict:
    """Everything the dashboard shows, from one result of `read_indicators` for `actor`."""
    shown = {indicator.id: indicator for indicator in result.indicators}
    definitions = {item["id"]: item for item in describe_all()}
    headlines = [
        (definitions[ids[0]]["theme_label"], [figure(shown, definitions, id_) for id_ in ids])
        for _theme, ids in HEADLINES
    ]
    trend = quarter_items(shown["reports_by_quarter"].whole)
    actions = labelled_parts(shown["reports_by_action"].whole, ACTIONS)
    kinds = labelled_parts(shown["reports_by_structure_kind"].whole, STRUCTURE_KINDS)
    return {
        "result": result,
        "period": period,
        "period_text": period_text(period),
        "definitions": definitions,
        "shown": shown,
        "headlines": headlines,
        "trend": trend,
        "trend_chart": charts.vertical_bars(trend),
        "actions": actions,
        "actions_chart": charts.horizontal_bars(actions),
        "kinds": kinds,
        "kinds_chart": charts.horizontal_bars(kinds),
        "onboarded": onboarded_table(shown["structures_onboarded_by_quarter"].whole),
        "territory_columns": [c for c in TERRITORY_COLUMNS if shown[c].territories],
        "rows": territory_rows(shown),
        "spread": spread(actor, period, territory, result),
        "legend": privacy.legend(result.suppression.k) if result.suppression.applied else None,
        "structure_kinds": STRUCTURE_KINDS,
    }


@dataclass(frozen=True)
class Headline:
    """One headline figure with what it means."""

    indicator: IndicatorResult
    definition: dict
    cell: Figure


def figure(shown: dict, definitions: dict, id_: str) -> Headline:
    """The headline of indicator `id_`, from the indicators shown by id."""
    return Headline(shown[id_], definitions[id_], shown[id_].whole)


def period_text(period: Period) -> str:
    if period.start is None and period.end is None:
        return _("depuis le début du programme")
    end = format_date(period.end, "long") if period.end else _("aujourd'hui")
    if period.start is None:
        return _("depuis le début du programme jusqu'au %(end)s", end=end)
    return _("du %(start)s au %(end)s", start=format_date(period.start, "long"), end=end)


def quarter_label(name: str) -> str:
    return _("T%(quarter)s %(year)s", quarter=name[-1], year=name[:4])


def quarter_items(breakdown: Breakdown) -> list[tuple[str, Part]]:
    return [(quarter_label(part.category), part) for part in breakdown.parts]


def labelled_parts(breakdown: Breakdown, vocabulary: dict) -> list[tuple[str, Part]]:
    """The parts of a breakdown that are not zero, with their French labels."""
    return [(str(vocabulary[part.category]), part) for part in breakdown.parts if part.value != 0]


def onboarded_table(breakdown: Breakdown) -> list[tuple[str, dict[str, Part]]]:
    """Per quarter, its parts by structure kind."""
    quarters = {}
    for part in breakdown.parts:
        quarters.setdefault(part.category, {})[part.subcategory] = part
    return [(quarter_label(quarter), kinds) for quarter, kinds in quarters.items()]


def territory_rows(shown: dict) -> list[dict]:
    """One row per territory of the level, with the figures of the territory columns."""
    rows = {}
    for column in TERRITORY_COLUMNS:
        for row in shown[column].territories:
            entry = rows.setdefault(row.territory.id, {"territory": row.territory})
            entry[column] = row.figure
    return list(rows.values())


def spread(actor: Actor, period: Period, territory, result: Result) -> dict:
    """The spread timeline: per commune, its first partner and its first report."""
    if result.level == "commune":
        firsts = result
    else:
        ids = ["first_report_by_territory"]
        firsts = read_indicators(actor, period, territory, "commune", ids=ids)
    indicator = firsts.indicator("first_report_by_territory")
    partners = partners_by_commune(actor, period, territory)
    rows = []
    for row in indicator.territories:
        first_report = _as_date(row.figure)
        first_partner = partners.get(row.territory.id)
        if first_report is None and first_partner is None and not row.figure.suppressed:
            continue
        rows.append(
            {
                "label": row.territory.name,
                "first_report": first_report,
                "first_partner": first_partner,
                "report_text": row.figure.display,
                "partner_text": first_partner.isoformat() if first_partner else "—",
            }
        )
    rows.sort(key=lambda r: (r["first_partner"] or r["first_report"] or dt.date.max, r["label"]))
    days = [d for r in rows for d in (r["first_report"], r["first_partner"]) if d]
    chart = charts.timeline(rows, min(days), max(days)) if days else None
    return {"rows": rows, "chart": chart}


def _as_date(cell: Figure) -> dt.date | None:
    if cell.suppressed or not cell.value:
        return None
    return dt.date.fromisoformat(cell.value)


# The public advocacy page --------------------------------------------------------------------


@bp.get("/plaidoyer")
@public("indicator.read")
@figures_limit()
def advocacy():
    if not current_app.config.get("PUBLIC_PAGE"):
        abort(404)
    today = dt.date.today()
    period = Period()  # the whole history: the public reads periods of the calendar
    result = read_indicators(Actor.public(), period)
    shown = {indicator.id: indicator for indicator in result.indicators}
    definitions = {item["id"]: item for item in describe_all()}
    trend = quarter_items(shown["reports_by_quarter"].whole)
    return render_template(
        "web/advocacy.html",
        figures=[figure(shown, definitions, id_) for id_ in PUBLIC_FIGURES],
        trend=trend,
        trend_chart=charts.vertical_bars(trend),
        period_text=period_text(period),
        computed_on=format_date(today, "long"),
        legend=privacy.legend(result.suppression.k),
        national_percent=NATIONAL_INFESTED_HOUSEHOLDS_PERCENT,
        national_cost=NATIONAL_MEAN_COST_EUR,
        national_source=NATIONAL_SOURCE,
    )
