"""Every page in a real browser, under its Content-Security-Policy, served by gunicorn.

The browser reports each thing the policy blocks as a `securitypolicyviolation` event, which
a script given to Chromium before any page's own collects: no page may have any, while the
maps draw their territories, the form's map picker opens and the API docs render. Names in
the pages hold markup that would run if they were not escaped.
"""

import datetime as dt

import pytest
import sqlalchemy as sa
from selenium.webdriver.common.by import By

from ohpunaises.extensions import db
from ohpunaises.models import Territory

from .browser import chromium, sign_in, wait_until
from .conftest import make_report, make_structure, make_user
from .test_gunicorn import gunicorn

HOSTILE = '<img src=x onerror=alert(1)>"><script>alert(2)</script>{{7*7}}'
COLLECT_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(
    [event.effectiveDirective, event.blockedURI, event.sourceFile + ":" + event.lineNumber,
     event.sample].join(" "));
});
"""
TERRITORIES = ".leaflet-overlay-pane path.ohp-territory"


@pytest.fixture(scope="module")
def server(app, database_url):
    with gunicorn(database_url, OHPUNAISES_EMBED="1", OHPUNAISES_PUBLIC_PAGE="1") as base:
        yield base


@pytest.fixture
def dataset(app):
    """A coordinator and an agent; structures and reports named and written like attacks."""
    with app.app_context():
        lyon = make_structure(HOSTILE, "69123", "social_landlord")
        make_structure("Entraide " + HOSTILE, "69266", "association")
        make_user("coordination@example.org", "coordinator")
        make_user("agent@example.org", "agent", lyon)
        for day in range(1, 9):
            point = (4.88 + day / 1000, 45.77)
            make_report(lyon, "69266", dt.date(2025, 3, day), point, notes=HOSTILE)
        communes = db.session.scalar(
            sa.select(sa.func.count()).select_from(Territory).where(Territory.level == "commune")
        )
        arrondissements = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Territory)
            .where(Territory.level == "arrondissement")
        )
        db.session.commit()
    return {"commune": communes, "arrondissement": arrondissements}


@pytest.fixture
def browser(server, dataset):
    """A browser cut off from every other host (tiles included), collecting violations."""
    driver = chromium()
    try:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["https://*", "*.org/*"]})
        driver.execute_cdp_cmd(
            "Page.addScriptToEvaluateOnNewDocument", {"source": COLLECT_VIOLATIONS}
        )
        yield driver
    finally:
        driver.quit()


def count(driver, selector) -> int:
    return len(driver.find_elements(By.CSS_SELECTOR, selector))


def violations(driver) -> list[str]:
    return driver.execute_script("return window.cspViolations")


def assert_no_violation(driver, what):
    """No violation so far; an alert() from a hostile name would also stop the driver here."""
    assert violations(driver) == [], what


def visit(driver, url, ready=None, what="the page"):
    """Open `url` and wait until it is `ready` (loaded, by default) or something was blocked."""
    driver.get(url)
    ready = ready or (lambda d: d.execute_script("return document.readyState") == "complete")
    wait_until(lambda: violations(driver) or ready(driver), what=f"{what} ({url})")
    assert_no_violation(driver, url)


def draws(level_count):
    return lambda driver: count(driver, TERRITORIES) == level_count


def test_the_coordinations_pages_run_under_the_policy_without_a_violation(server, browser, dataset):
    sign_in(browser, server, "coordination@example.org")
    assert_no_violation(browser, "signing in")
    for url in ("/", "/mes-signalements", "/indicateurs", "/exports", "/journal"):
        visit(browser, server + url)
    visit(browser, f"{server}/carte", draws(dataset["commune"]), "every commune drawn")
    assert count(browser, ".marker-cluster, .leaflet-marker-icon") > 0  # structures, reports
    visit(
        browser,
        f"{server}/carte?level=arrondissement&indicator=reports",
        draws(dataset["arrondissement"]),
        "every arrondissement drawn",
    )
    visit(
        browser,
        f"{server}/api/v1/docs",
        lambda driver: count(driver, ".swagger-ui .opblock") > 10,
        "the API operations listed",
    )

    visit(browser, f"{server}/saisie", lambda d: d.find_element(By.ID, "map-button").is_displayed())
    browser.find_element(By.ID, "map-button").click()
    wait_until(lambda: count(browser, "#map.leaflet-container") == 1, what="the map picker")
    browser.find_element(By.ID, "map-centre").click()
    wait_until(lambda: count(browser, "#map .leaflet-marker-icon") == 1, what="the point")
    assert browser.find_element(By.ID, "latitude").get_attribute("value")
    assert_no_violation(browser, "the form's map picker")


def test_the_fields_and_the_publics_pages_run_under_the_policy_too(server, browser, dataset):
    for url in ("/connexion", "/nulle-part", "/plaidoyer"):
        visit(browser, server + url)
    visit(browser, f"{server}/carte/embed", draws(dataset["commune"]), "the embedded map")
    assert "alert" not in browser.page_source.split("<script", 1)[0]
    sign_in(browser, server, "agent@example.org")
    visit(browser, f"{server}/carte", draws(dataset["commune"]), "the agent's map")
    # The structures' counts, off at first, drawn on demand.
    browser.find_element(By.CSS_SELECTOR, ".leaflet-control-layers").click()
    boxes = browser.find_elements(By.CSS_SELECTOR, ".leaflet-control-layers-overlays input")
    for box in boxes:
        if not box.is_selected():
            box.click()
    wait_until(lambda: count(browser, ".ohp-structure-count") > 0, what="the count labels")
    assert_no_violation(browser, "the structures' counts")
    visit(browser, f"{server}/mes-signalements")
