"""Cached indicators are never served stale after a write through the application."""

import sqlalchemy as sa

from ohpunaises import data_version
from ohpunaises.extensions import db
from ohpunaises.models import Territory

from .test_api_reports import SMALLEST

URL = "/api/v1/indicators?from=2000-01-01"


def whole(accounts, indicator_id):
    body = accounts["coordinator"].get(URL).get_json()
    (indicator,) = [i for i in body["indicators"] if i["id"] == indicator_id]
    return indicator["whole"]["value"]


def test_a_new_report_shows_at_once_in_cached_indicators(accounts):
    before = whole(accounts, "reports")
    assert whole(accounts, "reports") == before  # now from the cache
    assert accounts["agent"].post("/api/v1/reports", json=SMALLEST).status_code == 201
    assert whole(accounts, "reports") == before + 1


def test_changing_only_a_reports_actions_shows_at_once(accounts):
    report = {**SMALLEST, "actions": ["chemical_treatment"]}
    created = accounts["agent"].post("/api/v1/reports", json=report)
    before = whole(accounts, "share_non_chemical")
    url = f"/api/v1/reports/{created.get_json()['id']}"
    etag = created.headers["ETag"]
    changed = accounts["agent"].patch(
        url, json={"actions": ["heat_treatment"]}, headers={"If-Match": etag}
    )
    assert changed.status_code == 200
    assert whole(accounts, "share_non_chemical") > before


def test_a_new_structure_shows_at_once(accounts):
    before = whole(accounts, "structures_onboarded_by_quarter")
    response = accounts["coordinator"].post(
        "/api/v1/structures",
        json={"name": "Nouvelle", "kind": "association", "commune": "69266"},
    )
    assert response.status_code == 201
    assert whole(accounts, "structures_onboarded_by_quarter") == before + 1


def test_the_version_moves_after_a_commit_on_postgresql(app, database_kind):
    with app.app_context():
        first = data_version.current(db.session.connection())
        db.session.execute(sa.update(Territory).values(population=Territory.population))
        assert data_version.current(db.session.connection()) == first  # not before the commit
        db.session.commit()
        moved = data_version.current(db.session.connection())
        db.session.rollback()
    if database_kind == "postgis":
        assert moved > first
    else:
        assert first is None and moved is None


def test_signing_in_and_using_a_token_leave_the_version_be(app, accounts, database_kind):
    with app.app_context():
        first = data_version.current(db.session.connection())
        db.session.rollback()
    assert accounts["agent"].get("/api/v1/me").status_code == 200  # records the token's use
    with app.app_context():
        assert data_version.current(db.session.connection()) == first
        db.session.rollback()
