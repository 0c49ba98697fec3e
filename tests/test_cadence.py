"""Expected reporting (DESIGN §2, partner follow-up): which periods a structure owes, which it
sent, and on time or not — at the edges of months, years, pauses and cadences.

Each test builds one structure in Lyon with known dates, and reads its record as of a given
day; the periods are written out.
"""

import datetime as dt

import pytest
import sqlalchemy as sa

from ohpunaises.cadence import parse_period, period_of, records
from ohpunaises.extensions import db
from ohpunaises.models import NothingToReport, StageChange, TrainingSession

from .conftest import make_report, make_structure

UTC = dt.UTC


@pytest.fixture
def structure(app_context):
    structure = make_structure("Régie de quartier", "69123")
    structure.onboarded_on = dt.date(2026, 1, 15)
    db.session.flush()
    return structure


def names(periods) -> list[str]:
    return [period.name for period in periods]


def record_on(structure, day: dt.date):
    db.session.flush()
    return records([structure], today=day)[0]


def report(structure, day: dt.date, arrived: dt.datetime):
    made = make_report(structure, "69123", day)
    made.created_at = arrived
    return made


def declare(structure, start: dt.date, end: dt.date, at: dt.datetime):
    db.session.add(
        NothingToReport(
            structure_id=structure.id,
            cadence=structure.reporting_cadence,
            period_start=start,
            period_end=end,
            declared_at=at,
        )
    )


def change(structure, stage: str, day: dt.date):
    structure.stage = stage
    db.session.add(StageChange(structure_id=structure.id, stage=stage, effective_on=day))


def test_periods_are_named_and_bounded_by_their_cadence():
    november = period_of("monthly", dt.date(2026, 11, 17))
    assert (november.name, november.start, november.end) == (
        "2026-11",
        dt.date(2026, 11, 1),
        dt.date(2026, 11, 30),
    )
    assert november.deadline == dt.date(2026, 12, 10)
    december = november.following()
    assert (december.end, december.following().name) == (dt.date(2026, 12, 31), "2027-01")
    assert period_of("monthly", dt.date(2024, 2, 29)).end == dt.date(2024, 2, 29)
    quarter = period_of("quarterly", dt.date(2026, 11, 17))
    assert (quarter.name, quarter.start, quarter.end) == (
        "2026-Q4",
        dt.date(2026, 10, 1),
        dt.date(2026, 12, 31),
    )
    assert quarter.deadline == dt.date(2027, 1, 10)
    assert quarter.previous().name == "2026-Q3"
    assert parse_period("2026-Q4", "quarterly") == quarter
    assert parse_period("2026-11", "monthly") == november
    for wrong, cadence in (
        ("2026-11", "quarterly"),
        ("2026-Q4", "monthly"),
        ("2026-13", "monthly"),
    ):
        assert parse_period(wrong, cadence) is None
    assert parse_period("novembre", "monthly") is None


def test_a_structure_that_joins_mid_month_owes_from_the_next_month(structure):
    # Joined on 15 January: January is not owed. February's deadline is 10 March, March's
    # 10 April: on 20 April both have passed, April's has not.
    record = record_on(structure, dt.date(2026, 4, 20))
    assert names(record.expected()) == ["2026-02", "2026-03"]
    # On the deadline itself a period can still be sent on time: not counted yet.
    assert names(record_on(structure, dt.date(2026, 4, 10)).expected()) == ["2026-02"]


def test_a_structure_that_joins_on_the_first_owes_that_month(structure):
    structure.onboarded_on = dt.date(2026, 2, 1)
    assert names(record_on(structure, dt.date(2026, 3, 11)).expected()) == ["2026-02"]


def test_reports_fall_in_the_month_of_their_intervention_across_a_year_boundary(structure):
    structure.onboarded_on = dt.date(2025, 11, 1)
    report(structure, dt.date(2025, 12, 31), dt.datetime(2026, 1, 2, 9, tzinfo=UTC))
    report(structure, dt.date(2026, 1, 1), dt.datetime(2026, 1, 2, 9, tzinfo=UTC))
    record = record_on(structure, dt.date(2026, 2, 11))
    expected = record.expected()
    assert names(expected) == ["2025-11", "2025-12", "2026-01"]
    assert [record.received_at(p) is not None for p in expected] == [False, True, True]
    assert [record.on_time(p) for p in expected] == [False, True, True]
    assert (record.first_report, record.last_report) == (dt.date(2025, 12, 31), dt.date(2026, 1, 1))


def test_on_time_is_judged_on_the_programme_s_calendar_day(structure):
    # February's deadline is 10 March. 22:30 UTC on 10 March is 23:30 in Lyon: on time;
    # 23:30 UTC is already 11 March there: late.
    structure.onboarded_on = dt.date(2026, 2, 1)
    other = make_structure("Bailleur", "69123")
    other.onboarded_on = dt.date(2026, 2, 1)
    report(structure, dt.date(2026, 2, 20), dt.datetime(2026, 3, 10, 22, 30, tzinfo=UTC))
    report(other, dt.date(2026, 2, 20), dt.datetime(2026, 3, 10, 23, 30, tzinfo=UTC))
    db.session.flush()
    first, second = records([structure, other], today=dt.date(2026, 4, 1))
    february = period_of("monthly", dt.date(2026, 2, 1))
    assert (first.on_time(february), second.on_time(february)) == (True, False)
    assert second.received_at(february) is not None


def test_a_report_for_a_past_period_sent_late_is_received_but_not_on_time(structure):
    report(structure, dt.date(2026, 2, 20), dt.datetime(2026, 4, 1, 8, tzinfo=UTC))
    record = record_on(structure, dt.date(2026, 4, 20))
    february, march = record.expected()
    assert (record.received_at(february) is not None, record.on_time(february)) == (True, False)
    assert record.received_at(march) is None
    assert names(record.missed_in_a_row()) == ["2026-03"]
    assert (record.late, record.silent) == (True, False)


def test_a_declaration_then_a_report_in_the_same_period_count_once_on_time(structure):
    declare(
        structure,
        dt.date(2026, 2, 1),
        dt.date(2026, 2, 28),
        dt.datetime(2026, 3, 2, 8, tzinfo=UTC),
    )
    report(structure, dt.date(2026, 2, 27), dt.datetime(2026, 3, 20, 8, tzinfo=UTC))
    record = record_on(structure, dt.date(2026, 3, 11))
    (february,) = record.expected()
    assert record.received_at(february) == dt.datetime(2026, 3, 2, 8, tzinfo=UTC)
    assert record.on_time(february)
    assert record.stage == "active"


def test_a_paused_structure_owes_nothing_until_it_resumes(structure):
    structure.onboarded_on = dt.date(2026, 1, 1)
    # Paused on 15 March: it followed the programme on 1 March, so March is owed; April is
    # not. Resumed on 2 May: May is not owed either (paused on its first day), June is.
    change(structure, "paused", dt.date(2026, 3, 15))
    change(structure, "agreement", dt.date(2026, 5, 2))
    record = record_on(structure, dt.date(2026, 7, 11))
    assert names(record.expected()) == ["2026-01", "2026-02", "2026-03", "2026-06"]
    # Resumed on the first of May instead: May is owed.
    db.session.execute(
        sa.update(StageChange)
        .where(StageChange.stage == "agreement")
        .values(effective_on=dt.date(2026, 5, 1))
    )
    record = record_on(structure, dt.date(2026, 7, 11))
    assert names(record.expected()) == ["2026-01", "2026-02", "2026-03", "2026-05", "2026-06"]


def test_a_paused_structure_is_neither_late_nor_silent(structure):
    change(structure, "paused", dt.date(2026, 3, 1))
    record = record_on(structure, dt.date(2026, 9, 1))
    assert names(record.expected()) == ["2026-02"]
    assert (record.following, record.late, record.silent, record.stage) == (
        False,
        False,
        False,
        "paused",
    )


def test_a_quarterly_structure_owes_whole_quarters(structure):
    structure.onboarded_on = dt.date(2026, 2, 1)
    structure.reporting_cadence = "quarterly"
    report(structure, dt.date(2026, 6, 30), dt.datetime(2026, 7, 10, 12, tzinfo=UTC))
    record = record_on(structure, dt.date(2026, 10, 11))
    # Joined in February: the first quarter is not owed. The third's deadline, 10 October,
    # has passed on the 11th.
    second, third = record.expected()
    assert (second.name, third.name) == ("2026-Q2", "2026-Q3")
    assert (record.on_time(second), record.received_at(third)) == (True, None)
    assert (record.late, record.silent) == (True, False)


def test_two_periods_missed_in_a_row_make_a_silent_structure(structure):
    structure.onboarded_on = dt.date(2026, 1, 1)
    report(structure, dt.date(2026, 1, 5), dt.datetime(2026, 1, 6, tzinfo=UTC))
    record = record_on(structure, dt.date(2026, 4, 11))
    assert names(record.missed_in_a_row()) == ["2026-02", "2026-03"]
    assert (record.late, record.silent, record.stage) == (False, True, "silent")


def test_stages_before_the_agreement_and_from_the_data(structure):
    structure.onboarded_on = dt.date(2026, 3, 1)
    assert record_on(structure, dt.date(2026, 3, 20)).stage == "agreement"
    db.session.add(
        TrainingSession(
            structure_id=structure.id,
            held_on=dt.date(2026, 3, 10),
            kind="professional_training",
            participants=6,
        )
    )
    assert record_on(structure, dt.date(2026, 3, 20)).stage == "trained"
    report(structure, dt.date(2026, 3, 18), dt.datetime(2026, 3, 18, 15, tzinfo=UTC))
    assert record_on(structure, dt.date(2026, 3, 20)).stage == "active"
    prospect = make_structure("Centre social", "69123")
    prospect.onboarded_on, prospect.stage = None, "met"
    record = record_on(prospect, dt.date(2026, 3, 20))
    assert (record.stage, record.expected(), record.following) == ("met", [], False)
    structure.active = False
    assert record_on(structure, dt.date(2026, 3, 20)).stage == "left"


def test_a_report_for_a_period_still_open_ends_the_silence(structure):
    structure.onboarded_on = dt.date(2026, 1, 1)
    report(structure, dt.date(2026, 1, 5), dt.datetime(2026, 1, 6, tzinfo=UTC))
    # On 11 April February and March are missed: silent. April is still open: a report dated
    # in it means the partner is back, before April's own deadline.
    assert record_on(structure, dt.date(2026, 4, 11)).silent
    report(structure, dt.date(2026, 4, 2), dt.datetime(2026, 4, 3, tzinfo=UTC))
    record = record_on(structure, dt.date(2026, 4, 11))
    assert (record.missed_in_a_row(), record.silent, record.late, record.stage) == (
        [],
        False,
        False,
        "active",
    )
