"""What figures may cost: per-account limits, a bound on the measures running at once, a
time limit on statements, and a 503 that says to come back rather than a 500."""

import datetime as dt
import threading
import time

import pytest
import sqlalchemy as sa

from ohpunaises import indicators
from ohpunaises.auth import issue_token
from ohpunaises.extensions import db
from ohpunaises.indicators import Period, cache

from .conftest import environ_for, make_user
from .test_web_session import sign_in


def token_for(app, role="institution"):
    with app.app_context():
        token = issue_token(make_user(f"{role}@example.org", role))[0]
        db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_each_account_has_its_own_budget_of_figures(app, make_app):
    limited = make_app(OHPUNAISES_RATELIMIT_FIGURES="3 per minute")
    headers = token_for(limited)
    client = limited.test_client()
    urls = ["/api/v1/indicators?ids=reports", "/api/v1/exports/territories.geojson"] * 2
    statuses = [client.get(url, headers=headers).status_code for url in urls]
    assert statuses == [200, 200, 200, 429]
    sign_in(client, "institution@example.org")
    assert client.get("/carte").status_code == 429  # pages and API share the budget
    other = token_for(limited, "evaluator")
    assert limited.test_client().get(urls[0], headers=other).status_code == 200


class SlowMeasure:
    """Stands for a measure over a million reports: counts how many run at once."""

    def __init__(self, measure, seconds=0.3):
        self.measure, self.seconds = measure, seconds
        self.running = self.most = self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, scope):
        with self.lock:
            self.running += 1
            self.calls += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(self.seconds)
            return self.measure(scope)
        finally:
            with self.lock:
                self.running -= 1


def in_threads(app, periods):
    failures = []

    def ask(period):
        try:
            with app.app_context():
                indicators.compute(period, level="commune", viewer_role="institution")
                db.session.remove()
        except Exception as error:
            failures.append(repr(error))

    threads = [threading.Thread(target=ask, args=(period,)) for period in periods]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


@pytest.fixture
def slow(monkeypatch):
    """The measure made slow, and no figure kept from an earlier test."""
    cache.clear()
    slowed = SlowMeasure(indicators.measure)
    monkeypatch.setattr(indicators, "measure", slowed)
    yield slowed
    cache.clear()


def test_no_more_than_the_bound_of_measures_run_at_once(app, slow, database_kind):
    periods = [Period(dt.date(2025, month, 1), dt.date(2025, month, 28)) for month in range(1, 7)]
    assert in_threads(app, periods) == []
    assert slow.calls == 6
    bound = app.config["FIGURE_COMPUTATIONS"]
    # SQLite lets one transaction at a time hold the database: it measures one at a time.
    assert slow.most == (bound if database_kind == "postgis" else 1)


def test_requests_for_the_same_figures_wait_for_one_measure(app, slow):
    assert in_threads(app, [Period()] * 5) == []
    assert slow.calls == 1


def test_a_request_that_waits_too_long_is_told_to_come_back(app, make_app, slow, database_kind):
    if database_kind != "postgis":
        pytest.skip("SQLite measures one at a time under its own lock (busy timeout: 30 s)")
    impatient = make_app(OHPUNAISES_FIGURE_COMPUTATIONS="1", OHPUNAISES_FIGURE_WAIT="1")
    headers = token_for(impatient, "coordinator")  # free dates: two distinct measures
    slow.seconds = 2.5
    first = threading.Thread(
        target=lambda: impatient.test_client().get(
            "/api/v1/indicators?from=2025-01-01", headers=headers
        )
    )
    first.start()
    time.sleep(0.3)
    response = impatient.test_client().get("/api/v1/indicators?from=2024-01-01", headers=headers)
    first.join()
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) >= 5
    assert "réessayez" in response.get_json()["detail"]


def test_a_database_that_fails_is_a_503_with_retry_after_not_a_500(app, client, monkeypatch):
    from ohpunaises.usecases import territories

    def unreachable(*_args, **_kwargs):
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    monkeypatch.setattr(territories, "features", unreachable)
    headers = token_for(app)
    response = client.get("/api/v1/territories", headers=headers)
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) >= 5
    assert response.content_type == "application/problem+json"


def test_page_and_api_statements_have_a_time_limit_on_postgresql(app, make_app, database_kind):
    if database_kind != "postgis":
        pytest.skip("SQLite has no statement timeout; its busy timeout bounds waiting")
    with app.app_context():
        assert db.session.scalar(sa.text("SHOW statement_timeout")) == "30s"
    short = make_app(OHPUNAISES_STATEMENT_TIMEOUT="1")
    with short.app_context():
        with pytest.raises(sa.exc.OperationalError, match="statement timeout"):
            db.session.execute(sa.text("SELECT pg_sleep(3)"))
        db.session.rollback()


def test_the_command_line_has_no_statement_time_limit(app, database_kind, monkeypatch):
    from ohpunaises.cli import operator_app

    if database_kind != "postgis":
        pytest.skip("SQLite has no statement timeout")
    for name, value in environ_for(app.config["SQLALCHEMY_DATABASE_URI"]).items():
        monkeypatch.setenv(name, value)
    operator = operator_app()
    with operator.app_context():
        assert db.session.scalar(sa.text("SHOW statement_timeout")) == "0"
        db.session.remove()
        db.engine.dispose()
