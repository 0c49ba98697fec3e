"""People administration through the API: invitations (by file, by SMTP, after a failed send),
scopes of coordinators and partner admins, deactivation, roles, audit, and API tokens."""

import datetime as dt
import hashlib
import json
import re

import pytest
import sqlalchemy as sa

from ohpunaises.auth import issue_token
from ohpunaises.extensions import db
from ohpunaises.models import AccountLink, AuditEvent, Deployment, Structure, User, user_deployments

from . import smtp
from .conftest import ApiClient, make_user
from .smtp import free_port

smtp_server = smtp.smtp_server  # the fixture, used by name

BASE_URL = "https://ohpunaises.example.org"
NEW = "nouvelle.agente@example.org"
LINK = re.compile(r"/invitation/([A-Za-z0-9_-]{20,})")


def invitation_body(structure_id=None, **fields):
    body = {"email": NEW, "role": "agent", "display_name": "Nouvelle Agente", **fields}
    if structure_id is not None:
        body["structure_id"] = structure_id
    return body


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def stored_user(app, email=NEW) -> User | None:
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        db.session.expunge_all()
        return user


def audit_rows(app) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
        db.session.expunge_all()
        return rows


def secret_of(link: str) -> str:
    return LINK.search(link).group(1)


def assert_no_secret_in_audit(app, secret: str):
    digest = hashlib.sha256(secret.encode()).hexdigest()
    written = json.dumps([(row.target, row.details) for row in audit_rows(app)], default=str)
    assert secret not in written and digest not in written


def field_errors(response) -> dict:
    return {error["field"]: error["message"] for error in response.get_json().get("errors", [])}


def message_link(message) -> str:
    text = message.get_body(("plain",)).get_content()
    found = re.search(rf"{re.escape(BASE_URL)}/invitation/[A-Za-z0-9_-]+", text)
    assert found, text
    return found.group(0)


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def choose_password(app, secret: str):
    """POST the invitation form, as the person following the link would."""
    web = app.test_client()
    token = csrf_of(web.get("/connexion").get_data(as_text=True))
    form = {"password": "un mot de passe solide 42", "confirmation": "un mot de passe solide 42"}
    return web.post(f"/invitation/{secret}", data={**form, "csrf_token": token})


@pytest.fixture
def second_deployment(app, client, accounts):
    """Structure B moved to a deployment of its own; `coordinator_a`, attached to the default
    deployment (structure A's) only. Deployments outlive tests: the new one is removed after."""
    with app.app_context():
        b = db.session.scalar(sa.select(Structure).where(Structure.name == "Structure B"))
        a = db.session.scalar(sa.select(Structure).where(Structure.name == "Structure A"))
        other = Deployment(name="Déploiement d'essai (personnes)", started_on=dt.date(2025, 1, 1))
        db.session.add(other)
        b.deployment = other
        coordinator_a = make_user("coordinator-a@example.org", "coordinator")
        coordinator_a.deployments = [a.deployment]
        client_a = ApiClient(client, issue_token(coordinator_a)[0], coordinator_a.id)
        other_id = other.id
        db.session.commit()
    yield {**accounts, "coordinator_a": client_a}
    with app.app_context():
        db.session.rollback()
        db.session.execute(
            sa.update(Structure)
            .where(Structure.deployment_id == other_id)
            .values(deployment_id=None)
        )
        db.session.execute(
            user_deployments.delete().where(user_deployments.c.deployment_id == other_id)
        )
        db.session.execute(sa.delete(Deployment).where(Deployment.id == other_id))
        db.session.commit()
        db.session.remove()


# Invitations ----------------------------------------------------------------------------------


def test_a_coordinator_invites_an_agent_and_sees_the_link_without_a_mail_server(
    app, second_deployment
):
    coordinator = second_deployment["coordinator_a"]
    structure_a = second_deployment["agent"].structure_id
    before = count(app, User)
    response = coordinator.post("/api/v1/invitations", json=invitation_body(structure_a))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["user"]["status"] == "pending" and body["user"]["role"] == "agent"
    assert body["user"]["structure_id"] == structure_a
    assert (body["sent"], body["error"]) == (True, None)
    assert body["link"].startswith("http://localhost/invitation/")
    assert count(app, User) == before + 1
    user = stored_user(app)
    assert user.active and user.password_hash is None
    secret = secret_of(body["link"])
    with app.app_context():
        [link] = db.session.scalars(sa.select(AccountLink).where(AccountLink.user_id == user.id))
        assert link.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert link.sent_at is not None and link.send_error is None
    assert app.test_client().get(f"/invitation/{secret}").status_code == 200
    [event] = [row for row in audit_rows(app) if row.action == "user.invite"]
    assert event.target == f"user:{user.id}" and event.actor == "coordinator-a@example.org"
    assert (event.details["role"], event.details["structure"]) == ("agent", structure_a)
    assert_no_secret_in_audit(app, secret)


def test_a_coordinator_cannot_invite_nor_reach_outside_their_deployments(app, second_deployment):
    coordinator = second_deployment["coordinator_a"]
    agent_b = second_deployment["agent_b"]
    before = count(app, User)
    response = coordinator.post("/api/v1/invitations", json=invitation_body(agent_b.structure_id))
    assert response.status_code == 422
    assert "structure_id" in field_errors(response)
    assert count(app, User) == before and stored_user(app) is None
    assert coordinator.get(f"/api/v1/users/{agent_b.user_id}").status_code == 404
    emails = {user["email"] for user in coordinator.get("/api/v1/users").get_json()}
    assert "agent@example.org" in emails and "agent-b@example.org" not in emails


def test_an_invitation_through_smtp_arrives_and_the_answer_hides_the_link(
    make_app, accounts, smtp_server
):
    other = make_app(OHPUNAISES_SMTP_URL=smtp_server.url, OHPUNAISES_BASE_URL=BASE_URL)
    coordinator = ApiClient(other.test_client(), accounts["coordinator"].token)
    body = invitation_body(accounts["agent"].structure_id)
    response = coordinator.post("/api/v1/invitations", json=body)
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert (answer["sent"], answer["error"], answer["link"]) == (True, None, None)
    [message] = smtp_server.wait_for(1)
    assert message["To"] == NEW
    link = message_link(message)
    assert other.test_client().get(link.removeprefix(BASE_URL)).status_code == 200


def test_a_failed_send_keeps_the_invitation_and_a_resend_delivers_it(
    app, make_app, accounts, smtp_server
):
    closed = make_app(
        OHPUNAISES_SMTP_URL=f"smtp://127.0.0.1:{free_port()}", OHPUNAISES_BASE_URL=BASE_URL
    )
    token = accounts["coordinator"].token
    body = invitation_body(accounts["agent"].structure_id)
    failed = ApiClient(closed.test_client(), token).post("/api/v1/invitations", json=body)
    assert failed.status_code == 201, failed.get_json()
    answer = failed.get_json()
    assert answer["sent"] is False
    assert "n'a pas pu être envoyé" in answer["error"] and "127.0.0.1" in answer["error"]
    assert answer["link"].startswith(f"{BASE_URL}/invitation/")  # given by hand meanwhile
    user = stored_user(app)
    assert user.active and user.password_hash is None
    with app.app_context():
        [link] = db.session.scalars(sa.select(AccountLink).where(AccountLink.user_id == user.id))
        assert link.sent_at is None and "n'a pas pu être envoyé" in link.send_error

    working = make_app(OHPUNAISES_SMTP_URL=smtp_server.url, OHPUNAISES_BASE_URL=BASE_URL)
    again = ApiClient(working.test_client(), token).post(f"/api/v1/users/{user.id}/invitation")
    assert again.status_code == 201, again.get_json()
    assert (again.get_json()["sent"], again.get_json()["link"]) == (True, None)
    [message] = smtp_server.wait_for(1)
    web = working.test_client()
    assert web.get(answer["link"].removeprefix(BASE_URL)).status_code == 404  # replaced
    assert web.get(message_link(message).removeprefix(BASE_URL)).status_code == 200
    assert [row.action for row in audit_rows(app)] == ["user.invite", "user.invite_again"]
    assert_no_secret_in_audit(app, secret_of(answer["link"]))
    assert_no_secret_in_audit(app, secret_of(message_link(message)))


@pytest.mark.parametrize("email", ["agent-b@example.org", "Agent-B@Example.ORG"])
def test_an_address_already_used_is_refused_in_french_and_nothing_is_created(app, accounts, email):
    before = count(app, User), count(app, AccountLink)
    response = accounts["coordinator"].post(
        "/api/v1/invitations", json=invitation_body(accounts["agent"].structure_id, email=email)
    )
    assert response.status_code == 409
    assert response.content_type == "application/problem+json"
    assert field_errors(response) == {"email": "Cette adresse a déjà un compte."}
    assert (count(app, User), count(app, AccountLink)) == before
    assert stored_user(app, "agent-b@example.org").structure_id == accounts["agent_b"].structure_id


def test_a_second_invitation_to_a_waiting_address_is_refused(app, accounts):
    coordinator = accounts["coordinator"]
    body = invitation_body(accounts["agent"].structure_id)
    assert coordinator.post("/api/v1/invitations", json=body).status_code == 201
    before = count(app, AccountLink)
    response = coordinator.post("/api/v1/invitations", json=body)
    assert response.status_code == 409
    assert "Une invitation attend déjà cette adresse" in field_errors(response)["email"]
    assert count(app, AccountLink) == before


INVALID = {
    "unknown role": ({"role": "administrateur"}, "role"),
    "agent without structure": ({}, "structure_id"),
    "unknown structure": ({"structure_id": 99999}, "structure_id"),
    "unknown deployment": ({"role": "coordinator", "deployment_ids": [99999]}, "deployment_ids"),
    "bad address": ({"email": "pas-une-adresse"}, "email"),
}


@pytest.mark.parametrize(("fields", "field"), INVALID.values(), ids=INVALID.keys())
def test_invalid_invitations_name_their_field_and_create_nothing(app, accounts, fields, field):
    before = count(app, User), count(app, AccountLink), count(app, AuditEvent)
    response = accounts["coordinator"].post("/api/v1/invitations", json=invitation_body(**fields))
    assert response.status_code == 422, response.get_json()
    assert response.content_type == "application/problem+json"
    assert field in field_errors(response)
    assert (count(app, User), count(app, AccountLink), count(app, AuditEvent)) == before


def test_a_coordinator_of_some_deployments_attaches_whom_they_invite_to_one_of_them(
    app, second_deployment
):
    coordinator = second_deployment["coordinator_a"]
    before = count(app, User)
    body = invitation_body(role="institution", deployment_ids=[])
    response = coordinator.post("/api/v1/invitations", json=body)
    assert response.status_code == 422
    assert "Rattachez ce compte" in field_errors(response)["deployment_ids"]
    assert count(app, User) == before


@pytest.mark.parametrize("role", ["coordinator", "partner_admin", "institution"])
def test_a_partner_admin_invites_agents_only(app, accounts, role):
    before = count(app, User)
    response = accounts["partner_admin"].post(
        "/api/v1/invitations", json=invitation_body(role=role)
    )
    assert response.status_code == 422
    assert field_errors(response) == {"role": "Vous ne pouvez pas donner ce rôle."}
    assert count(app, User) == before


def test_a_partner_admin_invites_an_agent_into_their_own_structure_only(app, accounts):
    partner_admin = accounts["partner_admin"]
    other = partner_admin.post(
        "/api/v1/invitations", json=invitation_body(accounts["agent_b"].structure_id)
    )
    assert other.status_code == 422 and "structure_id" in field_errors(other)
    assert stored_user(app) is None
    own = partner_admin.post("/api/v1/invitations", json=invitation_body())
    assert own.status_code == 201, own.get_json()
    assert own.get_json()["user"]["structure_id"] == partner_admin.structure_id


def test_an_invitation_carries_no_password(accounts):
    # Only the person invited chooses it, through the link.
    response = accounts["coordinator"].post(
        "/api/v1/invitations",
        json=invitation_body(accounts["agent"].structure_id, password="choisi-par-un-autre"),
    )
    assert response.status_code == 422
    assert "password" in field_errors(response)


# Scope of partner admins ----------------------------------------------------------------------


def test_a_partner_admin_lists_only_their_structures_people(accounts):
    listed = accounts["partner_admin"].get("/api/v1/users")
    assert listed.status_code == 200
    assert [u["email"] for u in listed.get_json()] == [
        "agent@example.org",
        "partner_admin@example.org",
    ]
    everyone = {u["email"] for u in accounts["coordinator"].get("/api/v1/users").get_json()}
    assert len(everyone) == 6


def test_a_partner_admin_cannot_reach_a_user_of_another_structure(app, accounts):
    partner_admin = accounts["partner_admin"]
    for other in (accounts["agent_b"].user_id, accounts["coordinator"].user_id):
        assert partner_admin.get(f"/api/v1/users/{other}").status_code == 404
        response = partner_admin.patch(f"/api/v1/users/{other}", json={"active": False})
        assert response.status_code == 404
        assert response.content_type == "application/problem+json"
    assert accounts["agent_b"].get("/api/v1/me").status_code == 200
    assert accounts["coordinator"].get("/api/v1/me").status_code == 200
    assert audit_rows(app) == []


def test_a_partner_admin_deactivates_an_agent_of_their_structure(app, accounts):
    agent = accounts["agent"]
    response = accounts["partner_admin"].patch(
        f"/api/v1/users/{agent.user_id}", json={"active": False}
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "inactive"
    assert agent.get("/api/v1/me").status_code == 401


# Deactivation and roles -----------------------------------------------------------------------


def test_a_deactivated_accounts_token_is_refused_at_once_and_audited(app, accounts):
    agent = accounts["agent"]
    assert agent.get("/api/v1/me").status_code == 200
    response = accounts["coordinator"].patch(
        f"/api/v1/users/{agent.user_id}", json={"active": False}
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "inactive"
    refused = agent.get("/api/v1/me")
    assert refused.status_code == 401
    assert agent.post("/api/v1/tokens", json={}).status_code == 401
    [event] = audit_rows(app)
    assert (event.action, event.target, event.actor) == (
        "user.deactivate",
        f"user:{agent.user_id}",
        "coordinator@example.org",
    )


def test_the_last_active_coordinator_cannot_deactivate_nor_demote_themselves(app, accounts):
    coordinator = accounts["coordinator"]
    me = f"/api/v1/users/{coordinator.user_id}"
    for change in ({"active": False}, {"role": "institution"}):
        response = coordinator.patch(me, json=change)
        assert response.status_code == 409, response.get_json()
        assert "dernier compte de coordination actif" in response.get_json()["detail"]
    assert coordinator.get("/api/v1/me").get_json()["role"] == "coordinator"
    assert audit_rows(app) == []


def test_a_pending_invitation_does_not_count_as_an_active_coordinator(app, accounts):
    coordinator = accounts["coordinator"]
    invited = coordinator.post("/api/v1/invitations", json=invitation_body(role="coordinator"))
    assert invited.status_code == 201, invited.get_json()
    response = coordinator.patch(f"/api/v1/users/{coordinator.user_id}", json={"active": False})
    assert response.status_code == 409
    assert coordinator.get("/api/v1/me").status_code == 200


def test_a_coordinator_may_leave_when_another_one_remains(app, accounts):
    with app.app_context():
        make_user("autre-coordination@example.org", "coordinator")
        db.session.commit()
    coordinator = accounts["coordinator"]
    response = coordinator.patch(f"/api/v1/users/{coordinator.user_id}", json={"active": False})
    assert response.status_code == 200, response.get_json()
    assert coordinator.get("/api/v1/me").status_code == 401


def test_a_role_change_follows_the_rules_and_is_audited(app, accounts):
    agent = accounts["agent"]
    url = f"/api/v1/users/{agent.user_id}"
    refused = accounts["partner_admin"].patch(url, json={"role": "partner_admin"})
    assert refused.status_code == 422
    assert field_errors(refused) == {"role": "Vous ne pouvez pas donner ce rôle."}
    assert stored_user(app, "agent@example.org").role == "agent"

    promoted = accounts["coordinator"].patch(url, json={"role": "partner_admin"})
    assert promoted.status_code == 200, promoted.get_json()
    assert promoted.get_json()["role"] == "partner_admin"
    assert promoted.get_json()["structure_id"] == agent.structure_id
    assert agent.get("/api/v1/me").get_json()["role"] == "partner_admin"
    # A partner admin manages agents only, not a peer.
    peer = accounts["partner_admin"].patch(url, json={"active": False})
    assert peer.status_code == 403
    [event] = audit_rows(app)
    assert event.action == "user.role" and event.target == f"user:{agent.user_id}"
    assert (event.details["from"], event.details["to"]) == ("agent", "partner_admin")


def test_an_agent_moves_to_another_structure(app, accounts):
    agent_b = accounts["agent_b"]
    moved = accounts["coordinator"].patch(
        f"/api/v1/users/{agent_b.user_id}", json={"structure_id": accounts["agent"].structure_id}
    )
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["structure_id"] == accounts["agent"].structure_id
    assert agent_b.get("/api/v1/me").get_json()["structure"]["name"] == "Structure A"


def test_a_coordinator_role_drops_the_structure(app, accounts):
    agent = accounts["agent"]
    response = accounts["coordinator"].patch(
        f"/api/v1/users/{agent.user_id}", json={"role": "coordinator"}
    )
    assert response.status_code == 200, response.get_json()
    assert (response.get_json()["role"], response.get_json()["structure_id"]) == (
        "coordinator",
        None,
    )


def test_people_administration_is_refused_to_other_roles(app, accounts):
    target = accounts["agent_b"].user_id
    before = count(app, User)
    for role in ("agent", "institution", "evaluator"):
        client = accounts[role]
        assert client.get("/api/v1/users").status_code == 403
        assert client.patch(f"/api/v1/users/{target}", json={"active": False}).status_code == 403
        body = invitation_body(accounts["agent"].structure_id)
        assert client.post("/api/v1/invitations", json=body).status_code == 403
    assert count(app, User) == before
    assert accounts["agent_b"].get("/api/v1/me").status_code == 200


# Revoking an invitation -----------------------------------------------------------------------


def test_a_revoked_invitation_link_opens_nothing(app, accounts):
    coordinator = accounts["coordinator"]
    invited = coordinator.post(
        "/api/v1/invitations", json=invitation_body(accounts["agent"].structure_id)
    ).get_json()
    user_id, secret = invited["user"]["id"], secret_of(invited["link"])
    assert coordinator.delete(f"/api/v1/users/{user_id}/invitation").status_code == 204

    page = app.test_client().get(f"/invitation/{secret}")
    assert page.status_code == 404 and "Lien inutilisable" in page.get_data(as_text=True)
    posted = choose_password(app, secret)
    assert posted.status_code == 404, posted.get_data(as_text=True)[:500]
    assert "Rien n'a été changé" in posted.get_data(as_text=True)
    user = stored_user(app)
    assert user.password_hash is None and not user.active
    assert coordinator.get(f"/api/v1/users/{user_id}").get_json()["status"] == "inactive"
    # Nothing left to resend or withdraw; the address may be invited afresh.
    assert coordinator.post(f"/api/v1/users/{user_id}/invitation").status_code == 409
    assert coordinator.delete(f"/api/v1/users/{user_id}/invitation").status_code == 409
    actions = [row.action for row in audit_rows(app)]
    assert actions == ["user.invite", "user.invitation_revoke"]
    again = coordinator.post(
        "/api/v1/invitations", json=invitation_body(accounts["agent"].structure_id)
    )
    assert again.status_code == 201 and again.get_json()["user"]["id"] == user_id
    assert app.test_client().get(f"/invitation/{secret}").status_code == 404
    assert choose_password(app, secret_of(again.get_json()["link"])).status_code == 302


def test_an_invitation_link_works_once(app, accounts):
    invited = (
        accounts["coordinator"]
        .post("/api/v1/invitations", json=invitation_body(accounts["agent"].structure_id))
        .get_json()
    )
    secret = secret_of(invited["link"])
    assert choose_password(app, secret).status_code == 302
    assert stored_user(app).password_hash.startswith("$argon2")
    assert choose_password(app, secret).status_code == 404
    [person] = [
        u
        for u in accounts["coordinator"].get("/api/v1/users?status=active").get_json()
        if u["email"] == NEW
    ]
    assert person["status"] == "active"


# API tokens of the people one manages ---------------------------------------------------------


def token_ids(client) -> list[int]:
    return [token["id"] for token in client.get("/api/v1/tokens").get_json()]


def test_a_partner_admin_lists_and_revokes_an_agents_token(app, accounts):
    agent, partner_admin = accounts["agent"], accounts["partner_admin"]
    [agent_token] = token_ids(agent)
    listed = partner_admin.get(f"/api/v1/users/{agent.user_id}/tokens")
    assert listed.status_code == 200, listed.get_json()
    assert [token["id"] for token in listed.get_json()] == [agent_token]
    assert all("token" not in token for token in listed.get_json())
    assert partner_admin.delete(f"/api/v1/tokens/{agent_token}").status_code == 204
    assert agent.get("/api/v1/me").status_code == 401
    [event] = audit_rows(app)
    assert (event.action, event.actor) == ("token.revoke", "partner_admin@example.org")
    assert event.details == {"owner": agent.user_id}


def test_a_partner_admin_cannot_list_nor_revoke_another_structures_tokens(app, accounts):
    agent_b, partner_admin = accounts["agent_b"], accounts["partner_admin"]
    [token_b] = token_ids(agent_b)
    assert partner_admin.get(f"/api/v1/users/{agent_b.user_id}/tokens").status_code == 404
    assert partner_admin.delete(f"/api/v1/tokens/{token_b}").status_code == 404
    [coordinator_token] = token_ids(accounts["coordinator"])
    assert partner_admin.delete(f"/api/v1/tokens/{coordinator_token}").status_code == 404
    assert agent_b.get("/api/v1/me").status_code == 200
    assert accounts["coordinator"].get("/api/v1/me").status_code == 200
    assert audit_rows(app) == []


def test_an_agent_lists_only_their_own_tokens(accounts):
    agent = accounts["agent"]
    assert agent.get(f"/api/v1/users/{agent.user_id}/tokens").status_code == 200
    other = accounts["partner_admin"].user_id
    assert agent.get(f"/api/v1/users/{other}/tokens").status_code == 404


# The document ---------------------------------------------------------------------------------


def test_the_openapi_document_lists_the_people_endpoints(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    expected = {
        "/api/v1/users": {"get"},
        "/api/v1/users/{user_id}": {"get", "patch"},
        "/api/v1/users/{user_id}/tokens": {"get"},
        "/api/v1/invitations": {"post"},
        "/api/v1/users/{user_id}/invitation": {"post", "delete"},
    }
    for path, methods in expected.items():
        assert set(paths[path]) - {"parameters"} == methods, path
        for method in methods:
            assert paths[path][method]["x-permission"], (path, method)
    invitation = paths["/api/v1/invitations"]["post"]
    assert {"201", "409", "422"} <= set(invitation["responses"])


def test_a_refused_change_changes_nothing_of_what_came_with_it(app, accounts):
    coordinator = accounts["coordinator"]
    with app.app_context():
        default = db.session.scalar(sa.select(Deployment.id).order_by(Deployment.id))
    change = {"deployment_ids": [default], "active": False}
    response = coordinator.patch(f"/api/v1/users/{coordinator.user_id}", json=change)
    assert response.status_code == 409, response.get_json()
    assert coordinator.get("/api/v1/me").get_json()["deployments"] == []
    assert audit_rows(app) == []
