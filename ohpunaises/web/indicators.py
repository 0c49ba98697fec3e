"""The indicator dashboard (/indicateurs) and the public advocacy page (/plaidoyer)."""

import datetime as dt
import functools
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlencode

import marshmallow as ma
import sqlalchemy as sa
from flask import abort, current_app, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _

from .. import privacy
from ..api.indicators import IndicatorQuerySchema
from ..auth import current_actor, public, requires
from ..errors import Invalid, invalid
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
from ..territories import territory_by_code
from ..usecases.indicators import partners_by_commune, read_indicators
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
SEARCH_KEY = "recherche_territoire"  # the territory table's search, in the query string
PAGE_KEY = "page_territoires"  # and its page
ROWS_PER_PAGE = 100
LIST_LIMIT = 500  # territories beyond which the territory filter is typed, not picked
SPREAD_ROWS = 200  # communes of the spread timeline shown on the page
NAMESAKES_SHOWN = 10
CODE_LENGTH = Territory.code.type.length
LIGATURES = str.maketrans({"œ": "oe", "æ": "ae"})  # kept whole by Unicode decomposition


def default_period(today: dt.date) -> Period:
    """From the first of January of last year to today: enough quarters to see a trend."""
    return Period(dt.date(today.year - 1, 1, 1), today)


def read_filters(args) -> tuple[dict, dict]:
    """The dashboard's filters from the query string, and the errors per field (the territory,
    the period list and the territory table's search and page are read apart)."""
    apart = ("periode", "territory", SEARCH_KEY, PAGE_KEY)
    given = {key: value for key, value in args.items() if value.strip() and key not in apart}
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


def territory_filter(territory: Territory | None, typed: str) -> dict:
    """The territory field: a list to pick from while territories are few (`options`), a text
    field for a code or a name beyond (`options` None), and its value."""
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Territory))
    options = territory_options() if count <= LIST_LIMIT else None
    return {"options": options, "territory_value": territory.code if territory else typed}


def territory_asked(text: str) -> Territory | None:
    """The territory of the filter, by its code or by its full name; None for none asked.

    Invalid when no territory has that code or name, or when several have that name."""
    text = text.strip()
    if not text:
        return None
    territory = territory_by_code(text) if len(text) <= CODE_LENGTH else None
    if territory is not None:
        return territory
    namesakes = territories_named(text)
    if len(namesakes) == 1:
        return namesakes[0]
    if not namesakes:
        raise invalid("territory", unknown_territory(text))
    raise invalid("territory", several_territories(text, namesakes))


def territories_named(text: str) -> list[Territory]:
    """The territories whose name is `text`, as written or else case, accents and
    punctuation aside (read from every name: slower, and only when the first fails)."""
    exact = sa.select(Territory).where(Territory.name == text).order_by(Territory.code)
    found = list(db.session.scalars(exact))
    wanted = folded(text)
    if found or not wanted:
        return found
    names = db.session.execute(sa.select(Territory.id, Territory.name))
    ids = [row.id for row in names if folded(row.name) == wanted]
    query = sa.select(Territory).where(Territory.id.in_(ids)).order_by(Territory.code)
    return list(db.session.scalars(query)) if ids else []


def unknown_territory(text: str) -> str:
    return _(
        "Aucun territoire n'a ce code ni ce nom : « %(text)s ». Saisissez un code INSEE "
        "(par exemple 69123), un code de QPV ou le nom complet d'un territoire.",
        text=text[:60],
    )


def several_territories(text: str, namesakes: list[Territory]) -> str:
    listed = ", ".join(
        f"{t.code} ({TERRITORY_LEVELS[t.level]})" for t in namesakes[:NAMESAKES_SHOWN]
    )
    if len(namesakes) > NAMESAKES_SHOWN:
        listed += ", …"
    return _(
        "%(count)s territoires s'appellent « %(text)s » : %(codes)s. Saisissez le code de "
        "celui que vous voulez.",
        count=len(namesakes),
        text=text[:60],
        codes=listed,
    )


@functools.lru_cache(maxsize=65536)
def folded(text: str) -> str:
    """The text as searched: lower case, without accents, words apart.

    « Saint-Étienne » and « saint etienne » fold to the same text."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.findall(r"[^\W_]+", plain.casefold().translate(LIGATURES)))


@bp.get("/indicateurs")
@requires("indicator.read")
@figures_limit()
def indicators():
    actor = current_actor()
    filters, errors = read_filters(request.args)
    territory = None
    try:
        territory = territory_asked(request.args.get("territory", ""))
    except Invalid as error:
        errors.update(error.errors)
    protected = not privacy.reads_raw(actor.role)
    context = {"errors": errors, "form": request.args}
    context.update(territory_filter(territory, request.args.get("territory", "")))
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
    kept = kept_filters(request.args, territory)
    columns = context["territory_columns"]
    context["table"] = territory_table(context["shown"], columns, request.args, kept)
    context["search_key"] = SEARCH_KEY
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
        "spread": spread(actor, period, territory, result),
        "spread_source": spread_source(period, territory),
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


def territory_row(shown: dict, columns: list[str], index: int) -> dict:
    """The row of the territory at `index`, with the figures of the territory columns: every
    indicator lists the territories of the level in the same order."""
    row = {"territory": shown[columns[0]].territories[index].territory}
    for column in columns:
        row[column] = shown[column].territories[index].figure
    return row


@dataclass(frozen=True)
class TerritoryTable:
    """One page of the "Par territoire" table, and what its search, summary and links need."""

    rows: list[dict]
    count: int
    search: str
    page: int
    pages: int
    summary: str
    moved: str | None
    kept: list[tuple[str, str]]
    previous_url: str | None
    next_url: str | None
    clear_url: str


def kept_filters(args, territory: Territory | None) -> list[tuple[str, str]]:
    """The page's filters, as its table's links and search form carry them along (the
    territory by its code, however it was typed)."""
    table_keys = ("territory", SEARCH_KEY, PAGE_KEY)
    kept = [
        (key, value)
        for key, value in args.items(multi=True)
        if value.strip() and key not in table_keys
    ]
    if territory is not None:
        kept.append(("territory", territory.code))
    return kept


def territory_table(shown: dict, columns: list[str], args, kept) -> TerritoryTable:
    """The page of the table asked: territories matching the search, 100 a page.

    The figures are already protected: a page only cuts them, so a hidden cell stays hidden.
    Only the page's figures are read, and the names of all when searching."""
    listed = shown[columns[0]].territories if columns else ()
    search = args.get(SEARCH_KEY, "").strip()[:100]
    wanted = folded(search)
    positions = range(len(listed))
    if wanted:
        positions = [n for n, row in enumerate(listed) if matches(row.territory, wanted)]
    pages = max(1, -(-len(positions) // ROWS_PER_PAGE))
    asked = page_number(args.get(PAGE_KEY, ""))
    page = min(asked or 1, pages)
    start = (page - 1) * ROWS_PER_PAGE
    rows = [territory_row(shown, columns, n) for n in positions[start : start + ROWS_PER_PAGE]]
    searched = [*kept, (SEARCH_KEY, search)] if wanted else kept
    return TerritoryTable(
        rows=rows,
        count=len(listed),
        search=search,
        page=page,
        pages=pages,
        summary=table_summary(start, len(rows), len(positions), search if wanted else ""),
        moved=moved_notice(page, pages) if args.get(PAGE_KEY) and asked != page else None,
        kept=kept,
        previous_url=page_url(searched, page - 1) if page > 1 else None,
        next_url=page_url(searched, page + 1) if page < pages else None,
        clear_url=page_url(kept, 1),
    )


def matches(territory, wanted: str) -> bool:
    """Whether the territory's name or code holds the folded text searched (any, if none)."""
    return not wanted or wanted in folded(territory.name) or wanted in folded(territory.code)


def page_number(text: str) -> int | None:
    """The page asked, a whole number from 1; None when none or not one."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        return None
    return int(text) or None


def page_url(kept: list[tuple[str, str]], page: int) -> str:
    """The dashboard with these filters, at this page of its territory table."""
    query = [*kept, (PAGE_KEY, str(page))] if page > 1 else kept
    return f"{url_for('web.indicators')}?{urlencode(query)}#territories-heading"


def table_summary(start: int, shown: int, total: int, search: str) -> str:
    if not total:
        return _("Aucun territoire ne correspond à « %(search)s ».", search=search)
    numbers = {
        "first": privacy.format_value(start + 1),
        "last": privacy.format_value(start + shown),
        "total": privacy.format_value(total),
    }
    if search:
        return _(
            "Territoires %(first)s à %(last)s sur %(total)s correspondant à « %(search)s ».",
            search=search,
            **numbers,
        )
    return _("Territoires %(first)s à %(last)s sur %(total)s.", **numbers)


def moved_notice(page: int, pages: int) -> str:
    return _(
        "La page demandée n'existe pas : voici la page %(page)s sur %(pages)s.",
        page=privacy.format_value(page),
        pages=privacy.format_value(pages),
    )


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
    shown = rows[:SPREAD_ROWS]
    days = [d for r in shown for d in (r["first_report"], r["first_partner"]) if d]
    chart = charts.timeline(shown, min(days), max(days)) if days else None
    left_out = len(rows) - len(shown)
    return {"rows": shown, "chart": chart, "left_out": spread_left_out(left_out, len(rows))}


def spread_left_out(left_out: int, total: int) -> str | None:
    """The sentence under a spread timeline cut to its first communes."""
    if not left_out:
        return None
    return _(
        "Seules les %(shown)s premières communes de la chronologie sont affichées, sur "
        "%(total)s : les %(left_out)s autres n'y figurent pas. L'API des indicateurs donne la "
        "date du premier signalement de chaque commune.",
        shown=privacy.format_value(total - left_out),
        total=privacy.format_value(total),
        left_out=privacy.format_value(left_out),
    )


def spread_source(period: Period, territory) -> str:
    """The API address of every commune's first report, for the period and territory shown."""
    query = {"ids": "first_report_by_territory", "level": "commune"}
    if period.start:
        query["from"] = period.start.isoformat()
    if period.end:
        query["to"] = period.end.isoformat()
    if territory is not None:
        query["territory"] = territory.code
    return url_for("indicators.Indicators", **query)


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
