"""The training sessions' form in a real phone-sized browser served by gunicorn."""

import pytest
import sqlalchemy as sa
from selenium.webdriver.common.by import By

from ohpunaises.extensions import db
from ohpunaises.models import TrainingSession

from .browser import chromium, follow, sign_in, text_of, wait_until
from .conftest import make_structure, make_user
from .test_gunicorn import gunicorn

ADMIN = "admin-structure@example.org"
WIDER_THAN_THE_SCREEN = "return document.documentElement.scrollWidth > window.innerWidth"


@pytest.fixture(scope="module")
def server(app, database_url):
    with gunicorn(database_url) as base:
        yield base


@pytest.fixture
def browser(app, server):
    """A 360 px wide browser, signed in as the admin of an association in Villeurbanne."""
    with app.app_context():
        make_user(ADMIN, "partner_admin", make_structure("Entraide Villeurbanne", "69266"))
        db.session.commit()
    driver = chromium()
    try:
        sign_in(driver, server, ADMIN)
        yield driver
    finally:
        driver.quit()


def stored(app) -> list[tuple]:
    with app.app_context():
        query = sa.select(TrainingSession.kind, TrainingSession.participants)
        rows = [tuple(row) for row in db.session.execute(query)]
        db.session.remove()
    return rows


def submit_button(driver):
    return driver.find_element(By.CSS_SELECTOR, "#training-form button[type=submit]")


def test_a_session_is_recorded_through_the_form_on_a_phone(app, server, browser):
    browser.get(f"{server}/formations")
    assert browser.execute_script("return window.innerWidth") == 360
    follow(browser, browser.find_element(By.LINK_TEXT, "Enregistrer une session"), "the form")
    assert browser.current_url.endswith("/formations/nouvelle")
    assert not browser.execute_script(WIDER_THAN_THE_SCREEN)
    browser.find_element(By.CSS_SELECTOR, 'input[name="kind"][value="workshop"]').click()
    browser.find_element(By.ID, "participants").send_keys("douze")
    follow(browser, submit_button(browser), "the form and its messages")

    assert text_of(browser, "err-participants") == "Nombre entier attendu."
    wait_until(
        lambda: browser.switch_to.active_element.get_attribute("id") == "participants",
        what="the focus on the field",
    )
    assert stored(app) == []

    participants = browser.find_element(By.ID, "participants")
    participants.clear()
    participants.send_keys("12")
    follow(browser, submit_button(browser), "the list")
    assert browser.current_url.endswith("/formations")
    notice = browser.find_element(By.CSS_SELECTOR, ".notice-success").text
    assert notice.endswith("enregistrée : Atelier, 12 participant(s).")
    cells = browser.find_elements(By.CSS_SELECTOR, "table.stacked tbody td")
    assert [cell.text for cell in cells[:3]] == [
        "Territoire : Villeurbanne",
        "Type : Atelier",
        "Participants : 12",
    ]
    assert not browser.execute_script(WIDER_THAN_THE_SCREEN)
    assert stored(app) == [("workshop", 12)]
