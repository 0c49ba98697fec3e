"""HTTP hardening: one Content-Security-Policy per page, nonced inline scripts, cookie flags.

Every HTML surface is walked as the role that opens it: the policy allows the site's own
scripts and the inline ones carrying this response's nonce, never 'unsafe-eval' nor inline
script; pages are framed by no site but the embedded map; data (JSON, CSV) runs nothing.
"""

import datetime as dt
import re
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from ohpunaises.config import ConfigError, load_settings
from ohpunaises.extensions import db
from ohpunaises.models import User

from .conftest import make_report, make_structure, make_user, signed_in_client

ROLES = ("agent", "partner_admin", "coordinator", "institution", "evaluator")
OSM = "https://tile.openstreetmap.org"


@pytest.fixture
def people(app):
    """One account per role (field roles in a Lyon structure), and reports to draw."""
    with app.app_context():
        lyon = make_structure("Régie Lyon", "69123", "social_landlord")
        for role in ROLES:
            make_user(f"{role}@example.org", role, lyon if role in ROLES[:2] else None)
        for day in range(1, 7):
            make_report(lyon, "69266", dt.date(2025, 3, day), (4.88 + day / 1000, 45.77))
        db.session.commit()
    return app


def signed_in(app, email):
    """A test client signed in as `email` through its session (the sign-in form is rate limited
    and tested in test_web_session); an anonymous client when `email` is None."""
    if email is None:
        return app.test_client()
    with app.app_context():
        user_id = db.session.scalar(sa.select(User.id).where(User.email == email))
        db.session.remove()
    return signed_in_client(app, user_id)


class PageScan(HTMLParser):
    """What a page would run: its scripts, its event-handler attributes, its javascript: URLs."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.scripts, self.handlers, self.javascript_urls, self.elements = [], [], [], []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.elements.append((tag, attributes))
        if tag == "script":
            self.scripts.append(attributes)
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append((tag, name, value))
            url = (name in ("href", "src", "action", "formaction", "data") and value) or ""
            if url.strip().lower().startswith("javascript:"):
                self.javascript_urls.append((tag, name, value))

    handle_startendtag = handle_starttag


def policy_of(response) -> dict[str, list[str]]:
    """The response's one Content-Security-Policy, directive by directive."""
    policies = response.headers.getlist("Content-Security-Policy")
    assert len(policies) == 1, policies
    directives = {}
    for directive in policies[0].split(";"):
        name, *sources = directive.split()
        assert name not in directives, f"{name} twice"
        directives[name] = sources
    return directives


def nonce_of(response) -> str:
    (nonce,) = [
        source[len("'nonce-") : -1]
        for source in policy_of(response)["script-src"]
        if source.startswith("'nonce-")
    ]
    assert len(nonce) >= 22  # 128 bits and more, base64
    return nonce


def assert_hardened_page(response, frame_ancestors=("'none'",), tiles=OSM):
    """The headers and the markup every HTML page must have; returns the page's scan."""
    assert response.mimetype == "text/html"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    policy = policy_of(response)
    nonce = nonce_of(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'", f"'nonce-{nonce}'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["frame-ancestors"] == list(frame_ancestors)
    assert policy["img-src"] == ["'self'", "data:", *([tiles] if tiles else [])]
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    everything = " ".join(" ".join(sources) for sources in policy.values())
    assert "unsafe-eval" not in everything
    assert "*" not in " ".join(policy["script-src"] + policy["default-src"])
    if frame_ancestors == ("'none'",):
        assert response.headers["X-Frame-Options"] == "DENY"
    scan = PageScan(response.get_data(as_text=True))
    inline = [script for script in scan.scripts if "src" not in script]
    assert all(script.get("nonce") == nonce for script in inline), inline
    assert scan.handlers == []
    assert scan.javascript_urls == []
    return scan


# (email of the role, or None for the public; address; status) of every HTML surface.
SURFACES = [
    (None, "/connexion", 200),
    (None, "/nulle-part", 404),
    ("agent@example.org", "/", 200),
    ("agent@example.org", "/saisie", 200),
    ("agent@example.org", "/mes-signalements", 200),
    ("agent@example.org", "/indicateurs", 200),
    ("agent@example.org", "/carte", 200),
    ("agent@example.org", "/api/v1/docs", 200),
    ("agent@example.org", "/journal", 403),
    ("agent@example.org", "/carte?level=qpv", 400),
    ("partner_admin@example.org", "/exports", 200),
    ("coordinator@example.org", "/saisie", 200),
    ("coordinator@example.org", "/mes-signalements", 200),
    ("coordinator@example.org", "/indicateurs?level=arrondissement", 200),
    ("coordinator@example.org", "/carte", 200),
    ("coordinator@example.org", "/carte?level=arrondissement&indicator=reports", 200),
    ("coordinator@example.org", "/exports", 200),
    ("coordinator@example.org", "/exports/dictionnaire", 200),
    ("coordinator@example.org", "/journal", 200),
    ("institution@example.org", "/carte", 200),
    ("evaluator@example.org", "/exports", 200),
]


@pytest.mark.parametrize(("email", "url", "status"), SURFACES)
def test_every_page_sends_one_strict_policy_that_its_scripts_satisfy(people, email, url, status):
    response = signed_in(people, email).get(url)
    assert response.status_code == status
    assert_hardened_page(response)


def test_the_public_pages_and_the_embedded_map_are_hardened_too(people, make_app):
    public = make_app(
        OHPUNAISES_PUBLIC_PAGE="1",
        OHPUNAISES_EMBED="1",
        OHPUNAISES_EMBED_ORIGINS="https://www.grandlyon.com",
    )
    client = public.test_client()
    advocacy = client.get("/plaidoyer")
    assert advocacy.status_code == 200
    assert_hardened_page(advocacy)
    embedded = client.get("/carte/embed?indicator=reports")
    assert embedded.status_code == 200
    scan = assert_hardened_page(embedded, ("'self'", "https://www.grandlyon.com"))
    assert "X-Frame-Options" not in embedded.headers
    assert sum("src" not in script for script in scan.scripts) == 1  # folium's map script


def test_error_pages_for_bodies_and_methods_are_hardened(people, make_app):
    small = make_app(OHPUNAISES_MAX_BODY_BYTES="2048")
    client = signed_in(small, "agent@example.org")
    for response, status in (
        (client.post("/connexion", data={"email": "x" * 5000}), 413),
        (client.post("/saisie", json={"notes": "x"}), 415),
        (client.post("/mes-signalements"), 405),
        (client.post("/saisie", data={"notes": "sans jeton"}), 400),
    ):
        assert response.status_code == status
        assert_hardened_page(response)


def test_the_nonce_is_new_on_every_response(people):
    client = signed_in(people, "coordinator@example.org")
    nonces = set()
    for _ in range(3):
        response = client.get("/carte")
        nonce = nonce_of(response)
        scan = assert_hardened_page(response)
        assert [s["nonce"] for s in scan.scripts if "src" not in s] == [nonce]  # the map's
        nonces.add(nonce)
    assert len(nonces) == 3
    docs = client.get("/api/v1/docs")
    assert nonce_of(docs) not in nonces


def test_the_maps_and_the_form_carry_no_inline_code_but_their_nonced_scripts(people):
    client = signed_in(people, "coordinator@example.org")
    html = client.get("/carte").get_data(as_text=True)
    # Markup the map's script builds (tooltips, icons) holds no handler either.
    assert not re.search(r"<[a-z][^<>]*\son[a-z]+\s*=", html, re.IGNORECASE)
    assert "javascript:" not in html
    assert "eval(" not in html and "new Function" not in html
    form = PageScan(client.get("/saisie").get_data(as_text=True))
    assert [(s.get("type"), s.get("src")) for s in form.scripts] == [
        ("application/json", None),
        ("module", "/static/js/report-form.js"),
    ]


def test_the_api_docs_run_from_static_scripts_and_ask_no_other_site(people):
    response = signed_in(people, "agent@example.org").get("/api/v1/docs")
    scan = assert_hardened_page(response)
    sources = [script.get("src") for script in scan.scripts if "src" in script]
    assert sources == ["/api/v1/docs/assets/swagger-ui-bundle.js", "/static/js/api-docs.js"]
    html = response.get_data(as_text=True)
    settings = re.search(r'id="swagger-ui-config"[^>]*>([^<]*)</script>', html).group(1)
    assert '"validatorUrl": null' in settings  # no badge fetched from validator.swagger.io
    assert '"url": "/api/v1/openapi.json"' in settings


def test_data_responses_run_nothing_and_are_framed_nowhere(people):
    client = signed_in(people, "coordinator@example.org")
    data_policy = {"default-src": ["'none'"], "frame-ancestors": ["'none'"]}
    for url in (
        "/api/v1/me",
        "/api/v1/nothing-here",
        "/api/v1/exports/reports.csv",
        "/api/v1/exports/territories.geojson",
        "/healthz",
    ):
        response = client.get(url)
        assert response.status_code in (200, 404), url
        assert policy_of(response) == data_policy, url
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_tiles_are_allowed_from_their_origin_only(people, make_app):
    subdomains = make_app(OHPUNAISES_TILE_URL="https://{s}.tuiles.example.fr:8443/{z}/{x}/{y}.png")
    response = signed_in(subdomains, "institution@example.org").get("/carte")
    assert_hardened_page(response, tiles="https://*.tuiles.example.fr:8443")
    local = make_app(OHPUNAISES_TILE_URL="/tuiles/{z}/{x}/{y}.png")
    assert_hardened_page(signed_in(local, "institution@example.org").get("/carte"), tiles=None)


@pytest.mark.parametrize(
    "url",
    [
        "https://tiles.example.fr;script-src/{z}/{x}/{y}.png",
        "https://tiles.example.fr 'unsafe-inline'/{z}/{x}/{y}.png",
        "javascript:alert(1)//{z}/{x}/{y}",
        "//tiles.example.fr/{z}/{x}/{y}.png",
        "https://{s}/{z}/{x}/{y}.png",
    ],
)
def test_a_tile_address_that_would_bend_the_policy_stops_the_start(tmp_path, url):
    env = {"OHPUNAISES_ENV": "test", "OHPUNAISES_TILE_URL": url}
    with pytest.raises(ConfigError, match="OHPUNAISES_TILE_URL"):
        load_settings(str(tmp_path), env)


# Cookies ------------------------------------------------------------------------------------


def sign_in_for_real(app, email, password="mot-de-passe-solide"):
    """The sign-in form, CSRF token and all, "stay signed in" ticked; returns the response
    that sets the cookies."""
    client = app.test_client()
    page = client.get("/connexion").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    data = {"email": email, "password": password, "csrf_token": token, "remember": "1"}
    return client.post("/connexion", data=data)


def cookies_of(response) -> dict[str, set[str]]:
    """{cookie name: its attributes' names, lower case}."""
    cookies = {}
    for header in response.headers.getlist("Set-Cookie"):
        name = header.split("=", 1)[0]
        cookies[name] = {part.split("=")[0].strip().lower() for part in header.split(";")[1:]}
        if "samesite" in cookies[name]:
            samesite = re.search(r"SameSite=(\w+)", header).group(1)
            cookies[name].add(f"samesite={samesite.lower()}")
    return cookies


@pytest.mark.parametrize(("environment", "secure"), [("production", True), ("development", False)])
def test_cookies_are_httponly_samesite_and_secure_outside_development(
    people, make_app, environment, secure
):
    served = make_app(OHPUNAISES_ENV=environment)
    response = sign_in_for_real(served, "agent@example.org")
    assert response.status_code == 302
    cookies = cookies_of(response)
    assert set(cookies) == {"session", "remember_token"}
    for name, attributes in cookies.items():
        assert "httponly" in attributes, name
        assert "samesite=lax" in attributes, name
        assert ("secure" in attributes) is secure, name
