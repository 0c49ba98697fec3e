"""The audit log: every export and administrative change, read by coordinators on /journal."""

import json

import pytest
import sqlalchemy as sa

from ohpunaises import audit
from ohpunaises.extensions import db
from ohpunaises.models import AuditEvent, Territory
from ohpunaises.permissions import Actor
from ohpunaises.usecases.deployments import open_deployment

from .conftest import make_user
from .test_deployments import drop_opened_deployments
from .test_web_session import sign_in


def add_events(app, count):
    with app.app_context():
        user = make_user("coord@example.org", "coordinator")
        for number in range(count):
            audit.record(Actor.of(user), "export.reports", f"export-{number:03d}", {"rows": number})
        db.session.commit()


def test_record_keeps_who_what_and_the_details(app):
    with app.app_context():
        user = make_user("coord@example.org", "coordinator")
        event = audit.record(Actor.of(user), "report.update", "abc", {"fields": ["status"]})
        db.session.commit()
        assert (event.actor, event.user_id, event.action) == (user.email, user.id, "report.update")
        assert event.details == {"fields": ["status"]}
        assert event.at is not None


def test_the_log_reads_newest_first_by_pages(app):
    add_events(app, audit.PAGE_SIZE + 3)
    with app.app_context():
        first, pages = audit.page(1)
        second, _ = audit.page(2)
    assert pages == 2
    assert first[0].target == f"export-{audit.PAGE_SIZE + 2:03d}"
    assert len(second) == 3
    assert second[-1].target == "export-000"


def test_coordinators_read_the_log_on_a_page(app, client):
    add_events(app, audit.PAGE_SIZE + 1)
    sign_in(client, "coord@example.org")
    page = client.get("/journal").get_data(as_text=True)
    assert "export-050" in page
    assert "export-000" not in page
    assert "Plus anciens" in page
    assert "export-000" in client.get("/journal?page=2").get_data(as_text=True)
    assert client.get("/journal?page=abc").status_code == 200


@pytest.mark.parametrize("role", ["agent", "partner_admin", "institution", "evaluator"])
def test_other_roles_may_not_read_the_log(app, client, role):
    with app.app_context():
        make_user("someone@example.org", role)
        db.session.commit()
    sign_in(client, "someone@example.org")
    assert client.get("/journal").status_code == 403


def actions_logged(app) -> list[tuple[str, str]]:
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
        return [(event.action, event.actor) for event in events]


def test_every_administrative_change_through_the_api_is_audited(app, accounts):
    coordinator, agent = accounts["coordinator"], accounts["agent"]
    structure = coordinator.post(
        "/api/v1/structures", json={"name": "Nouvelle", "kind": "other", "commune": "69259"}
    ).get_json()
    coordinator.patch(f"/api/v1/structures/{structure['id']}", json={"name": "Renommée"})
    token = agent.post("/api/v1/tokens", json={"name": "essai"}).get_json()
    agent.delete(f"/api/v1/tokens/{token['id']}")
    agent.post(
        "/api/v1/trainings", json={"held_on": "2026-10-01", "kind": "workshop", "participants": 9}
    )
    assert actions_logged(app) == [
        ("structure.create", "coordinator@example.org"),
        ("structure.update", "coordinator@example.org"),
        ("token.create", "agent@example.org"),
        ("token.revoke", "agent@example.org"),
        ("training.create", "agent@example.org"),
    ]
    with app.app_context():
        details = db.session.scalars(sa.select(AuditEvent.details)).all()
    assert token["token"] not in str(details)


def test_every_administrative_change_at_the_command_line_is_audited(app, runner, tmp_path):
    commune = {
        "type": "Feature",
        "properties": {"code": "99001", "nom": "Essai"},
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[10, 10], [10.1, 10], [10.1, 10.1], [10, 10.1], [10, 10]]],
        },
    }
    path = tmp_path / "communes.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [commune]}))
    steps = [
        ["territories", "load", str(path), "--level", "commune"],
        ["structures", "create", "--name", "S", "--kind", "other", "--commune", "69123"],
        ["users", "create", "--email", "nouveau@example.org", "--role", "coordinator"],
        ["tokens", "create", "--email", "nouveau@example.org"],
    ]
    for args in steps:
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
    assert actions_logged(app) == [
        ("territory.load", "cli"),
        ("structure.create", "cli"),
        ("user.create", "cli"),
        ("token.create", "cli"),
    ]


def test_opening_a_deployment_is_audited(app):
    # Lyon's communes are in the default deployment already: one of its arrondissements.
    try:
        with app.app_context():
            where = db.session.scalars(sa.select(Territory).where(Territory.code == "69381")).all()
            open_deployment(Actor.operator(), "Essai", where)
        assert actions_logged(app) == [("deployment.create", "cli")]
    finally:
        drop_opened_deployments(app)  # deployments outlive each test (see conftest)
