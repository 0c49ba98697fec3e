"""Sessions that end on the server, sign-ins counted everywhere, and what a signed-in page
leaves behind."""

import datetime as dt
import re

import pytest
import requests
import sqlalchemy as sa

from ohpunaises import auth
from ohpunaises.auth import issue_token
from ohpunaises.extensions import db
from ohpunaises.models import User

from .conftest import make_user
from .test_gunicorn import gunicorn
from .test_web_session import csrf_token, sign_in

EMAIL = "agent@example.org"


@pytest.fixture
def agent(app):
    with app.app_context():
        make_user(EMAIL, "agent")
        db.session.commit()
    return EMAIL


def sign_in_as(client, email=EMAIL, password="mot-de-passe-solide", remember=False):
    data = {"email": email, "password": password, "csrf_token": csrf_token(client)}
    if remember:
        data["remember"] = "1"
    return client.post("/connexion", data=data)


def cookies_of(client) -> dict[str, str]:
    return {cookie.key: cookie.value for cookie in client._cookies.values()}


def test_signing_out_ends_the_session_and_its_copied_cookies(app, agent):
    client = app.test_client()
    assert sign_in_as(client, remember=True).status_code == 302
    copied = cookies_of(client)
    assert {"session", "remember_token"} <= set(copied)
    token = csrf_token(client, "/")
    response = client.post("/deconnexion", data={"csrf_token": token})
    assert response.headers["Clear-Site-Data"] == '"cache"'
    thief = app.test_client()
    for name, value in copied.items():
        thief.set_cookie(name, value)
    page = thief.get("/mes-signalements")
    assert page.status_code == 302 and "/connexion" in page.headers["Location"]
    remembered = app.test_client()
    remembered.set_cookie("remember_token", copied["remember_token"])
    assert remembered.get("/mes-signalements").status_code == 302


def test_remember_me_only_when_ticked(app, agent):
    plain = sign_in_as(app.test_client())
    assert not any("remember_token" in c for c in plain.headers.getlist("Set-Cookie"))
    ticked = sign_in_as(app.test_client(), remember=True)
    assert any("remember_token" in c for c in ticked.headers.getlist("Set-Cookie"))


def test_a_session_ends_on_the_server_when_its_time_is_up(app, agent):
    client = app.test_client()
    sign_in_as(client)
    assert client.get("/mes-signalements").status_code == 200
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == EMAIL))
        expires = user.session_expires_at - dt.datetime.now(dt.UTC)
        assert dt.timedelta(hours=11) < expires <= dt.timedelta(hours=12)
        user.session_expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        db.session.commit()
    assert client.get("/mes-signalements").status_code == 302


def test_the_csrf_token_is_renewed_at_sign_in(app, agent):
    """A token seen before signing in (on a shared computer, say) no longer passes after."""
    client = app.test_client()
    before = csrf_token(client)
    sign_in_as(client)
    assert client.post("/deconnexion", data={"csrf_token": before}).status_code == 400
    after = csrf_token(client, "/saisie")
    assert client.post("/deconnexion", data={"csrf_token": after}).status_code == 302


def test_sign_in_failures_are_counted_by_every_worker_together(app, agent, database_url):
    """gunicorn with four workers, each attempt on a new connection, whichever takes it."""
    with gunicorn(
        database_url, OHPUNAISES_RATELIMIT_LOGIN="4 per minute", WEB_CONCURRENCY="4"
    ) as base:
        statuses = [http_sign_in(base, "faux") for _attempt in range(12)]
        right = http_sign_in(base, "mot-de-passe-solide")  # even the right password waits
    assert statuses == [401] * 4 + [429] * 8
    assert right == 429


def http_sign_in(base: str, password: str) -> int:
    with requests.Session() as browser:
        browser.headers["Connection"] = "close"
        page = browser.get(f"{base}/connexion", timeout=10).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        data = {"email": EMAIL, "password": password, "csrf_token": token}
        return browser.post(
            f"{base}/connexion", data=data, allow_redirects=False, timeout=10
        ).status_code


def test_sign_in_failures_are_counted_per_account_from_every_address(app, agent):
    statuses = []
    for attempt in range(12):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.0.0.{attempt}"
        statuses.append(sign_in_as(client, password="faux").status_code)
    assert statuses == [401] * 10 + [429] * 2
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.0.1.1"
    assert "Trop de tentatives" in sign_in_as(other).get_data(as_text=True)


def test_an_unknown_address_costs_one_argon2_verification_like_a_known_one(app, agent, monkeypatch):
    calls = []
    verify = auth.verify_password

    def counted(hashed, password):
        calls.append(hashed)
        return verify(hashed, password)

    monkeypatch.setattr(auth, "verify_password", counted)
    sign_in_as(app.test_client(), password="faux")
    sign_in_as(app.test_client(), email="personne@example.org", password="faux")
    assert len(calls) == 2
    assert all(hashed.startswith("$argon2id$") for hashed in calls)


def test_pages_for_an_account_are_never_stored(app, agent):
    client = app.test_client()
    assert "no-store" not in client.get("/connexion").headers.get("Cache-Control", "")
    sign_in_as(client)
    for url in ("/", "/saisie", "/mes-signalements", "/indicateurs", "/carte"):
        assert client.get(url).headers["Cache-Control"] == "no-store", url
    asset = client.get("/static/css/app.css")
    assert asset.headers.get("Cache-Control") != "no-store"  # files are not the account's
    asset.close()


def test_api_answers_for_an_account_are_never_stored(app, agent):
    with app.app_context():
        token = issue_token(db.session.scalar(sa.select(User).where(User.email == EMAIL)))[0]
        db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    for url in ("/api/v1/me", "/api/v1/exports/dictionary.csv", "/api/v1/indicators"):
        assert client.get(url, headers=headers).headers["Cache-Control"] == "no-store", url


def test_a_bearer_token_opens_the_api_only(app, agent):
    with app.app_context():
        token = issue_token(db.session.scalar(sa.select(User).where(User.email == EMAIL)))[0]
        db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    for url in ("/mes-signalements", "/saisie", "/indicateurs"):
        page = client.get(url, headers=headers)
        assert page.status_code == 302 and "/connexion" in page.headers["Location"], url


def test_production_answers_carry_hsts(make_app):
    production = make_app(OHPUNAISES_ENV="production")
    response = production.test_client().get("/connexion")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_the_development_answers_carry_no_hsts(client):
    assert "Strict-Transport-Security" not in client.get("/connexion").headers


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_control_characters_in_next_are_a_400(app, agent, method):
    client = app.test_client()
    url = "/connexion?next=/x%0D%0ASet-Cookie:%20pris=1"
    data = {"email": EMAIL, "password": "mot-de-passe-solide", "csrf_token": csrf_token(client)}
    response = client.open(url, method=method, data=data if method == "POST" else None)
    assert response.status_code == 400
    assert "Set-Cookie" not in str(response.headers.get("Location"))


def test_the_service_worker_forgets_the_signed_in_page_at_the_sign_in_page(client):
    page = client.get("/connexion").get_data(as_text=True)
    assert "js/signed-out.js" in page
    worker = client.get("/sw.js").get_data(as_text=True)
    assert '"signed-out"' in worker and "cache.delete(PAGE)" in worker


def test_a_signed_in_session_with_a_bogus_token_beside_it_keeps_its_own_limit(make_app, app):
    limited = make_app(OHPUNAISES_RATELIMIT_API="3 per minute")
    with limited.app_context():
        make_user(EMAIL, "agent")
        db.session.commit()
    client = limited.test_client()
    sign_in(client, EMAIL)
    statuses = [
        client.get("/api/v1/me", headers={"Authorization": f"Bearer junk-{n}"}).status_code
        for n in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
