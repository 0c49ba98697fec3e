"""The phone form in a real browser served by gunicorn: online, offline and back, errors."""

import pytest
import sqlalchemy as sa
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from ohpunaises.extensions import db
from ohpunaises.models import Report

from .browser import (
    chromium,
    page_token,
    set_offline,
    sign_in,
    text_of,
    wait_for_service_worker,
    wait_until,
)
from .conftest import make_structure, make_user
from .test_gunicorn import gunicorn

AGENT = "agent-terrain@example.org"


@pytest.fixture(scope="module")
def server(app, database_url):
    with gunicorn(database_url) as base:
        yield base


@pytest.fixture
def browser(app, server):
    """A phone-sized browser, signed in as an agent of an association in Villeurbanne."""
    with app.app_context():
        make_user(AGENT, "agent", make_structure("Entraide Villeurbanne", "69266"))
        db.session.commit()
    driver = chromium()
    try:
        sign_in(driver, server, AGENT)
        yield driver
    finally:
        driver.quit()


def stored(app) -> list[tuple[str, str]]:
    """(infestation level, source) of every report in the database."""
    with app.app_context():
        rows = db.session.execute(sa.select(Report.infestation_level, Report.source)).all()
        db.session.remove()
    return sorted(tuple(row) for row in rows)


def fill(driver, level):
    driver.find_element(By.ID, "commune").send_keys("Villeurbanne (69266)", Keys.TAB)
    for name, value in (
        ("housing", "social"),
        ("infestation_level", level),
        ("actions", "diagnosis"),
    ):
        driver.find_element(By.CSS_SELECTOR, f'input[name="{name}"][value="{value}"]').click()


def submit(driver):
    driver.find_element(By.CSS_SELECTOR, "#report-form button[type=submit]").click()


def submitted(driver, waiting: int) -> bool:
    """The form is ready again, and `waiting` reports wait in the outbox."""
    status = text_of(driver, "outbox-status")
    ready = driver.find_element(By.CSS_SELECTOR, "#report-form button[type=submit]").is_enabled()
    return ready and status.startswith(f"{waiting} signalement")


def test_reports_reach_the_database_once_online_and_after_an_offline_reload(app, browser):
    assert browser.current_url.endswith("/saisie")
    wait_for_service_worker(browser)
    fill(browser, "suspected")
    submit(browser)
    wait_until(lambda: "Signalement enregistré." in text_of(browser, "form-notice"))
    assert stored(app) == [("suspected", "form")]

    kept = page_token(browser, cached=True)
    set_offline(browser, True)
    for waiting, level in enumerate(("low", "moderate", "severe"), start=1):
        fill(browser, level)
        submit(browser)
        wait_until(lambda n=waiting: submitted(browser, n), what=f"{waiting} reports waiting")
    assert "Pas de réseau" in text_of(browser, "form-notice")
    browser.refresh()
    wait_until(lambda: submitted(browser, 3), what="the outbox after an offline reload")
    assert page_token(browser) == kept  # the page came from the service worker's cache
    assert stored(app) == [("suspected", "form")]

    set_offline(browser, False)
    wait_until(lambda: len(stored(app)) == 4, seconds=30, what="the outbox to be sent")
    wait_until(lambda: "Aucun signalement en attente" in text_of(browser, "outbox-status"))
    assert "Dernier envoi" in text_of(browser, "outbox-status")
    levels = ("low", "moderate", "severe", "suspected")
    assert stored(app) == [(level, "form") for level in levels]


def test_french_messages_appear_beside_the_fields_and_the_report_can_be_corrected(app, browser):
    submit(browser)
    wait_until(lambda: text_of(browser, "err-actions") == "Champ obligatoire.")
    assert text_of(browser, "err-location") == "Indiquez un point ou une commune."
    assert browser.switch_to.active_element.get_attribute("id") == "commune"

    fill(browser, "low")
    browser.find_element(By.CSS_SELECTOR, "#more-details summary").click()
    browser.find_element(By.ID, "cost_total").send_keys("10")
    household = browser.find_element(By.ID, "cost_household")
    household.send_keys("50")
    submit(browser)
    message = "La part du ménage dépasse le coût total."
    wait_until(lambda: text_of(browser, "err-cost_household") == message, what="the API's message")
    assert household.get_attribute("aria-invalid") == "true"
    assert "err-cost_household" in household.get_attribute("aria-describedby")
    assert browser.switch_to.active_element == household
    assert "1 signalement à corriger" in text_of(browser, "outbox")
    assert stored(app) == []

    household.clear()
    household.send_keys("5")
    submit(browser)
    wait_until(lambda: "Signalement enregistré." in text_of(browser, "form-notice"))
    assert household.get_attribute("aria-invalid") is None
    assert "à corriger" not in text_of(browser, "outbox")
    assert stored(app) == [("low", "form")]
