"""Accounts and tokens: created from the command line, shown once, stored hashed, revocable."""

import datetime as dt

import sqlalchemy as sa

from ohpunaises.extensions import db
from ohpunaises.models import ApiToken, User

from .conftest import ApiClient, signed_in_client


def last_line(output):
    return output.strip().splitlines()[-1]


def test_an_operator_creates_a_structure_a_user_and_a_token(app, runner, client):
    created = runner.invoke(
        args=[
            "structures",
            "create",
            "--name",
            "Habitat Est",
            "--kind",
            "social_landlord",
            "--commune",
            "69259",
        ]
    )
    assert created.exit_code == 0, created.output
    structure_id = last_line(created.output)
    assert structure_id.isdigit()
    user = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "Agent@Habitat.example",
            "--role",
            "agent",
            "--structure",
            structure_id,
        ]
    )
    assert user.exit_code == 0, user.output
    assert "Mot de passe (affiché une seule fois)" in user.output
    token_run = runner.invoke(args=["tokens", "create", "--email", "agent@habitat.example"])
    assert token_run.exit_code == 0, token_run.output
    token = last_line(token_run.output)
    me = ApiClient(client, token).get("/api/v1/me").get_json()
    assert (me["email"], me["role"], me["structure"]["name"]) == (
        "agent@habitat.example",
        "agent",
        "Habitat Est",
    )
    assert me["structure"]["deployment"] == "Métropole de Lyon"
    with app.app_context():
        stored = db.session.scalars(sa.select(ApiToken.token_hash)).all()
    assert token not in stored and len(stored) == 1 and len(stored[0]) == 64


def test_cli_refusals_are_clear(runner):
    unknown = runner.invoke(
        args=["structures", "create", "--name", "X", "--kind", "other", "--commune", "75056"]
    )
    assert (unknown.exit_code, "Commune inconnue : 75056." in unknown.output) == (1, True)
    no_structure = runner.invoke(
        args=["users", "create", "--email", "a@b.example", "--role", "agent"]
    )
    assert no_structure.exit_code == 1
    assert "Ce rôle demande une structure" in no_structure.output
    no_user = runner.invoke(args=["tokens", "create", "--email", "nobody@b.example"])
    assert (no_user.exit_code, "Compte inconnu" in no_user.output) == (1, True)


def test_a_coordinator_account_needs_no_structure(app, runner):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "coord@example.org",
            "--role",
            "coordinator",
            "--password",
            "un-long-secret",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Mot de passe" not in result.output
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "coord@example.org"))
        assert user.password_hash.startswith("$argon2id$")


def test_a_token_created_through_the_api_is_shown_once(accounts):
    agent = accounts["agent"]
    created = agent.post("/api/v1/tokens", json={"name": "logiciel bailleur", "days": 30})
    assert created.status_code == 201
    token = created.get_json()["token"]
    listed = agent.get("/api/v1/tokens").get_json()
    assert all("token" not in item for item in listed)
    assert "logiciel bailleur" in [item["name"] for item in listed]
    assert ApiClient(agent.client, token).get("/api/v1/me").status_code == 200


def test_a_revoked_token_is_refused(accounts):
    agent = accounts["agent"]
    created = agent.post("/api/v1/tokens", json={"name": "à révoquer"}).get_json()
    other = ApiClient(agent.client, created["token"])
    assert other.get("/api/v1/me").status_code == 200
    assert agent.delete(f"/api/v1/tokens/{created['id']}").status_code == 204
    assert other.get("/api/v1/me").status_code == 401


def test_a_token_cannot_revoke_another_users_token(accounts):
    created = accounts["agent"].post("/api/v1/tokens", json={}).get_json()
    assert accounts["agent_b"].delete(f"/api/v1/tokens/{created['id']}").status_code == 404


def test_an_expired_token_is_refused(app, accounts):
    with app.app_context():
        db.session.execute(
            sa.update(ApiToken).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
        db.session.commit()
    response = accounts["agent"].get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_deactivated_account_loses_its_tokens(app, accounts):
    with app.app_context():
        db.session.execute(sa.update(User).values(active=False))
        db.session.commit()
    assert accounts["agent"].get("/api/v1/me").status_code == 401


def test_an_unknown_token_is_refused(client):
    assert ApiClient(client, "ohp_not-a-token").get("/api/v1/me").status_code == 401


def test_a_cookie_session_must_send_the_csrf_token_to_write(app, accounts):
    client = signed_in_client(app, accounts["agent"].user_id)
    assert client.get("/api/v1/me").status_code == 200
    response = client.post("/api/v1/reports", json={"housing": "social"})
    assert response.status_code == 400
    assert response.content_type == "application/problem+json"


def token_expiry(app, token_id):
    with app.app_context():
        return db.session.get(ApiToken, token_id).expires_at


def shorten(app, client: ApiClient, days: int):
    """Make the token `client` acts with expire in `days` days."""
    from ohpunaises.auth import token_digest

    with app.app_context():
        record = db.session.scalar(
            sa.select(ApiToken).where(ApiToken.token_hash == token_digest(client.token))
        )
        record.expires_at = dt.datetime.now(dt.UTC) + dt.timedelta(days=days, hours=1)
        db.session.commit()
        return record.expires_at


def test_a_token_cannot_mint_a_token_that_outlives_it(app, accounts):
    agent = accounts["agent"]
    limit = shorten(app, agent, 30)
    refused = agent.post("/api/v1/tokens", json={"name": "plus long", "days": 31})
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["field"] == "days"
    assert "30 jour(s) au plus" in refused.get_json()["errors"][0]["message"]
    allowed = agent.post("/api/v1/tokens", json={"name": "aussi long", "days": 30})
    assert allowed.status_code == 201
    assert token_expiry(app, allowed.get_json()["id"]) <= limit


def test_a_token_minted_without_a_duration_expires_with_its_parent(app, accounts):
    agent = accounts["agent"]
    limit = shorten(app, agent, 10)
    created = agent.post("/api/v1/tokens", json={"name": "par défaut"})
    assert created.status_code == 201
    assert token_expiry(app, created.get_json()["id"]) == limit


def test_a_signed_in_session_mints_a_token_of_a_year_by_default(app, accounts):
    created = accounts["coordinator"].post("/api/v1/tokens", json={"name": "un an"})
    expires = token_expiry(app, created.get_json()["id"])
    assert dt.timedelta(days=364) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(days=365)


def test_no_token_is_minted_for_a_higher_role(app, accounts):
    with app.app_context():
        coordinator = db.session.get(User, accounts["coordinator"].user_id)
        partner_admin = db.session.get(User, accounts["partner_admin"].user_id)
        coordinator_id, partner_admin_id = coordinator.id, partner_admin.id
    for role, owner in (("agent", partner_admin_id), ("partner_admin", coordinator_id)):
        response = accounts[role].post("/api/v1/tokens", json={"user_id": owner})
        assert response.status_code == 403, (role, response.get_json())
    with app.app_context():
        owners = db.session.scalars(sa.select(ApiToken.user_id)).all()
    assert owners.count(coordinator_id) == owners.count(partner_admin_id) == 1


def test_a_partner_admin_mints_a_token_for_an_agent_of_their_structure_only(app, accounts):
    agent_a, agent_b = accounts["agent"].user_id, accounts["agent_b"].user_id
    partner_admin = accounts["partner_admin"]
    made = partner_admin.post("/api/v1/tokens", json={"name": "SI du bailleur", "user_id": agent_a})
    assert made.status_code == 201, made.get_json()
    me = ApiClient(partner_admin.client, made.get_json()["token"]).get("/api/v1/me").get_json()
    assert (me["id"], me["role"]) == (agent_a, "agent")
    other = partner_admin.post("/api/v1/tokens", json={"user_id": agent_b})
    assert other.status_code == 404
    agent = accounts["agent"].post("/api/v1/tokens", json={"user_id": accounts["agent_b"].user_id})
    assert agent.status_code == 404
