"""Territorial maps: what each role sees on them, what they load, and who may frame them.

The dataset: reports in three communes, Bron 3 (under K = 5), Vénissieux 6 (hidden as the
complement of Bron for everyone but the coordination) and Villeurbanne 8; each report at a
distinctive point. Two structures: "Structure A" in Lyon and one named like a script.
"""

import datetime as dt
import json
import re

import pytest
import sqlalchemy as sa
from geoalchemy2.shape import from_shape
from selenium.webdriver.common.by import By
from shapely.geometry import MultiPolygon, box

from ohpunaises.config import ConfigError, load_settings
from ohpunaises.extensions import db
from ohpunaises.models import Territory, User
from ohpunaises.privacy import MAX_PERTURBATION as MOST

from .browser import chromium, sign_in, wait_until
from .conftest import make_report, make_structure, make_user, signed_in_client
from .test_gunicorn import gunicorn

ROLES = ("agent", "partner_admin", "coordinator", "institution", "evaluator")
HOSTILE = "<script>alert(1)</script>"
REPORTS = {"69029": 3, "69259": 6, "69266": 8}  # Bron, Vénissieux, Villeurbanne
TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"


def point_of(code: str, number: int) -> tuple[float, float]:
    """A distinctive (lon, lat) per report: 4.8xxx1, 45.7xxx3."""
    base = {"69029": (4.9101, 45.7303), "69259": (4.8801, 45.7003), "69266": (4.8901, 45.7703)}
    lon, lat = base[code]
    return round(lon + number * 0.0001, 5), round(lat + number * 0.0001, 5)


@pytest.fixture
def dataset(app):
    with app.app_context():
        lyon = make_structure("Structure A", "69123", "social_landlord")
        hostile = make_structure(HOSTILE, "69266", "association")
        for role in ROLES:
            make_user(f"{role}@example.org", role, lyon if role in ROLES[:2] else None)
        for code, count in REPORTS.items():
            for number in range(count):
                day = dt.date(2025, 3, 1 + number)
                make_report(hostile, code, day, point_of(code, number))
        db.session.commit()
    return app


def page_as(app, role: str, url: str = "/carte"):
    """The page as a signed-in user of the role (signed in through the session directly: the
    sign-in form is rate limited, and its own tests are in test_web_session)."""
    with app.app_context():
        user_id = db.session.scalar(sa.select(User.id).where(User.email == f"{role}@example.org"))
        db.session.remove()
    return signed_in_client(app, user_id).get(url)


def tooltips(html: str) -> dict[str, dict]:
    """The properties of every territory drawn, by name."""
    found = [json.loads(text) for text in re.findall(r'"properties": (\{[^{}]*\})', html)]
    return {properties["name"]: properties for properties in found if "value" in properties}


def unescape_js(html: str) -> str:
    """The page with the JSON escapes of folium's scripts undone, as the browser reads them."""
    for escaped, character in (("\\u003c", "<"), ("\\u003e", ">"), ("\\u0026", "&")):
        html = html.replace(escaped, character)
    return html


def report_points(html: str) -> list[str]:
    every = (point_of(code, n) for code, count in REPORTS.items() for n in range(count))
    return [f"{lat}, {lon}" for lon, lat in every if f"{lat}, {lon}" in html]


def test_signing_in_comes_before_the_map(client):
    response = client.get("/carte")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/connexion")


@pytest.mark.parametrize("role", ROLES)
def test_every_role_gets_a_map_of_every_commune_drawn_from_local_assets(dataset, role):
    response = page_as(dataset, role)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    with dataset.app_context():
        communes = db.session.scalar(
            sa.select(sa.func.count()).select_from(Territory).where(Territory.level == "commune")
        )
    assert len(tooltips(html)) == communes
    assert "Signalements pour 10 000 habitants" in html
    assets = re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"', html)
    assert "/static/vendor/leaflet/leaflet.js" in assets
    assert all(url.startswith(("/", "data:")) for url in assets), assets
    elsewhere = set(re.findall(r"https://[^\s\"'<>\\]+", html))
    assert elsewhere <= {TILES, "https://www.openstreetmap.org/copyright"}, elsewhere
    for library in ("jquery", "bootstrap", "awesome-markers", "font-awesome", "fontawesome"):
        assert library not in html.lower()


@pytest.mark.parametrize("role", ROLES)
def test_a_structure_name_is_never_drawn_raw(dataset, role):
    html = unescape_js(page_as(dataset, role).get_data(as_text=True))
    assert HOSTILE not in html
    assert "<script>alert" not in html


def test_the_coordination_sees_raw_counts_names_and_report_points(dataset):
    html = page_as(dataset, "coordinator").get_data(as_text=True)
    bron = tooltips(html)["Bron"]
    assert (bron["count"], bron["hidden"]) == ("3", False)
    assert tooltips(html)["Vénissieux"]["count"] == "6"
    assert "Structure A" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in unescape_js(html)
    assert len(report_points(html)) == sum(REPORTS.values())
    assert "/static/vendor/leaflet.markercluster/leaflet.markercluster.js" in html
    assert re.search(r"5\s000 signalements localisés les plus récents", html)


@pytest.mark.parametrize("role", ["agent", "partner_admin", "institution", "evaluator"])
def test_other_roles_see_no_point_no_name_and_no_count_under_k(dataset, role):
    html = page_as(dataset, role).get_data(as_text=True)
    shown = tooltips(html)
    # Counts read within the perturbation of the truth, or hidden when they read under 5.
    for name, truth in (("Bron", 3), ("Vénissieux", 6), ("Villeurbanne", 8)):
        if shown[name]["hidden"]:
            assert (shown[name]["count"], shown[name]["value"]) == ("&lt; 5", "s"), name
        else:
            count = int(shown[name]["count"])
            assert count >= 5 and abs(count - truth) <= MOST, name
    for properties in shown.values():
        assert properties["count"] not in ("1", "2", "3", "4")
    assert report_points(html) == []
    assert "Structure A" not in html and "alert(1)" not in html
    assert "markercluster" not in html
    # One structure in Lyon and one in Villeurbanne: hidden, unless perturbed to 5 or more.
    counts = re.findall(r'\[[\d.]+, [\d.]+, "([^"]*)", "[^"]*structure', unescape_js(html))
    assert len(counts) == 2
    assert all(count == "&lt; 5" or 5 <= int(count) <= 1 + MOST for count in counts)
    assert "< 5 ou s : masqué (secret statistique)" in html.replace("&lt;", "<")


def test_the_map_by_arrondissement_draws_the_nine_of_lyon(dataset):
    response = page_as(dataset, "institution", "/carte?level=arrondissement&indicator=reports")
    assert response.status_code == 200
    assert len(tooltips(response.get_data(as_text=True))) == 9


def test_the_period_is_applied(dataset):
    url = "/carte?from=2025-03-01&to=2025-03-03"
    shown = tooltips(page_as(dataset, "coordinator", url).get_data(as_text=True))
    assert shown["Villeurbanne"]["count"] == "3"
    assert shown["Bron"]["count"] == "3"


@pytest.mark.parametrize(
    "query",
    ["indicator=people_reached", "level=qpv", "from=2025-13-01", "from=2025-02-01&to=2025-01-01"],
)
def test_a_malformed_request_is_refused(dataset, query):
    assert page_as(dataset, "institution", f"/carte?{query}").status_code == 400


def test_qpv_outlines_appear_once_qpvs_are_loaded(dataset):
    assert "Quartiers prioritaires (QPV)" not in page_as(dataset, "institution").get_data(
        as_text=True
    )
    with dataset.app_context():
        venissieux = db.session.scalar(sa.select(Territory).where(Territory.code == "69259"))
        db.session.add(
            Territory(
                code="QP069MAP",
                name="Les Minguettes <test>",
                level="qpv",
                parent=venissieux,
                population=20_000,
                geom=from_shape(MultiPolygon([box(4.880, 45.690, 4.890, 45.700)]), srid=4326),
            )
        )
        db.session.commit()
    html = unescape_js(page_as(dataset, "institution").get_data(as_text=True))
    assert "Quartiers prioritaires (QPV)" in html
    assert "Les Minguettes &lt;test&gt;" in html and "<test>" not in html


def frame_ancestors(response) -> str:
    """The frame-ancestors directive of the page's one Content-Security-Policy."""
    (policy,) = response.headers.getlist("Content-Security-Policy")
    return next(d for d in policy.split("; ") if d.startswith("frame-ancestors "))


def test_the_map_page_may_be_framed_by_no_site(dataset):
    response = page_as(dataset, "institution")
    assert frame_ancestors(response) == "frame-ancestors 'none'"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_the_embedded_map_is_off_unless_turned_on(client):
    assert client.get("/carte/embed").status_code == 404


def test_the_embedded_map_is_public_suppressed_and_framed_by_the_configured_sites(
    dataset, make_app
):
    origins = "https://www.grandlyon.com, https://ars.example.fr"
    embed = make_app(OHPUNAISES_EMBED="1", OHPUNAISES_EMBED_ORIGINS=origins)
    response = embed.test_client().get("/carte/embed?indicator=reports")
    assert response.status_code == 200
    assert frame_ancestors(response) == (
        "frame-ancestors 'self' https://www.grandlyon.com https://ars.example.fr"
    )
    assert "X-Frame-Options" not in response.headers
    assert "Set-Cookie" not in response.headers
    html = response.get_data(as_text=True)
    bron = tooltips(html)["Bron"]  # 3 reports, protected: hidden, or read within the table
    assert bron["value"] == "&lt; 5" or abs(int(bron["value"]) - 3) <= MOST
    assert report_points(html) == [] and "Structure A" not in html
    assert 'class="site-header"' not in html


def test_the_embedded_map_without_origins_stays_on_this_site(dataset, make_app):
    response = make_app(OHPUNAISES_EMBED="1").test_client().get("/carte/embed")
    assert frame_ancestors(response) == "frame-ancestors 'self'"
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"


@pytest.mark.parametrize("origins", ["grandlyon.com", "https://a.fr/page", "'unsafe-inline'"])
def test_embed_origins_must_be_origins(tmp_path, origins):
    env = {"OHPUNAISES_ENV": "test", "OHPUNAISES_EMBED_ORIGINS": origins}
    with pytest.raises(ConfigError, match="OHPUNAISES_EMBED_ORIGINS"):
        load_settings(str(tmp_path), env)


# In a real browser --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(app, database_url):
    with gunicorn(database_url) as base:
        yield base


def test_the_territories_are_drawn_in_a_browser_cut_off_from_every_other_host(app, dataset, server):
    with app.app_context():
        communes = db.session.scalar(
            sa.select(sa.func.count()).select_from(Territory).where(Territory.level == "commune")
        )
    driver = chromium()
    try:
        driver.execute_cdp_cmd("Network.enable", {})
        # Everything but the app itself: the tile server, and any CDN the page might call.
        driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["https://*", "*.org/*"]})
        sign_in(driver, server, "institution@example.org")
        driver.get(f"{server}/carte")
        drawn = wait_until(
            lambda: (
                len(
                    driver.find_elements(
                        By.CSS_SELECTOR, ".leaflet-overlay-pane path.ohp-territory"
                    )
                )
                == communes
            ),
            what="every commune drawn",
        )
        assert drawn
        hidden = driver.find_elements(By.CSS_SELECTOR, ".leaflet-overlay-pane path.ohp-hidden")
        # Drawn hidden: the communes the page's data hide (Bron's 3 reports unless read 5,
        # Vénissieux's 6 when read 4).
        sent = [name for name, shown in tooltips(driver.page_source).items() if shown["hidden"]]
        assert len(hidden) == len(sent) and set(sent) <= {"Bron", "Vénissieux", "Villeurbanne"}
        assert driver.execute_script("return typeof L") == "object"
    finally:
        driver.quit()
