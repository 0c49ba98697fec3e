"""People in the browser: invitations by e-mail through a real SMTP server, single-use links,
password resets, deactivation, and what partner admins may do — with the CSRF tokens on."""

import datetime as dt
import email.policy
import html
import re
from email.parser import BytesParser
from pathlib import Path

import pytest
import sqlalchemy as sa

from ohpunaises.extensions import db
from ohpunaises.models import AccountLink, AuditEvent, Structure, User
from ohpunaises.usecases import people

from . import smtp
from .conftest import make_user, signed_in_client
from .smtp import free_port
from .test_web_session import sign_in

smtp_server = smtp.smtp_server  # the fixture, used by name

BASE_URL = "https://ohpunaises.example.org"
GOOD_PASSWORD = "Tilleul-sur-la-Saone-42"
LINK = re.compile(re.escape(BASE_URL) + r"/(invitation|mot-de-passe)/([A-Za-z0-9_-]{20,})")


def text_of(response) -> str:
    """A page's HTML with its entities read ("n'est" rather than "n&#39;est")."""
    return html.unescape(response.get_data(as_text=True))


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def send_form(client, url: str, data: dict, page: str | None = None):
    """POST `data` to `url` with the CSRF token of `page` (default: the same address)."""
    token = csrf_of(text_of(client.get(page or url)))
    return client.post(url, data={**data, "csrf_token": token})


def link_in(message) -> str:
    """The path of the link a message carries (its plain text and HTML give the same)."""
    plain = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    links = {match.group(0) for match in LINK.finditer(plain)}
    assert len(links) == 1, plain
    (link,) = links
    assert link in html
    return link.removeprefix(BASE_URL)


def count(app, model, *where) -> int:
    with app.app_context():
        found = db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))
        db.session.remove()
    return found


def audited(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()
        db.session.expunge_all()
        db.session.remove()
    return events


def user_of(app, email: str) -> User | None:
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        if user is not None:
            db.session.expunge(user)
        db.session.remove()
    return user


@pytest.fixture
def mailing(make_app, smtp_server, accounts):
    """An application sending through a real SMTP server, with the `accounts` of conftest."""
    app = make_app(
        OHPUNAISES_SMTP_URL=smtp_server.url,
        OHPUNAISES_BASE_URL=BASE_URL,
        OHPUNAISES_MAIL_FROM="Oh Punaises! <ne-pas-repondre@ohpunaises.example.org>",
    )
    return app, smtp_server, accounts


def invite(app, accounts, who: str, data: dict):
    client = signed_in_client(app, accounts[who].user_id)
    return client, send_form(client, "/utilisateurs/inviter", data)


def agent_of_a(accounts, email="nouvelle@example.org", **extra) -> dict:
    data = {"email": email, "role": "agent", "structure_id": str(accounts["agent"].structure_id)}
    return {**data, "display_name": "Nadia Nouvelle", **extra}


# Invitations --------------------------------------------------------------------------------


def test_an_invitation_arrives_and_its_link_opens_the_account_once(mailing):
    app, server, accounts = mailing
    _client, response = invite(app, accounts, "coordinator", agent_of_a(accounts))
    page = text_of(response)
    assert response.status_code == 200
    assert "Invitation envoyée" in page
    assert BASE_URL not in page  # the link went by e-mail, never on screen

    (message,) = server.wait_for(1)
    assert message["To"] == "nouvelle@example.org"
    assert "Structure A" in message.get_body(("plain",)).get_content()
    path = link_in(message)
    invited = user_of(app, "nouvelle@example.org")
    assert invited.pending and invited.active and invited.role == "agent"
    assert invited.structure_id == accounts["agent"].structure_id

    newcomer = app.test_client()
    form = newcomer.get(path)
    assert form.status_code == 200 and form.headers["Cache-Control"] == "no-store"
    assert "il ne lui manque qu'un mot de passe" in text_of(form)

    short = send_form(newcomer, path, {"password": "court", "confirmation": "court"})
    assert short.status_code == 422
    assert "12 caractères" in text_of(short)
    common = "motdepasse123"
    weak = send_form(newcomer, path, {"password": common, "confirmation": common})
    assert weak.status_code == 422
    assert user_of(app, "nouvelle@example.org").pending  # nothing changed

    accepted = send_form(newcomer, path, {"password": GOOD_PASSWORD, "confirmation": GOOD_PASSWORD})
    assert accepted.status_code == 302
    assert newcomer.get("/saisie").status_code == 200  # signed in, on the report form
    assert not user_of(app, "nouvelle@example.org").pending

    again = app.test_client().get(path)
    assert again.status_code == 404
    assert "a expiré, a déjà servi ou n'est pas valide" in text_of(again)
    assert sign_in(app.test_client(), "nouvelle@example.org", GOOD_PASSWORD).status_code == 302

    (invited_event,) = audited(app, "user.invite")
    assert invited_event.details["role"] == "agent"
    assert len(audited(app, "user.invitation_accept")) == 1
    secret = path.rsplit("/", 1)[1]
    with app.app_context():
        texts = [str(e.details) for e in db.session.scalars(sa.select(AuditEvent))]
    assert not any(secret in text for text in texts)


def test_without_a_mail_server_the_link_is_shown_and_the_message_written(make_app, accounts):
    app = make_app(OHPUNAISES_BASE_URL=BASE_URL)
    _client, response = invite(app, accounts, "coordinator", agent_of_a(accounts))
    page = text_of(response)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    match = LINK.search(page)
    assert match is not None
    link = match.group(0)
    parser = BytesParser(policy=email.policy.default)
    written = [
        parser.parsebytes(path.read_bytes())
        for path in (Path(app.instance_path) / "mail").glob("*.eml")
    ]
    sent = [link_in(message) for message in written if message["To"] == "nouvelle@example.org"]
    assert link.removeprefix(BASE_URL) in sent
    assert app.test_client().get(link.removeprefix(BASE_URL)).status_code == 200


def test_an_address_already_used_is_refused_and_nothing_created(mailing):
    app, server, accounts = mailing
    before = count(app, User)
    _client, response = invite(
        app, accounts, "coordinator", agent_of_a(accounts, "AGENT@example.org")
    )
    assert response.status_code == 422
    assert "Cette adresse a déjà un compte." in text_of(response)
    assert count(app, User) == before
    assert count(app, AccountLink) == 0
    assert server.messages() == []


@pytest.mark.parametrize(
    "path",
    ["/invitation/forge-de-toutes-pieces-0123456789", "/mot-de-passe/forge-0123456789abcdef"],
)
def test_a_forged_link_is_a_french_page_and_changes_nothing(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "a expiré, a déjà servi ou n'est pas valide" in text_of(response)
    data = {"password": GOOD_PASSWORD, "confirmation": GOOD_PASSWORD}
    posted = send_form(client, path, data, page="/connexion")
    assert posted.status_code == 404


def test_an_expired_invitation_opens_nothing(mailing):
    app, server, accounts = mailing
    invite(app, accounts, "coordinator", agent_of_a(accounts))
    path = link_in(server.wait_for(1)[0])
    with app.app_context():
        past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        db.session.execute(sa.update(AccountLink).values(expires_at=past))
        db.session.commit()
    newcomer = app.test_client()
    assert newcomer.get(path).status_code == 404
    data = {"password": GOOD_PASSWORD, "confirmation": GOOD_PASSWORD}
    assert send_form(newcomer, path, data, page="/connexion").status_code == 404
    assert user_of(app, "nouvelle@example.org").pending


def test_a_failed_send_keeps_the_invitation_and_it_can_be_sent_again(make_app, accounts, tmp_path):
    closed = f"smtp://127.0.0.1:{free_port()}"
    app = make_app(OHPUNAISES_SMTP_URL=closed, OHPUNAISES_BASE_URL=BASE_URL)
    _coordinator, response = invite(app, accounts, "coordinator", agent_of_a(accounts))
    page = text_of(response)
    assert response.status_code == 200
    assert "L'invitation n'a pas pu être envoyée" in page
    assert LINK.search(page) is not None  # to pass on by hand meanwhile
    invited = user_of(app, "nouvelle@example.org")
    assert invited.pending and invited.active
    with app.app_context():
        link = db.session.scalar(sa.select(AccountLink))
        assert link.sent_at is None and link.send_error
        db.session.remove()

    with smtp.running_smtp_server(tmp_path / "smtp") as server:
        working = make_app(OHPUNAISES_SMTP_URL=server.url, OHPUNAISES_BASE_URL=BASE_URL)
        client = signed_in_client(working, accounts["coordinator"].user_id)
        url = f"/utilisateurs/{invited.id}/invitation/renvoyer"
        again = send_form(client, url, {}, page=f"/utilisateurs/{invited.id}")
        assert again.status_code == 200
        assert "Invitation envoyée" in text_of(again)
        path = link_in(server.wait_for(1)[0])
    old = LINK.search(page).group(0).removeprefix(BASE_URL)
    assert working.test_client().get(old).status_code == 404  # the former link stopped
    assert working.test_client().get(path).status_code == 200
    assert len(audited(app, "user.invite_again")) == 1


def test_a_revoked_invitation_stops_its_link_and_the_address_can_be_invited_again(mailing):
    app, server, accounts = mailing
    coordinator, _response = invite(app, accounts, "coordinator", agent_of_a(accounts))
    path = link_in(server.wait_for(1)[0])
    invited = user_of(app, "nouvelle@example.org")
    person = f"/utilisateurs/{invited.id}"
    revoked = send_form(coordinator, f"{person}/invitation/retirer", {}, page=person)
    assert revoked.status_code == 302
    assert app.test_client().get(path).status_code == 404
    assert not user_of(app, "nouvelle@example.org").active

    server.clear()
    _client, again = invite(app, accounts, "coordinator", agent_of_a(accounts))
    assert again.status_code == 200
    assert app.test_client().get(link_in(server.wait_for(1)[0])).status_code == 200
    assert count(app, User, User.email == "nouvelle@example.org") == 1


def test_links_never_reach_the_logs(mailing, capsys):
    app, server, accounts = mailing
    invite(app, accounts, "coordinator", agent_of_a(accounts))
    path = link_in(server.wait_for(1)[0])
    app.test_client().get(path)
    app.test_client().get("/mot-de-passe/inconnu-0123456789abcdef")
    logged = capsys.readouterr()
    secret = path.rsplit("/", 1)[1]
    assert secret not in logged.out + logged.err
    assert "inconnu-0123456789abcdef" not in logged.out + logged.err
    assert "/invitation/<token>" in logged.out + logged.err


# Password resets ----------------------------------------------------------------------------


def test_a_reset_gives_the_same_answer_and_sends_only_to_an_account(mailing):
    app, server, accounts = mailing
    client = app.test_client()
    known = send_form(client, "/mot-de-passe-oublie", {"email": "agent@example.org"})
    unknown = send_form(client, "/mot-de-passe-oublie", {"email": "personne@example.org"})
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"]
    (message,) = server.wait_for(1)
    assert message["To"] == "agent@example.org"
    assert server.messages() == [message] or len(server.messages()) == 1

    agent = signed_in_client(app, accounts["agent"].user_id)
    assert agent.get("/saisie").status_code == 200
    path = link_in(message)
    chosen = send_form(client, path, {"password": GOOD_PASSWORD, "confirmation": GOOD_PASSWORD})
    assert chosen.status_code == 302 and chosen.headers["Location"].endswith("/connexion")
    assert agent.get("/saisie").status_code == 302  # the open session ended
    assert sign_in(app.test_client(), "agent@example.org").status_code == 401
    assert sign_in(app.test_client(), "agent@example.org", GOOD_PASSWORD).status_code == 302
    assert app.test_client().get(path).status_code == 404  # single use
    assert len(audited(app, "user.password_reset")) == 1


def test_a_reset_link_lasts_one_hour(mailing):
    app, server, _accounts = mailing
    send_form(app.test_client(), "/mot-de-passe-oublie", {"email": "agent@example.org"})
    server.wait_for(1)
    with app.app_context():
        link = db.session.scalar(sa.select(AccountLink).where(AccountLink.purpose == "reset"))
        lifetime = link.expires_at - link.created_at
        db.session.remove()
    assert dt.timedelta(minutes=59) < lifetime <= dt.timedelta(hours=1)


def test_reset_requests_are_rate_limited_per_address(mailing):
    app, _server, _accounts = mailing
    client = app.test_client()
    statuses = [
        send_form(client, "/mot-de-passe-oublie", {"email": f"n{i}@example.org"}).status_code
        for i in range(11)
    ]
    assert statuses[:10] == [302] * 10
    assert statuses[10] == 429
    page = send_form(client, "/mot-de-passe-oublie", {"email": "x@example.org"})
    assert "Trop de demandes" in text_of(page)


def test_one_account_gets_at_most_three_reset_messages_an_hour(mailing):
    app, server, _accounts = mailing
    for _ in range(5):
        answer = send_form(
            app.test_client(), "/mot-de-passe-oublie", {"email": "agent@example.org"}
        )
        assert answer.status_code == 302  # the same answer, sent or not
    server.wait_for(3)
    assert len(server.messages()) == 3


# Deactivation -------------------------------------------------------------------------------


def test_deactivation_ends_the_open_session_and_the_tokens_at_once(mailing):
    app, _server, accounts = mailing
    agent = signed_in_client(app, accounts["agent"].user_id)
    assert agent.get("/saisie").status_code == 200
    token = accounts["agent"].token
    headers = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/api/v1/reports", headers=headers).status_code == 200

    coordinator = signed_in_client(app, accounts["coordinator"].user_id)
    person = f"/utilisateurs/{accounts['agent'].user_id}"
    done = send_form(coordinator, f"{person}/desactiver", {}, page=person)
    assert done.status_code == 302
    assert "sessions et ses jetons sont arrêtés" in text_of(coordinator.get(person))

    after = agent.get("/saisie")
    assert after.status_code == 302 and "/connexion" in after.headers["Location"]
    assert app.test_client().get("/api/v1/reports", headers=headers).status_code == 401
    assert sign_in(app.test_client(), "agent@example.org").status_code == 401

    send_form(coordinator, f"{person}/reactiver", {}, page=person)
    assert sign_in(app.test_client(), "agent@example.org").status_code == 302
    # Reactivated, the account starts with new tokens: those of a lost phone stay dead.
    assert app.test_client().get("/api/v1/reports", headers=headers).status_code == 401
    (event,) = audited(app, "user.deactivate")
    assert event.details == {"tokens_revoked": 1}


def test_the_last_active_coordinator_stays_one(app, accounts):
    client = accounts["coordinator"]
    me = f"/api/v1/users/{client.user_id}"
    refused = client.patch(me, json={"active": False})
    assert refused.status_code == 409
    assert "dernier compte de coordination" in refused.get_json()["detail"]
    assert user_of(app, "coordinator@example.org").active

    with app.app_context():
        make_user("second-coordinator@example.org", "coordinator")
        db.session.commit()
    assert client.patch(me, json={"active": False}).status_code == 200


def test_deactivating_a_structure_stops_its_accounts(app, accounts):
    coordinator = signed_in_client(app, accounts["coordinator"].user_id)
    structure = accounts["agent"].structure_id
    page = f"/structures/{structure}"
    done = send_form(coordinator, f"{page}/desactiver", {}, page=page)
    assert done.status_code == 302
    assert not user_of(app, "agent@example.org").active
    assert not user_of(app, "partner_admin@example.org").active
    assert user_of(app, "agent-b@example.org").active
    headers = {"Authorization": f"Bearer {accounts['agent'].token}"}
    assert app.test_client().get("/api/v1/reports", headers=headers).status_code == 401
    (event,) = audited(app, "structure.deactivate")
    assert sorted(event.details["accounts_deactivated"]) == sorted(
        [accounts["agent"].user_id, accounts["partner_admin"].user_id]
    )


# Partner admins -----------------------------------------------------------------------------


def test_a_partner_admin_invites_an_agent_of_their_own_structure_only(mailing):
    app, server, accounts = mailing
    admin = signed_in_client(app, accounts["partner_admin"].user_id)
    form = text_of(admin.get("/utilisateurs/inviter"))
    offered = set(re.findall(r'name="role"[^>]*value="([a-z_]+)"', form)) | set(
        re.findall(r'<option value="([a-z_]+)"[^>]*>', form)
    )
    assert "agent" in offered and "coordinator" not in offered and "partner_admin" not in offered

    other = {"email": "intrus@example.org", "role": "agent"}
    other["structure_id"] = str(accounts["agent_b"].structure_id)
    refused = send_form(admin, "/utilisateurs/inviter", other)
    assert refused.status_code == 422
    assert user_of(app, "intrus@example.org") is None

    promoted = send_form(admin, "/utilisateurs/inviter", {**other, "role": "coordinator"})
    assert promoted.status_code == 422
    assert user_of(app, "intrus@example.org") is None

    own = send_form(
        admin, "/utilisateurs/inviter", {"email": "recrue@example.org", "role": "agent"}
    )
    assert own.status_code == 200
    assert server.wait_for(1)[0]["To"] == "recrue@example.org"
    assert user_of(app, "recrue@example.org").structure_id == accounts["agent"].structure_id


def test_a_partner_admin_sees_only_their_structure(app, accounts):
    admin = signed_in_client(app, accounts["partner_admin"].user_id)
    listed = text_of(admin.get("/utilisateurs"))
    assert "agent@example.org" in listed
    assert "agent-b@example.org" not in listed
    assert "coordinator@example.org" not in listed
    other = accounts["agent_b"]
    assert admin.get(f"/utilisateurs/{other.user_id}").status_code == 404
    assert admin.get(f"/structures/{other.structure_id}").status_code == 404
    person = f"/utilisateurs/{accounts['agent'].user_id}"
    refused = send_form(admin, f"/utilisateurs/{other.user_id}/desactiver", {}, page=person)
    assert refused.status_code == 404
    assert user_of(app, "agent-b@example.org").active
    assert (
        admin.get("/ma-structure")
        .headers["Location"]
        .endswith(f"/structures/{accounts['agent'].structure_id}")
    )


def test_a_partner_admin_creates_a_token_for_their_structure_shown_once(app, accounts):
    admin = signed_in_client(app, accounts["partner_admin"].user_id)
    page = f"/structures/{accounts['agent'].structure_id}"
    data = {"owner_id": str(accounts["agent"].user_id), "name": "Logiciel de suivi", "days": "90"}
    created = send_form(admin, f"{page}/jetons", data, page=page)
    assert created.status_code == 201
    assert created.headers["Cache-Control"] == "no-store"
    secret = re.search(r'id="new-token" type="text" readonly value="([^"]{30,})"', text_of(created))
    assert secret is not None
    headers = {"Authorization": f"Bearer {secret.group(1)}"}
    assert app.test_client().get("/api/v1/reports", headers=headers).status_code == 200
    assert secret.group(1) not in text_of(admin.get(page))
    assert "Logiciel de suivi" in text_of(admin.get(page))


# Structures -----------------------------------------------------------------------------------


def test_a_coordinator_creates_and_edits_a_structure_with_its_contact(app, accounts):
    coordinator = signed_in_client(app, accounts["coordinator"].user_id)
    data = {
        "name": "Entraide Vaulx",
        "kind": "association",
        "commune": "69256",
        "onboarded_on": "2026-11-02",
        "contact_name": "Samia Haddad",
        "contact_function": "Coordinatrice",
        "contact_email": "s.haddad@entraide.example.org",
        "contact_phone": "04 78 00 00 00",
    }
    created = send_form(coordinator, "/structures/nouvelle", data)
    assert created.status_code == 302
    with app.app_context():
        structure = db.session.scalar(sa.select(Structure).where(Structure.name == data["name"]))
        assert structure.contact_email == data["contact_email"]
        assert structure.commune.code == "69256"
        structure_id = structure.id
        db.session.remove()
    listed = text_of(coordinator.get("/structures?q=vaulx"))
    assert "Entraide Vaulx" in listed and "Structure A" not in listed

    edit = f"/structures/{structure_id}/modifier"
    bad = send_form(coordinator, edit, {**data, "contact_email": "pas-une-adresse"})
    assert bad.status_code == 422
    changed = send_form(coordinator, edit, {**data, "contact_phone": "06 00 00 00 00"})
    assert changed.status_code == 302
    page = text_of(coordinator.get(f"/structures/{structure_id}"))
    assert "06 00 00 00 00" in page and "Samia Haddad" in page
    assert {e.action for e in audited(app, "structure.create")} == {"structure.create"}
    assert len(audited(app, "structure.update")) == 1


def test_the_structures_list_filters_silent_partners(app, accounts):
    with app.app_context():
        for structure in db.session.scalars(sa.select(Structure)):
            structure.onboarded_on = dt.date.today() - dt.timedelta(days=200)
        db.session.commit()
    coordinator = signed_in_client(app, accounts["coordinator"].user_id)
    quiet = text_of(coordinator.get("/structures?silencieuses=1"))
    assert "Structure A" in quiet and "Structure B" in quiet
    report = {
        "id": "0b7c4e3a-58f4-4f7e-9f0e-2d0c1a7e5b11",
        "intervention_date": dt.date.today().isoformat(),
        "commune": "69123",
        "housing": "social",
        "infestation_level": "low",
        "actions": ["diagnosis"],
    }
    assert accounts["agent"].post("/api/v1/reports", json=report).status_code == 201
    quiet = text_of(coordinator.get("/structures?silencieuses=1"))
    assert "Structure A" not in quiet and "Structure B" in quiet


def test_accounts_made_by_invitation_are_pending_until_they_choose(app, accounts):
    with app.app_context():
        from ohpunaises.permissions import Actor

        sent = people.invite(
            Actor.operator(),
            {"email": "attente@example.org", "role": "institution"},
            BASE_URL,
        )
        db.session.commit()
        assert sent.user.pending and sent.show_link
        db.session.remove()
    listed = accounts["coordinator"].get("/api/v1/users?status=pending").get_json()
    assert [user["email"] for user in listed] == ["attente@example.org"]
    assert sign_in(app.test_client(), "attente@example.org", "").status_code == 401
