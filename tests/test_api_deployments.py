"""Deployments through the API (/api/v1/deployments): coordinators open, edit and read them,
and attach accounts to them; errors as problem+json."""

import datetime as dt

import pytest
import sqlalchemy as sa

from ohpunaises.auth import issue_token
from ohpunaises.bootstrap import DEFAULT_DEPLOYMENT
from ohpunaises.extensions import db
from ohpunaises.models import AuditEvent, Deployment

from .conftest import ApiClient, make_user
from .test_deployments import drop_opened_deployments

CENTRE = {"name": "Lyon centre", "started_on": "2026-09-01", "territories": ["69381", "69382"]}


@pytest.fixture(autouse=True)
def _opened_deployments_removed(app):
    yield
    drop_opened_deployments(app)


def problem_fields(response) -> dict:
    assert response.content_type == "application/problem+json"
    return {error["field"]: error["message"] for error in response.get_json().get("errors", [])}


def test_a_coordinator_opens_reads_and_edits_a_deployment(app, accounts):
    coordinator = accounts["coordinator"]
    created = coordinator.post("/api/v1/deployments", json=CENTRE)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["name"] == "Lyon centre" and body["started_on"] == "2026-09-01"
    assert [t["code"] for t in body["territories"]] == ["69381", "69382"]
    assert body["territories"][0]["level"] == "arrondissement"
    assert (body["structures"], body["people"]) == (0, [])

    listed = {d["name"]: d for d in coordinator.get("/api/v1/deployments").get_json()}
    assert set(listed) == {DEFAULT_DEPLOYMENT, "Lyon centre"}
    assert listed["Lyon centre"]["territories"] == 2
    assert listed[DEFAULT_DEPLOYMENT]["structures"] == 2  # A (Lyon), B (Villeurbanne)

    url = f"/api/v1/deployments/{body['id']}"
    assert coordinator.get(url).get_json() == body
    patched = coordinator.patch(url, json={"territories": ["69383"], "name": "Lyon 3e"})
    assert patched.status_code == 200, patched.get_json()
    assert [t["code"] for t in patched.get_json()["territories"]] == ["69383"]
    assert patched.get_json()["started_on"] == "2026-09-01"
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["deployment.create", "deployment.update"]


def test_started_on_defaults_to_today(accounts):
    body = {"name": "Sans date", "territories": ["69384"]}
    created = accounts["coordinator"].post("/api/v1/deployments", json=body)
    assert created.status_code == 201
    assert created.get_json()["started_on"] == dt.date.today().isoformat()


@pytest.mark.parametrize(
    ("body", "status", "field", "message"),
    [
        ({**CENTRE, "territories": ["69123"]}, 409, "territories", "Déjà dans le déploiement"),
        ({**CENTRE, "territories": ["BE21004"]}, 422, "territories", "inconnu(s) : BE21004"),
        ({**CENTRE, "territories": []}, 422, "territories", "Longueur"),
        ({**CENTRE, "name": "MÉTROPOLE de Lyon"}, 409, "name", "s'appelle déjà"),
        ({**CENTRE, "name": ""}, 422, "name", "Longueur"),
        ({**CENTRE, "started_on": "1999-12-31"}, 422, "started_on", "Date hors"),
        ({**CENTRE, "territories": "69381"}, 422, "territories", ""),
        ({**CENTRE, "colour": "red"}, 422, "colour", "Champ inconnu."),
        ({"name": "Sans territoire"}, 422, "territories", ""),
    ],
)
def test_bad_input_is_refused_with_its_field_and_nothing_stored(
    app, accounts, body, status, field, message
):
    response = accounts["coordinator"].post("/api/v1/deployments", json=body)
    assert response.status_code == status, response.get_json()
    fields = problem_fields(response)
    assert field in fields and message in fields[field], fields
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Deployment.id))) == 1


def test_out_of_scope_or_unknown_deployments_are_not_found(app, accounts, client):
    coordinator = accounts["coordinator"]
    other = coordinator.post("/api/v1/deployments", json=CENTRE).get_json()["id"]
    with app.app_context():
        lyon = db.session.scalar(sa.select(Deployment).where(Deployment.name == DEFAULT_DEPLOYMENT))
        attached = make_user("coord-lyon@example.org", "coordinator")
        attached.deployments = [lyon]
        restricted = ApiClient(client, issue_token(attached)[0], attached.id)
        db.session.commit()
    assert [d["name"] for d in restricted.get("/api/v1/deployments").get_json()] == [
        DEFAULT_DEPLOYMENT
    ]
    for method in ("get", "patch"):
        kwargs = {"json": {"name": "Pris"}} if method == "patch" else {}
        response = getattr(restricted, method)(f"/api/v1/deployments/{other}", **kwargs)
        assert response.status_code == 404
        assert response.content_type == "application/problem+json"
    assert coordinator.get("/api/v1/deployments/2147483647").status_code == 404
    assert accounts["institution"].get("/api/v1/deployments").status_code == 403


def test_accounts_are_attached_and_detached(app, accounts):
    coordinator = accounts["coordinator"]
    created = coordinator.post("/api/v1/deployments", json=CENTRE).get_json()
    url = f"/api/v1/deployments/{created['id']}/people"
    institution, evaluator = accounts["institution"], accounts["evaluator"]

    response = coordinator.post(url, json={"user_ids": [institution.user_id, evaluator.user_id]})
    assert response.status_code == 200, response.get_json()
    assert sorted(p["role"] for p in response.get_json()["people"]) == ["evaluator", "institution"]
    assert institution.get("/api/v1/me").get_json()["deployments"] == ["Lyon centre"]

    refused = coordinator.post(url, json={"user_ids": [accounts["agent"].user_id]})
    assert refused.status_code == 422
    assert "Seuls les comptes sans structure" in problem_fields(refused)["user_id"]
    assert coordinator.post(url, json={"user_ids": ["1"]}).status_code == 422
    assert coordinator.post(url, json={"user_ids": []}).status_code == 422

    gone = coordinator.delete(f"{url}/{institution.user_id}")
    assert gone.status_code == 204
    assert coordinator.delete(f"{url}/{institution.user_id}").status_code == 404
    people = coordinator.get(f"/api/v1/deployments/{created['id']}").get_json()["people"]
    assert [p["email"] for p in people] == ["evaluator@example.org"]


def test_the_openapi_document_describes_the_deployments(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert set(paths["/api/v1/deployments"]) == {"get", "post"}
    assert set(paths["/api/v1/deployments/{deployment_id}"]) >= {"get", "patch"}
    assert "post" in paths["/api/v1/deployments/{deployment_id}/people"]
    assert "delete" in paths["/api/v1/deployments/{deployment_id}/people/{user_id}"]
    post = paths["/api/v1/deployments"]["post"]
    assert post["x-permission"]["action"] == "deployment.manage"
    assert {"201", "409", "422"} <= set(post["responses"])
