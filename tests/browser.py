"""A real headless Chromium (Debian's chromium and chromium-driver), driven by selenium."""

import json
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=500,640",
    "--lang=fr-FR",
)


def chromium() -> webdriver.Chrome:
    """A phone-sized French browser; missing Chromium fails the test rather than skipping it."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            pytest.fail(
                f"{path} manque : installez les paquets Debian chromium et chromium-driver."
            )
    options = Options()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"intl.accept_languages": "fr-FR,fr"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    # A window is at least 500 px wide: the phone's 360 × 640 viewport is emulated
    # (without "mobile", under which selenium's clicks miss their targets once scrolled).
    phone = {"width": 360, "height": 640, "deviceScaleFactor": 1, "mobile": False}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", phone)
    return driver


def wait_until(condition, seconds=15.0, what="the condition"):
    """Poll `condition` until it returns something true; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"Waited {seconds} s for {what}.")
        time.sleep(0.1)


NEXT_PAGE = "return window.formerPage === undefined && document.readyState === 'complete'"


def mark_page(driver):
    """Mark the current page, so that `next_page` tells when another one has replaced it."""
    driver.execute_script("window.formerPage = true")


def next_page(driver) -> bool:
    """Whether the page marked by `mark_page` has been replaced, and the new one is loaded
    (its address may change before it is; asking the former page may fail in more ways than
    one)."""
    try:
        return driver.execute_script(NEXT_PAGE)
    except WebDriverException:  # between the two pages
        return False


def follow(driver, element, what="the next page"):
    """Click what leads to another page, and wait until that page is loaded."""
    mark_page(driver)
    element.click()
    wait_until(lambda: next_page(driver), what=what)


def sign_in(driver, base, email, password="mot-de-passe-solide"):
    driver.get(f"{base}/connexion")
    driver.find_element(By.ID, "email").send_keys(email)
    mark_page(driver)
    driver.find_element(By.ID, "password").send_keys(password, Keys.ENTER)
    wait_until(lambda: next_page(driver), what="the page after signing in")
    wait_until(lambda: urlsplit(driver.current_url).path != "/connexion", what="signing in")


def set_offline(driver, offline: bool):
    """Cut or restore the network of the page and of its service worker."""
    conditions = {
        "offline": offline,
        "latency": 0,
        "downloadThroughput": -1,
        "uploadThroughput": -1,
    }
    commands = (("Network.enable", {}), ("Network.emulateNetworkConditions", conditions))
    for method, params in commands:
        driver.execute_cdp_cmd(method, params)
    # The page's conditions do not reach its service worker, which fetches on its own.
    for target in driver.execute_cdp_cmd("Target.getTargets", {})["targetInfos"]:
        if target["type"] != "service_worker":
            continue
        attached = {"targetId": target["targetId"], "flatten": False}
        session = driver.execute_cdp_cmd("Target.attachToTarget", attached)["sessionId"]
        for number, (method, params) in enumerate(commands, start=1):
            message = json.dumps({"id": number, "method": method, "params": params})
            driver.execute_cdp_cmd(
                "Target.sendMessageToTarget", {"sessionId": session, "message": message}
            )


def wait_for_service_worker(driver):
    """Until the service worker controls the page and holds the form for offline use."""
    wait_until(
        lambda: driver.execute_script("return !!navigator.serviceWorker.controller"),
        what="the service worker to control the page",
    )
    script = "return caches.match('/saisie').then(Boolean)"  # WebDriver awaits the promise
    wait_until(lambda: driver.execute_script(script), what="the form page in the offline cache")


def text_of(driver, element_id) -> str:
    return driver.find_element(By.ID, element_id).text


CSRF_IN_PAGE = "return document.querySelector('meta[name=csrf-token]').content"
CSRF_IN_CACHE = """
return caches.match('/saisie').then((response) => response.text())
  .then((page) => page.match(/name="csrf-token" content="([^"]+)"/)[1])
"""


def page_token(driver, cached=False) -> str:
    """The form's CSRF token, signed with the time: it tells one copy of the page from another."""
    return driver.execute_script(CSRF_IN_CACHE if cached else CSRF_IN_PAGE)
