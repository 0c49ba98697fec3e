"""A programme opened in another country, in a real browser served by gunicorn: territories
loaded from a file of Belgian municipalities into a database made by `init
--no-default-territories`, a deployment opened through the form on a phone, a coordinator
attached to it, and that coordinator's dashboard and map showing only its figures."""

import datetime as dt
import re
import uuid
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from ohpunaises.auth import issue_token
from ohpunaises.extensions import db
from ohpunaises.permissions import Actor
from ohpunaises.usecases.deployments import create_deployment

from .browser import chromium, follow, mark_page, next_page, sign_in, text_of, wait_until
from .conftest import ApiClient, make_structure, make_user
from .test_cli import ohpunaises
from .test_deployments import BELGIAN_CLI_OPTIONS, belgian_geojson
from .test_gunicorn import gunicorn
from .test_map import tooltips
from .test_web_indicators import cells

OPENER = "coordination@bruxelles.example.org"
ATTACHED = "coordination-ixelles@bruxelles.example.org"
WIDER_THAN_THE_SCREEN = "return document.documentElement.scrollWidth > window.innerWidth"
SHOTS = Path("/tmp/shots")
TODAY = dt.date.today()
PERIOD = f"from={(TODAY - dt.timedelta(days=60)).isoformat()}&to={TODAY.isoformat()}"
IXELLES, JETTE = "Elsene / Ixelles", "Jette"


@pytest.fixture
def belgian_database(database_kind, new_database_url, tmp_path):
    """A database made by `init --no-default-territories`, then given Belgian municipalities."""
    url = new_database_url(database_kind)
    init = ohpunaises(url, "init", "--no-default-territories", OHPUNAISES_DEMO="0")
    assert init.returncode == 0, init.stderr
    path = str(belgian_geojson(tmp_path / "communes-be.geojson"))
    loaded = ohpunaises(url, "territories", "load", path, *BELGIAN_CLI_OPTIONS)
    assert loaded.returncode == 0, loaded.stderr
    return url


def report(api, commune: str):
    body = {
        "id": str(uuid.uuid4()),
        "intervention_date": TODAY.isoformat(),
        "commune": commune,
        "housing": "social",
        "infestation_level": "moderate",
        "actions": ["diagnosis"],
    }
    response = api.post("/api/v1/reports", json=body)
    assert response.status_code == 201, response.get_json()


def reporting_agent(app, structure_name: str, commune: str, reports: int, email: str):
    """An agent of the structure (made here if it does not exist) sends reports by the API."""
    from ohpunaises.models import Structure

    with app.app_context():
        structure = db.session.query(Structure).filter_by(name=structure_name).one_or_none()
        structure = structure or make_structure(structure_name, commune)
        token, _record = issue_token(make_user(email, "agent", structure))
        db.session.commit()
    api = ApiClient(app.test_client(), token)
    for _ in range(reports):
        report(api, commune)


def viewport(driver, width: int, height: int):
    metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)


def shot(driver, name: str, width: int):
    """A screenshot of the whole page at this width."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    viewport(driver, width, 640)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    viewport(driver, width, min(height, 6000))
    driver.save_screenshot(str(SHOTS / f"{name}-{width}.png"))
    viewport(driver, width, 640 if width < 500 else 900)


def main_text(driver) -> str:
    """The page's own text (the footer names the programme's birthplace on every page)."""
    return driver.find_element(By.TAG_NAME, "main").text


def search(driver, words: str):
    """Type in the search box and press Enter: the form comes back filtered."""
    mark_page(driver)
    box = driver.find_element(By.ID, "q")
    box.clear()
    box.send_keys(words, Keys.ENTER)
    wait_until(lambda: next_page(driver), what="the filtered form")
    assert driver.find_element(By.ID, "q").get_attribute("value") == words


def check(driver, code: str):
    box = f'input[name="territories"][value="{code}"]'
    wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, box), what=f"territory {code}")
    driver.find_element(By.CSS_SELECTOR, box).click()


def chosen(driver) -> list[str]:
    boxes = driver.find_elements(By.CSS_SELECTOR, "#chosen input[name=territories]")
    return [box.get_attribute("value") for box in boxes if box.is_selected()]


def test_a_deployment_opened_abroad_shows_its_attached_coordinator_only_its_figures(
    belgian_database, make_app
):
    app = make_app(belgian_database)
    with app.app_context():
        make_user(OPENER, "coordinator")
        make_user(ATTACHED, "coordinator")
        create_deployment(Actor.operator(), "Jette", ["21010"])
        db.session.commit()
    reporting_agent(app, "Jette Solidarité", "21010", 5, "agent@jette.example.org")

    driver = chromium()
    try:
        with gunicorn(belgian_database) as base:
            sign_in(driver, base, OPENER)
            driver.get(f"{base}/deploiements")
            assert "Lyon" not in main_text(driver)
            follow(driver, driver.find_element(By.LINK_TEXT, "Ouvrir un déploiement"))
            wait_until(lambda: driver.current_url.endswith("/deploiements/nouveau"))
            assert driver.execute_script("return window.innerWidth") == 360
            assert "69123" not in main_text(driver) and "Lyon" not in main_text(driver)
            assert "déjà dans « Jette »" in driver.page_source

            driver.find_element(By.ID, "f-name").send_keys("Bruxelles sud-est")
            search(driver, "ixelles")
            check(driver, "21009")
            search(driver, "BRUXELLES")
            check(driver, "21004")
            search(driver, "Oudergem")
            assert chosen(driver) == ["21009", "21004"]  # kept from search to search
            check(driver, "21002")
            search(driver, "")
            assert chosen(driver) == ["21009", "21004", "21002"]
            driver.find_element(By.CSS_SELECTOR, '#chosen input[value="21002"]').click()
            assert not driver.execute_script(WIDER_THAN_THE_SCREEN)
            shot(driver, "deployment-form", 360)
            follow(driver, driver.find_element(By.CSS_SELECTOR, 'button[value="save"]'))

            wait_until(lambda: re.search(r"/deploiements/\d+$", driver.current_url))
            assert driver.find_element(By.TAG_NAME, "h1").text == "Bruxelles sud-est"
            notice = driver.find_element(By.CSS_SELECTOR, ".notice-success").text
            assert notice == "Déploiement ouvert : Bruxelles sud-est."
            attach = driver.find_element(By.XPATH, f'//label[contains(., "{ATTACHED}")]/input')
            attach.click()
            follow(driver, driver.find_element(By.CSS_SELECTOR, "#attach-form button"))
            wait_until(lambda: "Rattaché(s)" in driver.page_source, what="the attachment")
            assert ATTACHED in text_of(driver, "personnes")
            assert not driver.execute_script(WIDER_THAN_THE_SCREEN)
            shot(driver, "deployment", 360)
            deployment_url = driver.current_url

            viewport(driver, 1280, 900)
            shot(driver, "deployment", 1280)
            driver.get(f"{base}/deploiements/nouveau?q=sint&action=filter")
            shot(driver, "deployment-form", 1280)
            assert not driver.execute_script(WIDER_THAN_THE_SCREEN)

            viewport(driver, 360, 640)
            driver.get(f"{base}/structures/nouvelle")
            driver.find_element(By.ID, "f-name").send_keys("Entraide Ixelles")
            kinds = driver.find_element(By.ID, "f-kind")
            kinds.find_element(By.CSS_SELECTOR, 'option[value="association"]').click()
            driver.find_element(By.ID, "f-commune").send_keys("21009")
            follow(driver, driver.find_element(By.CSS_SELECTOR, "main form button.primary"))
            wait_until(lambda: re.search(r"/structures/\d+$", driver.current_url))
            assert "Bruxelles sud-est" in driver.find_element(By.CSS_SELECTOR, ".facts").text

            reporting_agent(app, "Entraide Ixelles", "21009", 3, "agent@ixelles.example.org")
            driver.get(f"{base}/indicateurs?{PERIOD}&level=commune")
            everything = cells(driver.page_source, "Indicateurs par territoire")
            assert (everything[IXELLES][0], everything[JETTE][0]) == ("3", "5")

            driver.delete_all_cookies()
            sign_in(driver, base, ATTACHED)
            driver.get(f"{base}/indicateurs?{PERIOD}&level=commune")
            page = driver.page_source
            rows = cells(page, "Indicateurs par territoire")
            assert rows[IXELLES][0] == "3"
            assert rows.get(JETTE, ["0"])[0] == "0"
            assert "Lyon" not in main_text(driver)
            driver.get(f"{base}/carte?indicator=reports&{PERIOD}&level=commune")
            drawn = tooltips(driver.page_source)
            assert drawn[IXELLES]["count"] == "3"
            assert drawn.get(JETTE, {"count": "0"})["count"] == "0"
            assert "Entraide Ixelles" in driver.page_source
            assert "Jette Solidarité" not in driver.page_source
            driver.get(deployment_url)
            assert driver.find_element(By.TAG_NAME, "h1").text == "Bruxelles sud-est"
            driver.get(f"{base}/deploiements")
            listed = driver.find_element(By.ID, "deployments").text
            assert "Bruxelles sud-est" in listed and "Jette" not in listed
    finally:
        driver.quit()
