"""Retention: old reports lose their point, dwelling key and notes, and keep their places."""

import datetime as dt
import uuid

import pytest
import sqlalchemy as sa

from ohpunaises import privacy
from ohpunaises.extensions import db
from ohpunaises.models import AuditEvent, Report

from .test_api_reports import SMALLEST

DETAILED = {**SMALLEST, "notes": "Code d'entrée 1234", "dwelling_ref": "Bât. A, appt 3"}


@pytest.fixture
def reports(accounts):
    """An old report (2019) and a recent one, both with a point, notes and a dwelling key."""
    old = accounts["agent"].post(
        "/api/v1/reports", json={**DETAILED, "intervention_date": "2019-05-02"}
    )
    recent = accounts["agent"].post("/api/v1/reports", json=DETAILED)
    return old.get_json()["id"], recent.get_json()["id"]


def stored(app, report_id):
    with app.app_context():
        report = db.session.get(Report, uuid.UUID(report_id))
        db.session.expunge(report)
        return report


def is_intact(report):
    return report.location is not None and report.notes and report.dwelling_key


def test_a_dry_run_counts_and_changes_nothing(app, runner, reports):
    result = runner.invoke(args=["retention", "apply", "--older-than", "5y", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "1 signalement" in result.output
    assert all(is_intact(stored(app, report_id)) for report_id in reports)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0


def test_apply_anonymises_only_old_reports_and_keeps_their_places(app, runner, reports):
    old_id, recent_id = reports
    before = stored(app, old_id)
    result = runner.invoke(args=["retention", "apply", "--older-than", "5y"])
    assert result.exit_code == 0, result.output
    old = stored(app, old_id)
    assert old.location is None and old.notes is None and old.dwelling_key is None
    assert old.anonymised_at is not None
    assert (old.commune_id, old.arrondissement_id) == (before.commune_id, before.arrondissement_id)
    assert old.version == before.version + 1
    assert is_intact(stored(app, recent_id))


def test_a_second_apply_changes_nothing(app, runner, reports):
    runner.invoke(args=["retention", "apply", "--older-than", "5y"])
    first = stored(app, reports[0]).anonymised_at
    result = runner.invoke(args=["retention", "apply", "--older-than", "5y"])
    assert "0 signalement" in result.output
    assert stored(app, reports[0]).anonymised_at == first


def test_each_apply_is_recorded_in_the_audit_log(app, runner, reports):
    runner.invoke(args=["retention", "apply", "--older-than", "5y"])
    runner.invoke(args=["retention", "apply", "--older-than", "5y"])
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [e.action for e in events] == ["retention.apply", "retention.apply"]
        assert [e.details["rows"] for e in events] == [1, 0]
        assert events[0].details["older_than"] == "5y"


def test_anonymised_reports_still_export_without_their_point(accounts, runner, reports):
    runner.invoke(args=["retention", "apply", "--older-than", "5y"])
    text = accounts["coordinator"].get("/api/v1/exports/reports.csv").get_data(as_text=True)
    old = next(line for line in text.splitlines() if line.startswith(reports[0]))
    assert "Code d'entrée" not in old
    assert old.split(";")[5] == "69123"  # commune kept


def test_the_default_age_comes_from_the_settings(make_app, reports):
    other = make_app(OHPUNAISES_RETENTION="20y")
    result = other.test_cli_runner().invoke(args=["retention", "apply", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "0 signalement" in result.output


def test_an_unreadable_age_is_refused(runner):
    result = runner.invoke(args=["retention", "apply", "--older-than", "5 ans"])
    assert result.exit_code != 0
    assert "Durée invalide" in result.output


@pytest.mark.parametrize(
    ("age", "cutoff"),
    [
        ("5y", dt.date(2021, 11, 28)),
        ("18m", dt.date(2025, 5, 28)),
        ("90d", dt.date(2026, 8, 30)),
        ("1m", dt.date(2026, 10, 28)),
    ],
)
def test_ages_in_years_months_and_days(age, cutoff):
    assert privacy.cutoff_date(age, dt.date(2026, 11, 28)) == cutoff


def test_a_month_back_from_the_31st_ends_on_the_last_day():
    assert privacy.cutoff_date("1m", dt.date(2026, 3, 31)) == dt.date(2026, 2, 28)


def test_coordinates_round_to_a_grid_of_a_hundredth_of_a_degree():
    assert privacy.round_to_grid(45.76431) == 45.76
    assert privacy.round_to_grid(4.83567) == 4.84
    assert privacy.round_to_grid(None) is None
