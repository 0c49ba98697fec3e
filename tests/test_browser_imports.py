"""Importing a spreadsheet in a real phone-sized browser served by gunicorn: the file chosen in
the form's file input, its check followed until done, then only its valid lines imported."""

import pytest
import sqlalchemy as sa
from selenium.webdriver.common.by import By

from ohpunaises.extensions import db
from ohpunaises.models import Report

from .browser import chromium, follow, sign_in, wait_until
from .conftest import make_structure, make_user
from .test_gunicorn import gunicorn
from .test_web_imports import BAD_LINE, GOOD_LINES, latin1_csv

ADMIN = "admin-bailleur@example.org"
VALID_LINES_BUTTON = "//button[normalize-space()='Importer les lignes valides']"
WIDER_THAN_THE_SCREEN = "return document.documentElement.scrollWidth > window.innerWidth"


@pytest.fixture(scope="module")
def server(app, database_url):
    with gunicorn(database_url) as base:
        yield base


@pytest.fixture
def browser(app, server):
    """A 360 × 640 browser, signed in as the admin of a social landlord in Vénissieux."""
    with app.app_context():
        make_user(
            ADMIN, "partner_admin", make_structure("Bailleur Sud", "69259", "social_landlord")
        )
        db.session.commit()
    driver = chromium()
    try:
        sign_in(driver, server, ADMIN)
        yield driver
    finally:
        driver.quit()


def imported(app) -> int:
    with app.app_context():
        count = db.session.scalar(
            sa.select(sa.func.count(Report.id)).where(Report.source == "import")
        )
        db.session.remove()
    return count


def shown(driver, element_id):
    found = driver.find_elements(By.ID, element_id)
    return found[0].text if found else None


def test_the_valid_lines_of_a_file_are_imported_from_a_phone(app, server, browser, tmp_path):
    spreadsheet = tmp_path / "interventions.csv"
    spreadsheet.write_bytes(latin1_csv(*GOOD_LINES, BAD_LINE))
    browser.get(f"{server}/imports")
    assert browser.execute_script("return window.innerWidth") == 360
    assert not browser.execute_script(WIDER_THAN_THE_SCREEN)
    browser.find_element(By.ID, "f-file").send_keys(str(spreadsheet))
    follow(browser, browser.find_element(By.CSS_SELECTOR, ".import-send button[type=submit]"))

    # The page refreshes itself until the check is done.
    counts = wait_until(lambda: shown(browser, "import-counts"), 30, "the file's check")
    assert counts == "4 lignes : 3 à importer, 1 en erreur, 0 déjà importée(s), 0 en conflit"
    cells = browser.find_elements(By.CSS_SELECTOR, "table.import-errors tbody tr > *")
    assert [cell.text for cell in cells[:2]] == ["Ligne : 5", "Colonne : Niveau"]
    assert not browser.execute_script(WIDER_THAN_THE_SCREEN)
    assert imported(app) == 0

    button = browser.find_element(
        By.XPATH, "//button[normalize-space()='Importer les lignes valides']"
    )
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
    follow(browser, button, "the import's page")
    done = wait_until(lambda: shown(browser, "done-title"), 30, "the import")
    assert done == "3 signalements importés"
    assert not browser.execute_script(WIDER_THAN_THE_SCREEN)
    assert imported(app) == 3
