"""The essaimage workspace in a real Chromium served by gunicorn: a coordinator opens
/essaimage on a phone, finds a silent partner in the list, notes a call in one click and lands
on its follow-up with the call in it; the page, with a programme like the demo's, fits a phone
(360 × 640) and a desktop (1366 × 900). Screenshots go to /tmp/shots."""

import datetime as dt
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from babel.dates import format_date
from selenium.webdriver.common.by import By

from ohpunaises.cadence import period_of
from ohpunaises.extensions import db
from ohpunaises.usecases.activities import local_today

from .browser import chromium, follow, sign_in, text_of, wait_until
from .conftest import make_report, make_user
from .test_essaimage import activity, east, partner  # noqa: F401  (east: a fixture)
from .test_gunicorn import gunicorn

COORDINATOR = "coordination@example.org"
SHOTS = Path("/tmp/shots")
WIDER_THAN_THE_SCREEN = "return document.documentElement.scrollWidth > window.innerWidth"
TOO_WIDE = """
return [...document.querySelectorAll("body *")]
  .filter((e) => e.getBoundingClientRect().right > window.innerWidth)
  .slice(-5).map((e) => e.tagName + "." + e.className + " " + e.textContent.trim().slice(0, 60))
"""


@pytest.fixture(scope="module")
def server(app, database_url):
    with gunicorn(database_url) as base:
        yield base


def programme_like_the_demo(today: dt.date) -> int:
    """Fifteen partners of every kind and stage in two deployments, with contacts, reports and
    activities, as of `today`; the id of the silent "Entraide Vénissieux"."""
    last_due = period_of("monthly", today).previous()
    if today <= last_due.deadline:
        last_due = last_due.previous()
    long_ago = today - dt.timedelta(days=300)

    def days(n):
        return today - dt.timedelta(days=n)

    def reporting(name, commune, kind, report_on, **fields):
        structure = partner(name, commune, long_ago, kind=kind, **fields)
        make_report(structure, commune, report_on)
        return structure

    reporting(
        "Habitat Rhône Social",
        "69123",
        "social_landlord",
        last_due.start,
        stages=[(days(400), "prospect"), (long_ago, "agreement")],
    )
    reporting("Désinsectisation Lyonnaise", "69123", "pest_control", last_due.end)
    reporting(
        "Villeurbanne Entraide",
        "69266",
        "association",
        last_due.start,
        contact_name="M. Garnier",
    )
    venissieux = reporting(
        "Entraide Vénissieux",
        "69259",
        "association",
        last_due.previous().previous().start,
        contact_name="Mme Aïssatou Diallo",
        contact_function="Coordinatrice de l'accompagnement social",
        contact_email="aissatou.diallo@entraide-venissieux.example.org",
        contact_phone="04 78 70 00 00",
    )
    activity(venissieux, "call", days(30))
    activity(
        venissieux,
        "email",
        days(20),
        next_step="Proposer une réunion avec l'équipe de terrain",
        next_step_due=days(3),
    )
    reporting(
        "CCAS de Bron",
        "69029",
        "social_services",
        last_due.previous().start,
        contact_name="M. Lambert",
        contact_email="ccas@bron.example.org",
    )
    reporting(
        "Bailleur Villeurbanne Habitat Solidaire",
        "69266",
        "social_landlord",
        days(200),
        contact_name="Mme Christine Bertrand-Delacroix",
        contact_function="Responsable de la gestion locative et de la tranquillité résidentielle",
        contact_phone="+33 6 12 34 56 78",
    )
    partner("Association Les Minguettes Solidaires", "69259", days(150))
    partner("Centre de santé Gerland", "69123", days(20), kind="health_centre", trained_on=days(5))
    partner("Mairie de Saint-Fons", "69199", days(10), [(days(10), "agreement")], "local_authority")
    partner("Collectif d'habitants Duchère", "69123", stages=[(days(40), "prospect")], kind="other")
    partner(
        "Bailleur Est Métropole",
        "69256",
        stages=[(days(90), "prospect"), (days(60), "contacted")],
        kind="social_landlord",
    )
    partner("Maison des solidarités Rillieux", "69286", stages=[(days(30), "met")])
    partner("Prospect Villeurbanne", "69266", stages=[(days(15), "prospect")])
    partner("Ancien partenaire", "69123", long_ago, [(days(60), "left")], active=False)
    partner("Association en pause", "69091", long_ago, [(days(45), "paused")])
    return venissieux.id


def local_today_in(app) -> dt.date:
    with app.app_context():
        return local_today()


def viewport(driver, width: int, height: int):
    metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)


def fits(driver, width: int):
    """Nothing wider than the screen (the elements that are, named in the failure)."""
    if driver.execute_script(WIDER_THAN_THE_SCREEN):
        pytest.fail(f"/essaimage is wider than {width} px: {driver.execute_script(TOO_WIDE)}")


def shot(driver, width: int, height: int):
    """The whole page at this width, then the window as it was."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    viewport(driver, width, height)
    whole = driver.execute_script("return document.documentElement.scrollHeight")
    viewport(driver, width, min(whole, 6000))
    driver.save_screenshot(str(SHOTS / f"essaimage-{width}.png"))
    viewport(driver, width, height)


def test_a_coordinator_calls_a_silent_partner_from_the_list(app, server, east):  # noqa: F811
    with app.app_context():
        venissieux = programme_like_the_demo(local_today())
        make_user(COORDINATOR, "coordinator")
        db.session.commit()
        db.session.remove()
    driver = chromium()
    try:
        sign_in(driver, server, COORDINATOR)
        follow(driver, driver.find_element(By.LINK_TEXT, "Essaimage"), "/essaimage")
        assert urlsplit(driver.current_url).path == "/essaimage"
        assert driver.execute_script("return window.innerWidth") == 360
        wait_until(
            lambda: driver.find_elements(By.CSS_SELECTOR, "#communes path.ohp-territory"),
            what="the communes drawn on the map",
        )
        fits(driver, 360)
        row = driver.find_element(By.ID, f"structure-{venissieux}")
        assert row.find_element(By.TAG_NAME, "a").text == "Entraide Vénissieux"
        assert "Silencieuse" in row.text
        assert "aissatou.diallo@entraide-venissieux.example.org" in row.text
        shot(driver, 360, 640)
        viewport(driver, 1366, 900)
        fits(driver, 1366)
        shot(driver, 1366, 900)
        viewport(driver, 360, 640)

        button = driver.find_element(By.CSS_SELECTOR, f"#structure-{venissieux} button")
        assert button.accessible_name == "Noter un appel : Entraide Vénissieux"
        follow(driver, button, "the structure's page")
        assert urlsplit(driver.current_url).path == f"/structures/{venissieux}"
        assert urlsplit(driver.current_url).fragment == "suivi"
        notice = driver.find_element(By.CSS_SELECTOR, ".notice-success").text
        assert notice.startswith("Appel noté avec « Entraide Vénissieux ».")
        first = driver.find_element(By.CSS_SELECTOR, "#suivi tbody tr")
        today = format_date(local_today_in(app), "medium", locale="fr")
        assert first.find_element(By.TAG_NAME, "th").text == f"Date : {today}"
        assert "Appel" in first.text and "Faite" in first.text
        assert len(driver.find_elements(By.CSS_SELECTOR, "#suivi tbody tr")) == 3
        assert "Appel" in text_of(driver, "suivi")
        fits(driver, 360)
    finally:
        driver.quit()
