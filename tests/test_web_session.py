"""Signing in and out of the web pages."""

import re

import pytest

from ohpunaises.extensions import db

from .conftest import make_user


def csrf_token(client, url="/connexion"):
    page = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def sign_in(client, email, password="mot-de-passe-solide", next_url=None):
    url = "/connexion" + (f"?next={next_url}" if next_url else "")
    data = {"email": email, "password": password, "csrf_token": csrf_token(client)}
    return client.post(url, data=data)


@pytest.fixture
def user(app):
    """A coordinator account, made outside any request (each request has its own context)."""
    with app.app_context():
        make_user("coord@example.org", "coordinator")
        db.session.commit()
    return "coord@example.org"


def test_pages_ask_to_sign_in_first(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/connexion")


def test_a_user_signs_in_and_lands_on_a_page_for_their_role(client, user):
    response = sign_in(client, "Coord@Example.org ")
    assert response.status_code == 302
    home = client.get(response.headers["Location"], follow_redirects=True)
    assert home.status_code == 200
    assert "Se déconnecter" in home.get_data(as_text=True)


def test_a_wrong_password_is_refused_in_french(client, user):
    response = sign_in(client, user, "mauvais")
    assert response.status_code == 401
    assert "Adresse ou mot de passe incorrect." in response.get_data(as_text=True)


def test_sign_in_never_redirects_to_another_site(app, user):
    landing = sign_in(app.test_client(), user).headers["Location"]
    assert landing.startswith("/") and not landing.startswith("//")
    for target in ("https://evil.example/", "//evil.example/"):
        response = sign_in(app.test_client(), user, next_url=target)
        assert response.headers["Location"] == landing
    assert sign_in(app.test_client(), user, next_url="/ok").headers["Location"] == "/ok"


def test_sign_in_without_the_csrf_token_is_refused(client):
    response = client.post("/connexion", data={"email": "a@b.c", "password": "x"})
    assert response.status_code == 400
    assert "Requête invalide" in response.get_data(as_text=True)


def test_signing_out_ends_the_session(client, user):
    sign_in(client, "coord@example.org")
    token = csrf_token(client, "/")
    assert client.post("/deconnexion", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302


def test_sign_in_attempts_are_rate_limited(make_app):
    app = make_app(OHPUNAISES_RATELIMIT_LOGIN="2 per minute")
    client = app.test_client()
    statuses = [sign_in(client, "nobody@example.org", "x").status_code for _ in range(3)]
    assert statuses == [401, 401, 429]


def test_an_unknown_page_is_an_html_404_in_french(client):
    response = client.get("/nulle-part")
    assert response.status_code == 404
    assert "Ressource introuvable" in response.get_data(as_text=True)


def test_a_nul_character_in_the_email_is_a_plain_refusal(client):
    assert sign_in(client, "a\x00b@example.org", "x").status_code == 401


def test_responses_carry_hardening_headers(client):
    for url in ("/connexion", "/api/v1/me", "/healthz"):
        response = client.get(url)
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"


def test_session_cookies_are_httponly_samesite_and_secure_in_production(client, user, tmp_path):
    from ohpunaises.config import load_settings

    response = sign_in(client, user)
    cookies = response.headers.getlist("Set-Cookie")
    assert cookies and all("HttpOnly" in c and "SameSite=Lax" in c for c in cookies)
    production = load_settings(str(tmp_path), {"SECRET_KEY": "a-long-enough-secret-key"})
    assert production["SESSION_COOKIE_SECURE"] and production["REMEMBER_COOKIE_SECURE"]
