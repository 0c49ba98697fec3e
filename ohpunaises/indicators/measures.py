"""The figures indicators are made of, from SQL aggregates over a period and a territory.

Nothing here loads reports into Python: every query groups in the database and returns
one row per territory (or per territory and category).
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from .. import cadence
from ..extensions import db
from ..models import Report, ReportAction, ReportStatusChange, Structure, Territory, TrainingSession
from .definitions import ACTIVE_DAYS, CLOSED_STATUSES, REINFESTATION_DAYS, TREATMENTS
from .sql import (
    cents,
    count_where,
    days_between,
    key_where,
    quarter_name,
    utc_date,
    year_quarter,
)
from .table import Counts, Slots, Values


@dataclass(frozen=True)
class Period:
    """Dates of intervention (or of sessions) from `start` to `end`, both included."""

    start: dt.date | None = None
    end: dt.date | None = None

    def as_dict(self) -> dict:
        return {
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
        }


@dataclass(frozen=True)
class Scope:
    """What to compute over: a period, a territory (None: everywhere), a level to group by,
    and the deployments whose structures count (None: every deployment)."""

    period: Period
    territory: Territory | None
    level: str | None
    reference: dt.date  # "the last 90 days" end on this day
    observed_on: dt.date = field(default_factory=dt.date.today)  # what is known of follow-ups
    deployments: tuple[int, ...] | None = None

    @property
    def report_group(self):
        return REPORT_PLACE[self.level] if self.level else None

    def report_filters(self, with_start: bool = True) -> list:
        filters = [*_territory_filter(REPORT_PLACE, self.territory), *self.by_structure(Report)]
        if self.period.start and with_start:
            filters.append(Report.intervention_date >= self.period.start)
        if self.period.end:
            filters.append(Report.intervention_date <= self.period.end)
        return filters

    def by_structure(self, model) -> list:
        """Rows of `model` (reports, sessions) whose structure belongs to the deployments."""
        if self.deployments is None:
            return []
        # Not correlated: the queries filtered may join the structures themselves.
        in_deployments = (
            sa.select(Structure.id)
            .where(Structure.deployment_id.in_(self.deployments))
            .correlate(None)
        )
        return [model.structure_id.in_(in_deployments)]

    def structure_filters(self) -> list:
        """Structures of the deployments (every one when None)."""
        if self.deployments is None:
            return []
        return [Structure.deployment_id.in_(self.deployments)]

    @property
    def home_commune_id(self) -> int | None:
        """The commune structures of this territory are based in (None: any)."""
        if self.territory is None:
            return None
        if self.territory.level == "commune":
            return self.territory.id
        return self.territory.parent_id


REPORT_PLACE = {
    "commune": Report.commune_id,
    "arrondissement": Report.arrondissement_id,
    "qpv": Report.qpv_id,
}


def _territory_filter(place: dict, territory: Territory | None) -> list:
    return [] if territory is None else [place[territory.level] == territory.id]


def as_deployments(ids) -> tuple[int, ...] | None:
    """Deployment ids as a scope keeps them: sorted, or None for every deployment."""
    return None if ids is None else tuple(sorted(set(ids)))


def reference_date(period: Period, given: dt.date | None = None) -> dt.date:
    """The day "the last 90 days" end on: given, else the period's end if past, else today."""
    if given:
        return given
    today = dt.date.today()
    return min(period.end, today) if period.end else today


# Computed figures -----------------------------------------------------------------------------


class Figures:
    """Counts, each with its cell key (the sum of the record keys of the records it counts),
    and other values, per territory of the level (`groups`, in order) and for the whole
    (None), held by column (`indicators.table`)."""

    def __init__(self, level: str | None = None, groups: list | None = None):
        self.level, self.groups = level, groups or []
        slots = Slots(group.id for group in self.groups)
        self.counts, self.values = Counts(slots), Values(slots)
        # Cells as each policy reads them, and indicators as each policy and locale read
        # them, kept with their figures (see compute).
        self.protected: dict = {}
        self.presented: dict = {}

    def put(self, key: tuple, count: int, cell_key) -> None:
        """Keep the count of key (family, *categories, territory id or None)."""
        self.counts.put(key[:-1], key[-1], int(count or 0), int(cell_key or 0))

    def count(self, family: str, group=None, *categories) -> int:
        return self.counts.get((family, *categories), group)

    def value(self, name: str, group=None):
        return self.values.get((name, group))


STREAMED_ROWS = 10_000


def _groupings(group):
    return [None] if group is None else [None, group]


def _aggregate(query, group=None, dims=()):
    """Rows of an aggregate query as (territory id or None, *dimension values), row, read as
    they come: a country's communes by quarter are hundreds of thousands of rows, which
    were never all needed at once."""
    dims = [dim.label(f"d{index}") for index, dim in enumerate(dims)]
    if group is not None and db.engine.dialect.name == "postgresql":
        yield from _aggregate_once(query, group, dims)
        return
    for grouping in _groupings(group):
        by = [*dims] + ([grouping.label("g")] if grouping is not None else [])
        grouped = query.add_columns(*by)
        if by:
            grouped = grouped.group_by(*by)
        for row in _streamed(grouped):
            mapping = row._mapping
            key_group = mapping["g"] if grouping is not None else None
            if grouping is not None and key_group is None:
                continue  # outside every territory of the level; counted in the whole
            yield (key_group, *(mapping[dim.name] for dim in dims)), mapping


def _aggregate_once(query, group, dims):
    """The whole and the territories in one pass over the rows (PostgreSQL's GROUPING SETS)."""
    grouping = group.label("g")
    sets = sa.func.grouping_sets(sa.tuple_(*dims), sa.tuple_(*dims, grouping))
    grouped = query.add_columns(*dims, grouping, sa.func.grouping(group).label("whole"))
    for row in _streamed(grouped.group_by(sets)):
        mapping = row._mapping
        if not mapping["whole"] and mapping["g"] is None:
            continue  # outside every territory of the level; counted in the whole
        key_group = None if mapping["whole"] else mapping["g"]
        yield (key_group, *(mapping[dim.name] for dim in dims)), mapping


def _streamed(query):
    """The rows of a query fetched a batch at a time (a server-side cursor on PostgreSQL)."""
    return db.session.execute(query.execution_options(yield_per=STREAMED_ROWS))


def _store(figures: Figures, rows, counts=(), values=()):
    """From aggregate rows: each count family's count and cell key (its column
    `<family>_key`), and each value."""
    for (group, *categories), row in rows:
        for family in counts:
            figures.put((family, *categories, group), row[family], row[f"{family}_key"])
        for name in values:
            figures.values[(name, group)] = row[name]


def counted(name: str, record_key, condition=None) -> list:
    """How many rows (meeting `condition`) as `name`, and their cell key as `name_key`."""
    if condition is None:
        return [sa.func.count().label(name), sa.func.sum(record_key).label(f"{name}_key")]
    return [
        count_where(condition).label(name),
        key_where(condition, record_key).label(f"{name}_key"),
    ]


VULNERABLE = sa.or_(
    Report.vuln_minimum_benefits,
    Report.vuln_isolated_elderly,
    Report.vuln_disability,
    Report.vuln_young_children,
    Report.vuln_psychological_distress,
)
# A dwelling is a structure's dwelling key; a report without a key is a dwelling of its own.
# Grouped by these columns rather than by a string made of them: building a million strings
# cost more than the rest of the aggregate.
DWELLING = (
    Report.structure_id,
    Report.dwelling_key,
    sa.case((Report.dwelling_key.is_(None), Report.id)),
)


def _treatments():
    """One row per treated report, telling whether a chemical was among its treatments."""
    chemical = ReportAction.action == "chemical_treatment"
    return (
        sa.select(
            ReportAction.report_id.label("report_id"),
            sa.func.max(sa.case((chemical, 1), else_=0)).label("chemical"),
        )
        .where(ReportAction.action.in_(TREATMENTS))
        .group_by(ReportAction.report_id)
        .subquery()
    )


def _report_measures(scope: Scope, figures: Figures):
    # Joined once rather than probed per report: correlated EXISTS cost ten times more.
    treatments = _treatments()
    treated = treatments.c.report_id.is_not(None)
    key = Report.record_key
    query = (
        sa.select(
            *counted("reports", key),
            *counted("vulnerable", key, VULNERABLE),
            *counted("social_housing", key, Report.housing == "social"),
            *counted("in_qpv", key, Report.qpv_id.is_not(None)),
            *counted("resolved", key, Report.status == "resolved"),
            *counted("closed", key, Report.status.in_(CLOSED_STATUSES)),
            *counted("cost_total_n", key, Report.cost_total.is_not(None)),
            cents(Report.cost_total).label("cost_total_cents"),
            *counted("cost_household_n", key, Report.cost_household.is_not(None)),
            cents(Report.cost_household).label("cost_household_cents"),
            *counted("treated", key, treated),
            *counted("treated_non_chemical", key, treatments.c.chemical == 0),
        )
        .select_from(Report)
        .outerjoin(treatments, treatments.c.report_id == Report.id)
        .where(*scope.report_filters())
    )
    counts = (
        "reports",
        "vulnerable",
        "social_housing",
        "in_qpv",
        "resolved",
        "closed",
        "cost_total_n",
        "cost_household_n",
        "treated",
        "treated_non_chemical",
    )
    values = ("cost_total_cents", "cost_household_cents")
    _store(figures, _aggregate(query, scope.report_group), counts, values)


def _people_reached(scope: Scope, figures: Figures):
    """People reached and distinct dwellings, from one grouping of reports by dwelling."""
    for grouping in _groupings(scope.report_group):
        # A dwelling's key: its first report's, among those the cell counts.
        columns = [
            sa.func.max(Report.household_size).label("size"),
            sa.func.min(Report.record_key).label("key"),
        ]
        by = [column.label(f"dwelling_{i}") for i, column in enumerate(DWELLING)]
        if grouping is not None:
            by.append(grouping.label("g"))
        dwellings = (
            sa.select(*columns, *by)
            .select_from(Report)
            .where(*scope.report_filters())
            .group_by(*by)
            .subquery()
        )
        query = sa.select(
            sa.func.coalesce(sa.func.sum(dwellings.c.size), 0).label("people"),
            sa.func.count().label("dwellings"),
            sa.func.sum(dwellings.c.key).label("key"),
        )
        if grouping is not None:
            query = query.add_columns(dwellings.c.g).group_by(dwellings.c.g)
        for row in db.session.execute(query):
            group = row.g if grouping is not None else None
            if grouping is None or group is not None:
                # People are counted over the same dwellings: the same records, the same key.
                figures.put(("people_reached", group), row.people, row.key)
                figures.put(("dwellings", group), row.dwellings, row.key)


def _medians(
    figures: Figures, name: str, count_family: str, value, record_key, where, group, select_from
):
    """The median of `value` and how many values it rests on, for the whole and per group.

    Row numbers over the sorted values work alike on PostgreSQL and SQLite, which has no
    percentile function; only one or two rows per group leave the database.
    """
    for grouping in _groupings(group):
        labelled = [value.label("d"), record_key.label("k")]
        labelled += [grouping.label("g")] if grouping is not None else []
        values = (
            sa.select(*labelled).select_from(select_from).where(*where, value.is_not(None))
        ).subquery()
        partition = values.c.g if grouping is not None else None
        ranked = sa.select(
            values,
            sa.func.row_number().over(partition_by=partition, order_by=values.c.d).label("rn"),
            sa.func.count().over(partition_by=partition).label("n"),
            sa.func.sum(values.c.k).over(partition_by=partition).label("key"),
        ).subquery()
        middle = sa.or_(ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.rn == (ranked.c.n + 2) // 2)
        query = sa.select(
            sa.func.avg(ranked.c.d).label("median"),
            sa.func.max(ranked.c.n).label("n"),
            sa.func.max(ranked.c.key).label("key"),
        ).where(middle)
        if grouping is not None:
            query = query.add_columns(ranked.c.g).group_by(ranked.c.g)
        for row in db.session.execute(query):
            key = row.g if grouping is not None else None
            if grouping is not None and key is None:
                continue
            figures.put((count_family, key), row.n, row.key)
            figures.values[(name, key)] = (
                None if row.median is None else round(float(row.median), 1)
            )


def _resolution_delays(scope: Scope, figures: Figures):
    _medians(
        figures,
        "median_days_to_resolution",
        "resolution_timed",
        days_between(Report.intervention_date, Report.resolved_on),
        Report.record_key,
        [*scope.report_filters(), Report.resolved_on >= Report.intervention_date],
        scope.report_group,
        Report,
    )


def _reinfestations(scope: Scope, figures: Figures):
    # Only resolutions followed for a whole year by now can tell; a past period's resolutions
    # are followed beyond its end.
    followed_until = scope.observed_on - dt.timedelta(days=REINFESTATION_DAYS)
    followed = [*scope.report_filters(), Report.resolved_on <= followed_until]
    # Sets joined once rather than EXISTS probed per resolution: a million reports made
    # hundreds of thousands of random index probes.
    later = aliased(Report)
    seen_again = (
        sa.select(Report.id.label("report_id"))
        .join(
            later,
            sa.and_(
                later.structure_id == Report.structure_id,
                later.dwelling_key == Report.dwelling_key,
                later.intervention_date > Report.resolved_on,
                days_between(Report.resolved_on, later.intervention_date) <= REINFESTATION_DAYS,
            ),
        )
        .where(*followed)
    )
    marked_reinfested = (
        sa.select(Report.id.label("report_id"))
        .join(ReportStatusChange, ReportStatusChange.report_id == Report.id)
        .where(
            *followed,
            ReportStatusChange.status == "reinfested",
            days_between(Report.resolved_on, utc_date(ReportStatusChange.changed_at)).between(
                0, REINFESTATION_DAYS
            ),
        )
    )
    reinfested = sa.union(seen_again, marked_reinfested).subquery()
    query = (
        sa.select(
            *counted("followed_12m", Report.record_key),
            *counted("reinfested_12m", Report.record_key, reinfested.c.report_id.is_not(None)),
        )
        .select_from(Report)
        .outerjoin(reinfested, reinfested.c.report_id == Report.id)
        .where(*followed)
    )
    _store(figures, _aggregate(query, scope.report_group), ("followed_12m", "reinfested_12m"))


def _report_breakdowns(scope: Scope, figures: Figures):
    count = sa.select(*counted("n", Report.record_key))
    by_action = count.select_from(Report).join(ReportAction).where(*scope.report_filters())
    by_kind = count.select_from(Report).join(Structure).where(*scope.report_filters())
    by_quarter = count.select_from(Report).where(*scope.report_filters())
    for family, query, dims in (
        ("action", by_action, [ReportAction.action]),
        ("structure_kind", by_kind, [Structure.kind]),
        ("quarter", by_quarter, [year_quarter(Report.intervention_date)]),
    ):
        for (group, category), row in _aggregate(query, scope.report_group, dims):
            if family == "quarter":
                category = quarter_name(category)
            figures.put((family, category, group), row["n"], row["n_key"])


def _first_reports(scope: Scope, figures: Figures):
    query = (
        sa.select(
            sa.func.min(Report.intervention_date).label("first_report"),
            *counted("reports_to_end", Report.record_key),
        )
        .select_from(Report)
        .where(*scope.report_filters(with_start=False))
    )
    _store(figures, _aggregate(query, scope.report_group), ("reports_to_end",), ("first_report",))


def _active_window(scope: Scope):
    start = scope.reference - dt.timedelta(days=ACTIVE_DAYS - 1)
    return Report.intervention_date.between(start, scope.reference)


def _active_structures(scope: Scope, figures: Figures):
    """Structures with a report in the last 90 days, and their cell key (their own keys)."""
    where = [
        *_territory_filter(REPORT_PLACE, scope.territory),
        *scope.by_structure(Report),
        _active_window(scope),
    ]
    for grouping in _groupings(scope.report_group):
        by = [Report.structure_id.label("structure_id")]
        by += [grouping.label("g")] if grouping is not None else []
        active = sa.select(*by).where(*where).group_by(*by).subquery()
        query = sa.select(
            sa.func.count().label("active_structures"),
            sa.func.sum(Structure.record_key).label("active_structures_key"),
        ).join_from(active, Structure, Structure.id == active.c.structure_id)
        if grouping is not None:
            query = query.add_columns(active.c.g).group_by(active.c.g)
        rows = (
            ((row.g if grouping is not None else None,), row._mapping)
            for row in db.session.execute(query)
            if grouping is None or row.g is not None
        )
        _store(figures, rows, ("active_structures",))


def _structure_filters(scope: Scope) -> list:
    filters = scope.structure_filters()
    if scope.territory is not None:
        filters.append(Structure.commune_id == scope.home_commune_id)
    return filters


def _structure_group(scope: Scope):
    # A structure has a home commune only: no value of its own per arrondissement or QPV.
    return Structure.commune_id if scope.level == "commune" else None


def _in_period(column, period: Period) -> list:
    filters = []
    if period.start:
        filters.append(column >= period.start)
    if period.end:
        filters.append(column <= period.end)
    return filters


def _structure_measures(scope: Scope, figures: Figures):
    reported_lately = (
        sa.exists()
        .where(Report.structure_id == Structure.id, _active_window(scope))
        .correlate(Structure)
    )
    onboarded_before = scope.reference - dt.timedelta(days=ACTIVE_DAYS)
    silent = (
        sa.select(*counted("silent_structures", Structure.record_key))
        .select_from(Structure)
        .where(
            *_structure_filters(scope),
            Structure.active.is_(True),
            Structure.onboarded_on <= onboarded_before,
            ~reported_lately,
        )
    )
    _store(figures, _aggregate(silent, _structure_group(scope)), ("silent_structures",))
    onboarded = (
        sa.select(*counted("n", Structure.record_key))
        .select_from(Structure)
        .where(
            *_structure_filters(scope),
            Structure.onboarded_on.is_not(None),  # prospects have not joined yet
            *_in_period(Structure.onboarded_on, scope.period),
        )
    )
    dims = [year_quarter(Structure.onboarded_on), Structure.kind]
    totals, keys = defaultdict(int), defaultdict(int)
    for (group, quarter, kind), row in _aggregate(onboarded, _structure_group(scope), dims):
        key = ("onboarded_by_quarter", quarter_name(quarter), kind, group)
        figures.put(key, row["n"], row["n_key"])
        totals[group] += row["n"]
        keys[group] += int(row["n_key"] or 0)
    for group in {None, *totals}:
        figures.put(("onboarded", group), totals[group], keys[group])


def _first_report_delays(scope: Scope, figures: Figures):
    first = (
        sa.select(
            Report.structure_id.label("structure_id"),
            sa.func.min(Report.intervention_date).label("first_on"),
        )
        .join(Structure, Structure.id == Report.structure_id)
        .where(Report.intervention_date >= Structure.onboarded_on)
        .group_by(Report.structure_id)
        .subquery()
    )
    _medians(
        figures,
        "median_days_to_first_report",
        "first_reported_structures",
        days_between(Structure.onboarded_on, first.c.first_on),
        Structure.record_key,
        [*_structure_filters(scope), *_in_period(Structure.onboarded_on, scope.period)],
        _structure_group(scope),
        sa.join(Structure, first, first.c.structure_id == Structure.id),
    )


# Reporting: what each structure's cadence expected (ohpunaises.cadence).
REPORTING_FAMILIES = {
    "expected": "expected_reports",
    "received": "received_reports",
    "on_time": "on_time_reports",
}


def _reporting(scope: Scope, figures: Figures):
    """Expected periods, received and on time, whose deadline passed and whose last day falls
    in the period; their cell key sums their structures' record keys, once per period."""
    structures = db.session.scalars(
        sa.select(Structure)
        .where(*_structure_filters(scope), Structure.onboarded_on.is_not(None))
        .order_by(Structure.id)
    ).all()
    # What is received is known as of today: a past period's last month is counted once its
    # deadline has passed, even when the reference date is the period's end.
    until = scope.observed_on
    group = (lambda record: record.structure.commune_id) if scope.level == "commune" else None
    tallies = cadence.tally(
        cadence.records(structures, until), scope.period.start, scope.period.end, until, group
    )
    tallies.setdefault(None, cadence.Tally())
    for territory, periods in tallies.items():
        for name, family in REPORTING_FAMILIES.items():
            figures.put((family, territory), getattr(periods, name), periods.keys[name])


def _trainings(scope: Scope, figures: Figures):
    where = aliased(Territory)
    place = {
        "commune": sa.case((where.level == "commune", where.id), else_=where.parent_id),
        "arrondissement": sa.case((where.level == "arrondissement", where.id)),
        "qpv": sa.case((where.level == "qpv", where.id)),
    }
    query = (
        sa.select(
            *counted("training_sessions", TrainingSession.record_key),
            sa.func.sum(TrainingSession.participants).label("people_trained"),
            # People trained are counted over the same sessions: the same key.
            sa.func.sum(TrainingSession.record_key).label("people_trained_key"),
        )
        .select_from(TrainingSession)
        .outerjoin(Structure, Structure.id == TrainingSession.structure_id)
        .outerjoin(
            where, where.id == sa.func.coalesce(TrainingSession.territory_id, Structure.commune_id)
        )
        .where(
            *_territory_filter(place, scope.territory),
            *scope.by_structure(TrainingSession),
            *_in_period(TrainingSession.held_on, scope.period),
        )
    )
    rows = _aggregate(query, place[scope.level] if scope.level else None)
    _store(figures, rows, ("training_sessions", "people_trained"))


def _scope_communes(scope: Scope) -> dict[int, int]:
    """Population of each commune in scope, by commune id."""
    query = sa.select(Territory.id, Territory.population).where(Territory.level == "commune")
    if scope.territory is not None:
        query = query.where(Territory.id == scope.home_commune_id)
    return {row.id: row.population or 0 for row in db.session.execute(query)}


def _coverage(scope: Scope, figures: Figures):
    communes = _scope_communes(scope)
    with_reports = sa.select(Report.commune_id).where(*scope.report_filters()).distinct()
    recent = sa.exists().where(Report.structure_id == Structure.id, _active_window(scope))
    with_active = (
        sa.select(Structure.commune_id)
        .where(recent.correlate(Structure), *scope.structure_filters())
        .distinct()
    )
    covered = set(communes) & (
        set(db.session.scalars(with_reports)) | set(db.session.scalars(with_active))
    )
    population = sum(communes.values())
    covered_population = sum(communes[commune] for commune in covered)
    figures.values[("communes_covered", None)] = len(covered)
    figures.values[("communes_in_scope", None)] = len(communes)
    figures.values[("population_share_covered", None)] = (
        round(100 * covered_population / population, 1) if population else None
    )
    if scope.level == "commune":
        for commune in communes:
            figures.values[("communes_covered", commune)] = int(commune in covered)
            figures.values[("communes_in_scope", commune)] = 1


def _populations(scope: Scope, figures: Figures):
    for group in figures.groups:
        figures.values[("population", group.id)] = group.population
    whole = scope.territory.population if scope.territory else sum(_scope_communes(scope).values())
    figures.values[("population", None)] = whole
    qpv_by_commune = dict(
        db.session.execute(
            sa.select(Territory.parent_id, sa.func.sum(Territory.population))
            .where(Territory.level == "qpv")
            .group_by(Territory.parent_id)
        ).all()
    )
    if scope.territory is None or scope.territory.level == "commune":
        communes = _scope_communes(scope)
        figures.values[("qpv_population", None)] = sum(
            int(qpv_by_commune.get(commune) or 0) for commune in communes
        )
    if scope.level == "commune":
        for group in figures.groups:
            figures.values[("qpv_population", group.id)] = int(qpv_by_commune.get(group.id) or 0)


class Group(NamedTuple):
    """A territory of the level: a country's communes are 35,000 of them, kept with every
    figure of the level (a dictionary each cost three times more)."""

    id: int
    code: str
    name: str
    level: str
    population: int | None


def _groups(scope: Scope) -> list[Group]:
    """The territories of the level within the territory asked, in code order."""
    if scope.level is None:
        return []
    query = (
        sa.select(
            Territory.id, Territory.code, Territory.name, Territory.level, Territory.population
        )
        .where(Territory.level == scope.level)
        .order_by(Territory.code)
    )
    territory = scope.territory
    if territory is not None:
        if territory.level == scope.level:
            related = Territory.id == territory.id
        elif territory.level == "commune":
            related = Territory.parent_id == territory.id
        elif scope.level == "commune":
            related = Territory.id == territory.parent_id
        else:
            related = Territory.parent_id == territory.parent_id
        query = query.where(related)
    return [Group(*row) for row in db.session.execute(query)]


MEASURES = (
    _report_measures,
    _people_reached,
    _resolution_delays,
    _reinfestations,
    _report_breakdowns,
    _first_reports,
    _active_structures,
    _structure_measures,
    _first_report_delays,
    _reporting,
    _trainings,
    _coverage,
    _populations,
)


def measure(scope: Scope) -> Figures:
    """Every figure the indicators are made of, raw, from SQL aggregates."""
    if db.engine.dialect.name == "postgresql":
        # Compiling these short aggregates with JIT takes longer than running them; and
        # grouping a million reports by dwelling spills to disk within the default 4 MB.
        db.session.execute(sa.text("SET LOCAL jit = off"))
        db.session.execute(sa.text("SET LOCAL work_mem = '64MB'"))
    figures = Figures(scope.level, groups=_groups(scope))
    for run in MEASURES:
        run(scope, figures)
    return figures


def first_partners(
    period: Period, territory: Territory | None = None, deployments=None
) -> dict[int, dt.date]:
    """Per commune, the day its first partner structure of the deployments (None: any) joined,
    up to the end of the period.

    Structures are partners named in the programme, not households: no count to protect.
    """
    scope = Scope(
        period,
        territory,
        "commune",
        reference_date(period),
        deployments=as_deployments(deployments),
    )
    query = (
        sa.select(Structure.commune_id, sa.func.min(Structure.onboarded_on))
        .where(*_structure_filters(scope), Structure.onboarded_on.is_not(None))
        .group_by(Structure.commune_id)
    )
    if period.end:
        query = query.where(Structure.onboarded_on <= period.end)
    return dict(db.session.execute(query).all())
