"""`ohpunaises users list|invite|deactivate`: the operator's parity with the people pages."""

import re

import sqlalchemy as sa

from ohpunaises.auth import issue_token
from ohpunaises.extensions import db
from ohpunaises.models import AuditEvent, User

from . import smtp
from .conftest import make_structure, make_user
from .test_cli import ohpunaises

smtp_server = smtp.smtp_server  # the fixture, used by name

BASE_URL = "https://ohpunaises.example.org"


def test_users_list_filters_by_role_structure_and_status(app, database_url):
    with app.app_context():
        a = make_structure("Alpha Habitat", "69123")
        b = make_structure("Bêta Entraide", "69266")
        make_user("a1@example.org", "agent", a)
        make_user("a2@example.org", "partner_admin", a)
        make_user("b1@example.org", "agent", b).active = False
        make_user("coord@example.org", "coordinator")
        db.session.commit()
        a_id = a.id

    everyone = ohpunaises(database_url, "users", "list")
    assert everyone.returncode == 0, everyone.stderr
    assert "4 compte(s)." in everyone.stdout

    agents = ohpunaises(database_url, "users", "list", "--role", "agent").stdout
    assert "a1@example.org" in agents and "b1@example.org" in agents
    assert "a2@example.org" not in agents and "coord@example.org" not in agents

    of_a = ohpunaises(database_url, "users", "list", "--structure", str(a_id)).stdout
    assert re.findall(r"\S+@example\.org", of_a) == ["a1@example.org", "a2@example.org"]

    inactive = ohpunaises(database_url, "users", "list", "--status", "inactive").stdout
    assert re.findall(r"\S+@example\.org", inactive) == ["b1@example.org"]

    wrong = ohpunaises(database_url, "users", "list", "--role", "chef")
    assert wrong.returncode == 2 and "chef" in wrong.stderr


def test_users_invite_prints_the_link_without_a_mail_server(app, database_url):
    with app.app_context():
        structure_id = make_structure("Alpha Habitat", "69123").id
        db.session.commit()
    done = ohpunaises(
        database_url,
        "users",
        "invite",
        "--email",
        "Nouvelle@Example.org",
        "--role",
        "agent",
        "--structure",
        str(structure_id),
        OHPUNAISES_BASE_URL=BASE_URL,
    )
    assert done.returncode == 0, done.stderr
    assert "Compte invité : nouvelle@example.org (agent)." in done.stdout
    link = done.stdout.strip().splitlines()[-1]
    assert re.fullmatch(re.escape(BASE_URL) + r"/invitation/[A-Za-z0-9_-]{40,}", link)
    assert app.test_client().get(link.removeprefix(BASE_URL)).status_code == 200

    again = ohpunaises(
        database_url, "users", "invite", "--email", "nouvelle@example.org", "--role", "agent",
        "--structure", str(structure_id), OHPUNAISES_BASE_URL=BASE_URL,
    )  # fmt: skip
    assert again.returncode == 1
    assert again.stderr.startswith("Erreur :") and "invitation attend déjà" in again.stderr
    assert "Traceback" not in again.stderr

    agent_without_structure = ohpunaises(
        database_url, "users", "invite", "--email", "x@example.org", "--role", "agent",
        OHPUNAISES_BASE_URL=BASE_URL,
    )  # fmt: skip
    assert agent_without_structure.returncode == 1
    assert "structure" in agent_without_structure.stderr
    with app.app_context():
        assert db.session.scalar(sa.select(User).where(User.email == "x@example.org")) is None


def test_users_invite_sends_through_the_mail_server_and_prints_no_link(
    app, database_url, smtp_server
):
    done = ohpunaises(
        database_url,
        "users",
        "invite",
        "--email",
        "evaluation@example.org",
        "--role",
        "evaluator",
        "--language",
        "en",
        OHPUNAISES_BASE_URL=BASE_URL,
        OHPUNAISES_SMTP_URL=smtp_server.url,
    )
    assert done.returncode == 0, done.stderr
    assert "/invitation/" not in done.stdout
    (message,) = smtp_server.wait_for(1)
    assert message["To"] == "evaluation@example.org"
    assert f"{BASE_URL}/invitation/" in message.get_body(("plain",)).get_content()
    assert "invit" in message["Subject"].lower() and "Vous" not in message["Subject"]


def test_users_deactivate_stops_the_tokens_and_is_audited(app, database_url):
    with app.app_context():
        user = make_user("leaving@example.org", "agent", make_structure("Alpha", "69123"))
        token, _record = issue_token(user)
        db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/api/v1/reports", headers=headers).status_code == 200

    done = ohpunaises(database_url, "users", "deactivate", "--email", "Leaving@example.org")
    assert done.returncode == 0, done.stderr
    assert "Compte désactivé : leaving@example.org." in done.stdout
    assert app.test_client().get("/api/v1/reports", headers=headers).status_code == 401
    with app.app_context():
        (event,) = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "user.deactivate")
        ).all()
        assert event.actor == "cli" and event.user_id is None

    unknown = ohpunaises(database_url, "users", "deactivate", "--email", "nobody@example.org")
    assert unknown.returncode == 1 and unknown.stderr.startswith("Erreur :")


def test_the_last_coordinator_is_not_deactivated_from_the_command_line(app, database_url):
    with app.app_context():
        make_user("only@example.org", "coordinator")
        db.session.commit()
    refused = ohpunaises(database_url, "users", "deactivate", "--email", "only@example.org")
    assert refused.returncode == 1
    assert "dernier compte de coordination" in refused.stderr
