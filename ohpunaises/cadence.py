"""Expected reporting (DESIGN §2, partner follow-up): which periods a structure owes a report
for, which it sent (a report or a "rien à signaler" declaration), and on time or not; and the
stages of the pipeline the data can tell.

A structure reports monthly or quarterly. A period is expected when the structure follows
the programme on its first day: it joined on or before that day and was neither paused nor
gone. A structure that joins mid-period owes its first report for the next period. A period is
received when at least one report has its intervention date in it, or the structure declared
it had nothing to report; on time when the first of them reached the platform by the
deadline, `GRACE_DAYS` after the period's last day (in the programme's time zone). Only the
periods whose deadline has passed are counted: the others can still be sent on time.
"""

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import format_date
from flask_babel import lazy_gettext as _l

from .extensions import db
from .indicators.sql import year_month
from .models import NothingToReport, Report, StageChange, Structure, TrainingSession
from .vocabulary import BEFORE_AGREEMENT, OUT_OF_PROGRAMME

GRACE_DAYS = 10
MONTHS = {"monthly": 1, "quarterly": 3}
QUARTERS = (
    _l("1er trimestre %(year)s"),
    _l("2e trimestre %(year)s"),
    _l("3e trimestre %(year)s"),
    _l("4e trimestre %(year)s"),
)
# In a sentence ("rien reçu pour le 4e trimestre 2026"), as a month needs no article.
QUARTERS_IN_SENTENCE = (
    _l("le 1er trimestre %(year)s"),
    _l("le 2e trimestre %(year)s"),
    _l("le 3e trimestre %(year)s"),
    _l("le 4e trimestre %(year)s"),
)
_NAME = re.compile(r"^(\d{4})-(?:(\d{2})|Q([1-4]))$")


@dataclass(frozen=True, order=True)
class ReportingPeriod:
    """A month or a quarter a structure reports for."""

    start: dt.date
    cadence: str

    @property
    def end(self) -> dt.date:
        return self.following().start - dt.timedelta(days=1)

    @property
    def deadline(self) -> dt.date:
        """The last day a report for the period is on time."""
        return self.end + dt.timedelta(days=GRACE_DAYS)

    @property
    def name(self) -> str:
        """ "2026-11" for a month, "2026-Q4" for a quarter (what the API takes)."""
        if self.cadence == "quarterly":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start.year}-{self.start.month:02d}"

    def following(self) -> "ReportingPeriod":
        return ReportingPeriod(_add_months(self.start, MONTHS[self.cadence]), self.cadence)

    def previous(self) -> "ReportingPeriod":
        return ReportingPeriod(_add_months(self.start, -MONTHS[self.cadence]), self.cadence)

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def period_of(cadence: str, day: dt.date) -> ReportingPeriod:
    """The period of this cadence that holds the day."""
    month = day.month - (day.month - 1) % MONTHS[cadence]
    return ReportingPeriod(dt.date(day.year, month, 1), cadence)


def parse_period(name: str, cadence: str) -> ReportingPeriod | None:
    """The period named "2026-11" (monthly) or "2026-Q4" (quarterly); None if the name is not
    one of this cadence."""
    found = _NAME.match(name.strip()) if isinstance(name, str) else None
    if not found:
        return None
    year, month, quarter = found.groups()
    if cadence == "monthly" and month and 1 <= int(month) <= 12:
        return ReportingPeriod(dt.date(int(year), int(month), 1), cadence)
    if cadence == "quarterly" and quarter:
        return ReportingPeriod(dt.date(int(year), 3 * int(quarter) - 2, 1), cadence)
    return None


def period_words(period: ReportingPeriod, in_sentence: bool = False) -> str:
    """The period in words, in the current language: "novembre 2026", "4e trimestre 2026"
    ("le 4e trimestre 2026" `in_sentence`)."""
    if period.cadence == "quarterly":
        names = QUARTERS_IN_SENTENCE if in_sentence else QUARTERS
        return str(names[(period.start.month - 1) // 3]) % {"year": period.start.year}
    return format_date(period.start, "MMMM y")


def local_date(moment: dt.datetime) -> dt.date:
    """The day a timestamp falls on where the programme runs."""
    return moment.astimezone(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).date()


def local_today() -> dt.date:
    return local_date(dt.datetime.now(dt.UTC))


# One structure's record --------------------------------------------------------------------


@dataclass
class Record:
    """What the platform knows of a structure's reporting and pipeline, as of `today`."""

    structure: Structure
    today: dt.date
    changes: list[tuple[dt.date, str]] = field(default_factory=list)  # recorded stages
    receipts: dict = field(default_factory=dict)  # month start → first arrival (UTC)
    declarations: dict = field(default_factory=dict)  # period start → declared at (UTC)
    reports: int = 0
    first_report: dt.date | None = None
    last_report: dt.date | None = None
    trained_on: dt.date | None = None  # training date, or its first session

    @property
    def cadence(self) -> str:
        return self.structure.reporting_cadence

    def follows_on(self, day: dt.date) -> bool:
        """Whether the structure followed the programme on that day (joined, not out)."""
        joined = self.structure.onboarded_on
        if joined is None or day < joined:
            return False
        if not self.changes:
            return self.structure.active and self.structure.stage not in OUT_OF_PROGRAMME
        out = False
        for effective_on, stage in self.changes:
            if effective_on > day:
                break
            out = stage in OUT_OF_PROGRAMME
        return not out

    def expected(self, until: dt.date | None = None) -> list[ReportingPeriod]:
        """The periods expected whose deadline has passed by `until` (today by default)."""
        until = until or self.today
        joined = self.structure.onboarded_on
        if joined is None:
            return []
        periods, period = [], period_of(self.cadence, joined)
        while period.deadline < until:
            if self.follows_on(period.start):
                periods.append(period)
            period = period.following()
        return periods

    def received_at(self, period: ReportingPeriod) -> dt.datetime | None:
        """When the period was first received (a report in it, or a declaration), or None."""
        arrivals = [moment for month, moment in self.receipts.items() if period.contains(month)]
        arrivals += [
            moment for start, moment in self.declarations.items() if period.contains(start)
        ]
        return min(arrivals, default=None)

    def on_time(self, period: ReportingPeriod) -> bool:
        arrived = self.received_at(period)
        return arrived is not None and local_date(arrived) <= period.deadline

    def missed_in_a_row(self) -> list[ReportingPeriod]:
        """The latest expected periods missed, oldest first, back to the last one received;
        none once anything arrived for a period still open (the partner is back)."""
        if self._received_while_open():
            return []
        missed = []
        for period in reversed(self.expected()):
            if self.received_at(period) is not None:
                break
            missed.insert(0, period)
        return missed

    def _received_while_open(self) -> bool:
        """Whether a report or a declaration is for a period whose deadline has not passed."""
        period = self.current_period
        while period.previous().deadline >= self.today:
            period = period.previous()
        starts = [*self.receipts, *self.declarations]
        return any(start >= period.start for start in starts)

    @property
    def current_period(self) -> ReportingPeriod:
        return period_of(self.cadence, self.today)

    @property
    def late(self) -> bool:
        """Following, and the last period whose deadline passed was missed: one to remind."""
        return self.following and len(self.missed_in_a_row()) == 1

    @property
    def silent(self) -> bool:
        """Following, and nothing for the last two periods whose deadline passed."""
        return self.following and len(self.missed_in_a_row()) >= 2

    @property
    def following(self) -> bool:
        return self.structure.active and self.follows_on(self.today)

    @property
    def ever_received(self) -> bool:
        return bool(self.receipts or self.declarations)

    @property
    def stage(self) -> str:
        """The stage shown: the recorded one before the agreement and once out, else the one
        the data tell (silent, active, trained, or agreement signed)."""
        recorded = self.structure.stage
        if recorded in BEFORE_AGREEMENT or recorded in OUT_OF_PROGRAMME:
            return recorded
        if not self.structure.active:
            return "left"
        if self.silent:
            return "silent"
        if self.ever_received:
            return "active"
        if self.trained_on is not None and self.trained_on <= self.today:
            return "trained"
        return "agreement"


def records(structures: list[Structure], today: dt.date | None = None) -> list[Record]:
    """Each structure's record, from one grouped query per table (not per structure)."""
    today = today or local_today()
    found = {structure.id: Record(structure, today) for structure in structures}
    ids = list(found)
    if not ids:
        return []
    for chunk in _chunks(ids):
        _load_changes(found, chunk)
        _load_receipts(found, chunk)
        _load_declarations(found, chunk)
        _load_trainings(found, chunk)
    return [found[structure.id] for structure in structures]


def _chunks(ids: list[int], size: int = 500):
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _load_changes(found: dict, ids: list[int]):
    rows = db.session.execute(
        sa.select(StageChange.structure_id, StageChange.effective_on, StageChange.stage)
        .where(StageChange.structure_id.in_(ids))
        .order_by(StageChange.effective_on, StageChange.id)
    )
    for structure_id, effective_on, stage in rows:
        found[structure_id].changes.append((effective_on, stage))


def _load_receipts(found: dict, ids: list[int]):
    month = year_month(Report.intervention_date)
    rows = db.session.execute(
        sa.select(
            Report.structure_id,
            month,
            sa.func.min(Report.created_at),
            sa.func.min(Report.intervention_date),
            sa.func.max(Report.intervention_date),
            sa.func.count(),
        )
        .where(Report.structure_id.in_(ids))
        .group_by(Report.structure_id, month)
    )
    for structure_id, year_month_value, arrived, first, last, count in rows:
        record = found[structure_id]
        record.reports += count
        start = dt.date(year_month_value // 100, year_month_value % 100, 1)
        record.receipts[start] = _aware(arrived)
        record.first_report = min(filter(None, (record.first_report, first)))
        record.last_report = max(filter(None, (record.last_report, last)))


def _aware(moment) -> dt.datetime:
    # An aggregate bypasses the column type: SQLite hands back naive UTC text.
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _load_declarations(found: dict, ids: list[int]):
    rows = db.session.execute(
        sa.select(
            NothingToReport.structure_id, NothingToReport.period_start, NothingToReport.declared_at
        ).where(NothingToReport.structure_id.in_(ids))
    )
    for structure_id, start, declared_at in rows:
        found[structure_id].declarations[start] = declared_at


def _load_trainings(found: dict, ids: list[int]):
    rows = db.session.execute(
        sa.select(TrainingSession.structure_id, sa.func.min(TrainingSession.held_on))
        .where(TrainingSession.structure_id.in_(ids))
        .group_by(TrainingSession.structure_id)
    )
    first_session = dict(rows.all())
    for structure_id, record in found.items():
        dates = [record.structure.trained_on, first_session.get(structure_id)]
        record.trained_on = min(filter(None, dates), default=None)


# Counts over many structures ------------------------------------------------------------------


@dataclass
class Tally:
    """Expected periods, received and on time, with the sum of their structures' record keys
    (what protects the counts, docs/privacy.md)."""

    expected: int = 0
    received: int = 0
    on_time: int = 0
    keys: dict = field(default_factory=lambda: defaultdict(int))

    def add(self, record: Record, period: ReportingPeriod):
        key = record.structure.record_key or 0
        self.expected += 1
        self.keys["expected"] += key
        if record.received_at(period) is not None:
            self.received += 1
            self.keys["received"] += key
        if record.on_time(period):
            self.on_time += 1
            self.keys["on_time"] += key


def tally(
    all_records: list[Record], start: dt.date | None, end: dt.date | None, until: dt.date, group
) -> dict:
    """Tallies of the expected periods whose deadline passed by `until` and whose last day falls
    from `start` to `end`, for the whole (key None) and per `group(record)` when given."""
    tallies = defaultdict(Tally)
    for record in all_records:
        for period in record.expected(until):
            if (start and period.end < start) or (end and period.end > end):
                continue
            tallies[None].add(record, period)
            if group is not None:
                tallies[group(record)].add(record, period)
    return tallies
