"""People's administration in a real Chromium, served by gunicorn, with a real SMTP server:
invitations, first password, password reset, deactivation, a partner admin's invitations,
and what it costs a coordinator to onboard a partner — on a phone (360 px) and a desktop."""

import re
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select

from ohpunaises.extensions import db
from ohpunaises.models import Report, User

from .browser import (
    chromium,
    mark_page,
    next_page,
    sign_in,
    wait_for_service_worker,
    wait_until,
)
from .conftest import make_structure, make_user
from .smtp import running_smtp_server
from .test_gunicorn import free_port, gunicorn

PHONE, DESKTOP = 360, 1280
WIDTHS = pytest.mark.parametrize("width", [PHONE, DESKTOP], ids=["360px", "1280px"])
SHOTS = Path("/tmp/shots")
COORDINATOR = "coordination@example.org"
PARTNER_ADMIN = "direction@entraide.example.org"
NEW_AGENT = "nouvelle.agente@entraide.example.org"
NEW_PASSWORD = "Une punaise dans la cage d'escalier"
WIDER_THAN_THE_SCREEN = "return document.documentElement.scrollWidth > window.innerWidth"
TOO_WIDE = """
return [...document.querySelectorAll("body *")]
  .filter((e) => e.getBoundingClientRect().right > window.innerWidth)
  .slice(-5).map((e) => e.tagName + "." + e.className + " " + e.textContent.trim().slice(0, 60))
"""
LINK = re.compile(r"https?://\S+")
# What a coordinator and two agents do, from the signed-in coordinator's home page to two
# agents signed in: the coordinator's 7 clicks (menu, new structure, create, invite, send,
# invite another, send) and 1 choice in a list (the kind: invited from the structure's page,
# an agent of that structure is proposed); each agent's 2 clicks (the link in the message,
# the button); fields typed: name and commune, e-mail and name twice, each agent's password
# twice.
ONBOARDING = {"clicks": 11, "choices": 1, "typed": 10}


# Servers ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mail(tmp_path_factory):
    """A real SMTP server for the whole module."""
    with running_smtp_server(tmp_path_factory.mktemp("smtp")) as server:
        yield server


@pytest.fixture(scope="module")
def server(app, database_url, mail):
    """gunicorn sending its messages through `mail`, its links starting with its own address."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"OHPUNAISES_SMTP_URL": mail.url, "OHPUNAISES_BASE_URL": base}
    env["OHPUNAISES_MAIL_FROM"] = "Oh Punaises! <ne-pas-repondre@ohpunaises.example.org>"
    with gunicorn(database_url, port=port, **env) as served:
        yield served


@pytest.fixture(autouse=True)
def empty_mailbox(mail):
    mail.clear()


# A browser that counts what a person does --------------------------------------------------


class Person:
    """A browser at a given width, counting the clicks, choices and fields typed, and checking
    after each page load that nothing is wider than the screen."""

    def __init__(self, base: str, width: int):
        self.base, self.width = base, width
        self.driver = chromium()
        if width != PHONE:
            metrics = {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False}
            self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
        self.clicks = self.choices = self.typed = 0

    @property
    def path(self) -> str:
        return urlsplit(self.driver.current_url).path

    def find(self, css: str):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def text(self, css: str = "main") -> str:
        return self.find(css).text

    def open(self, url: str):
        """Open an address (typed, or followed from a message)."""
        self.driver.get(url if url.startswith("http") else self.base + url)
        self.check_width()

    def click(self, css: str | None = None, link: str | None = None, page: bool = True):
        """Click a button (by CSS) or a link (by its text); wait for the next page, unless
        the click opens something in the same one (`page=False`)."""
        element = self.driver.find_element(By.LINK_TEXT, link) if link else self.find(css)
        mark_page(self.driver)
        element.click()
        self.clicks += 1
        if page:
            wait_until(lambda: next_page(self.driver), what=f"the page after {css or link}")
        self.check_width()

    def type(self, field_id: str, value: str):
        field = self.driver.find_element(By.ID, field_id)
        field.clear()
        field.send_keys(value)
        self.typed += 1

    def choose(self, field_id: str, value: str):
        Select(self.driver.find_element(By.ID, field_id)).select_by_value(value)
        self.choices += 1

    def options(self, field_id: str) -> list[str]:
        select = Select(self.driver.find_element(By.ID, field_id))
        return [option.get_attribute("value") for option in select.options]

    def check_width(self):
        if self.driver.execute_script(WIDER_THAN_THE_SCREEN):
            wide = self.driver.execute_script(TOO_WIDE)
            pytest.fail(f"{self.path} is wider than {self.width} px: {wide}")

    def shot(self, name: str):
        SHOTS.mkdir(parents=True, exist_ok=True)
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        metrics = {"width": self.width, "height": min(height, 4000), "deviceScaleFactor": 1}
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride", {**metrics, "mobile": False}
        )
        self.driver.save_screenshot(str(SHOTS / f"{name}-{self.width}.png"))
        metrics["height"] = 640 if self.width == PHONE else 900
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride", {**metrics, "mobile": False}
        )


@pytest.fixture
def people(server):
    """Makes browsers at a width; closes them all at the end."""
    opened = []

    def open_browser(width: int) -> Person:
        person = Person(server, width)
        opened.append(person)
        return person

    yield open_browser
    for person in opened:
        person.driver.quit()


def signed_in(people, width: int, email: str) -> Person:
    person = people(width)
    sign_in(person.driver, person.base, email)
    return person


# The database and the messages ---------------------------------------------------------------


def in_app(app, query):
    with app.app_context():
        try:
            return query()
        finally:
            db.session.remove()


def account(app, email: str) -> User | None:
    return in_app(app, lambda: db.session.scalar(sa.select(User).where(User.email == email)))


def seed(app, *users) -> int:
    """The association 'Entraide Villeurbanne' and these (email, role) accounts; its id."""
    with app.app_context():
        structure = make_structure("Entraide Villeurbanne", "69266")
        for email, role in users:
            make_user(email, role, None if role == "coordinator" else structure)
        db.session.commit()
        structure_id = structure.id
        db.session.remove()
    return structure_id


def bodies(message) -> tuple[str, str]:
    """The plain-text and HTML parts of a message."""
    plain = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return plain, html


def link_in(message, base: str, path: str) -> str:
    """The one link of the message's plain text, also in its HTML part, leading to `path`."""
    plain, html = bodies(message)
    [link] = [url for url in LINK.findall(plain) if url.startswith(base)]
    assert link.startswith(f"{base}{path}")
    assert f'href="{link}"' in html
    return link


def invite(person: Person, email: str, name: str, role: str | None = None):
    """Fill the invitation form shown, and send it."""
    person.type("f-email", email)
    person.type("f-display_name", name)
    if role:
        person.choose("f-role", role)
    person.click("main form button[type=submit]")


def choose_password(person: Person, password: str, confirmation: str | None = None):
    person.type("f-password", password)
    person.type("f-confirmation", password if confirmation is None else confirmation)
    person.click("main form button[type=submit]")


# 1. From the invitation to the first report -------------------------------------------------


@WIDTHS
def test_an_invited_agent_chooses_a_password_and_sends_a_report(app, server, mail, people, width):
    structure_id = seed(app, (COORDINATOR, "coordinator"))
    coordinator = signed_in(people, width, COORDINATOR)
    coordinator.open("/utilisateurs")
    coordinator.shot("utilisateurs")
    coordinator.click(link="Inviter une personne")
    assert coordinator.path == "/utilisateurs/inviter"
    coordinator.shot("utilisateurs-inviter")
    structure_field = coordinator.find("#f-structure_id")
    deployments_field = coordinator.find("fieldset:has(input[name=deployment_ids])")
    coordinator.choose("f-role", "institution")  # the form shows only what the role uses
    assert not structure_field.is_displayed() and deployments_field.is_displayed()
    coordinator.choose("f-role", "agent")
    assert structure_field.is_displayed() and not deployments_field.is_displayed()
    coordinator.choose("f-structure_id", str(structure_id))
    invite(coordinator, NEW_AGENT, "Nadia Agente", role="agent")

    assert coordinator.find("h1").text == "Invitation envoyée"
    assert NEW_AGENT in coordinator.text(".notice-success")
    assert not coordinator.driver.find_elements(By.ID, "invitation-link")  # sent, not shown
    coordinator.shot("invitation-envoyee")

    [message] = mail.wait_for(1, seconds=15)
    assert message["To"] == NEW_AGENT
    assert message["Subject"] == "Invitation à rejoindre Oh Punaises!"
    assert message["Content-Language"] == "fr"
    plain, html = bodies(message)
    assert "Votre rôle : Agent de terrain, pour Entraide Villeurbanne." in " ".join(plain.split())
    assert "Choisir mon mot de passe" in html
    link = link_in(message, server, "/invitation/")

    agent = people(width)
    agent.open(link)
    assert agent.find("h1").text == "Choisir votre mot de passe"
    assert NEW_AGENT in agent.text()
    agent.shot("invitation-lien")

    choose_password(agent, "court")
    assert agent.text("#err-password") == "Au moins 12 caractères."
    assert agent.driver.find_element(By.ID, "f-password").get_attribute("aria-invalid") == "true"
    choose_password(agent, "motdepasse2024")
    assert agent.text("#err-password").startswith("Ce mot de passe fait partie des plus courants")
    assert account(app, NEW_AGENT).password_hash is None  # nothing changed
    assert agent.path.startswith("/invitation/")

    choose_password(agent, NEW_PASSWORD)
    assert agent.path == "/saisie"
    assert "Bienvenue ! Votre mot de passe est enregistré." in agent.text()

    wait_for_service_worker(agent.driver)  # the form's script is at work
    agent.driver.find_element(By.ID, "commune").send_keys("Villeurbanne (69266)\t")
    for name, value in (
        ("housing", "social"),
        ("infestation_level", "low"),
        ("actions", "diagnosis"),
    ):
        agent.find(f'input[name="{name}"][value="{value}"]').click()
    agent.find("#report-form button[type=submit]").click()
    wait_until(lambda: "Signalement enregistré." in agent.text("#form-notice"), what="the report")
    agent.check_width()

    user_id = account(app, NEW_AGENT).id
    reports = in_app(
        app, lambda: db.session.execute(sa.select(Report.structure_id, Report.author_id)).all()
    )
    assert [tuple(row) for row in reports] == [(structure_id, user_id)]


# 2. A forgotten password ---------------------------------------------------------------------


@WIDTHS
def test_a_forgotten_password_is_replaced_by_a_single_use_link(app, server, mail, people, width):
    seed(app, ("agent@entraide.example.org", "agent"))
    agent = people(width)
    agent.open("/connexion")
    agent.click(link="Mot de passe oublié ?")
    assert agent.path == "/mot-de-passe-oublie"
    agent.shot("mot-de-passe-oublie")

    agent.type("email", "personne@ailleurs.example.org")
    agent.click("main form button[type=submit]")
    unknown = agent.text(".notice-info").replace("personne@ailleurs.example.org", "…")
    assert agent.path == "/connexion"
    assert unknown.startswith("Si un compte existe pour …, un lien")

    agent.click(link="Mot de passe oublié ?")
    agent.type("email", "agent@entraide.example.org")
    agent.click("main form button[type=submit]")
    assert agent.text(".notice-info").replace("agent@entraide.example.org", "…") == unknown

    [message] = mail.wait_for(1, seconds=15)
    assert message["To"] == "agent@entraide.example.org"
    link = link_in(message, server, "/mot-de-passe/")
    agent.open(link)
    assert agent.find("h1").text == "Nouveau mot de passe"
    choose_password(agent, NEW_PASSWORD, "pas le même du tout")
    assert agent.text("#err-confirmation") == "Les deux mots de passe ne sont pas identiques."
    choose_password(agent, NEW_PASSWORD)
    assert agent.path == "/connexion"
    assert "Mot de passe changé" in agent.text()

    agent.type("email", "agent@entraide.example.org")
    agent.type("password", "mot-de-passe-solide")
    agent.click("main form button[type=submit]")
    assert agent.path == "/connexion"  # the old password opens nothing
    assert agent.find("#login-error").is_displayed()
    sign_in(agent.driver, server, "agent@entraide.example.org", NEW_PASSWORD)
    assert agent.path == "/saisie"

    agent.open(link)
    assert agent.find("h1").text == "Lien inutilisable"
    assert "Ce lien a expiré, a déjà servi ou n'est pas valide." in agent.text()
    assert len(mail.messages()) == 1  # no message for the unknown address


# 3. Deactivation -----------------------------------------------------------------------------


def api_status(base: str, token: str) -> int:
    request = urllib.request.Request(
        f"{base}/api/v1/reports", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@WIDTHS
def test_deactivation_ends_the_open_session_and_the_api_token(app, server, people, width):
    agent_email = "agent@entraide.example.org"
    structure_id = seed(app, (COORDINATOR, "coordinator"), (agent_email, "agent"))
    agent = signed_in(people, width, agent_email)
    assert agent.path == "/saisie"

    coordinator = signed_in(people, width, COORDINATOR)
    coordinator.open(f"/structures/{structure_id}")
    coordinator.shot("structure")
    coordinator.click("#jetons summary", page=False)
    coordinator.type("f-name", "Logiciel de gestion locative")
    coordinator.click("#jetons form button[type=submit]")
    token = coordinator.find("#new-token").get_attribute("value")
    assert api_status(server, token) == 200
    coordinator.shot("structure-jeton")

    coordinator.click(link="agent")  # the agent's display name, in the structure's people
    coordinator.shot("personne")
    coordinator.click("button.danger")
    assert "Compte désactivé" in coordinator.text(".notice-success")

    agent.open("/mes-signalements")
    assert agent.path == "/connexion"
    assert api_status(server, token) == 401


# 4. A partner admin's invitation -------------------------------------------------------------


def test_a_partner_admin_invites_an_agent_of_their_own_structure(app, mail, people):
    structure_id = seed(app, (PARTNER_ADMIN, "partner_admin"))
    admin = signed_in(people, DESKTOP, PARTNER_ADMIN)
    admin.open("/ma-structure")
    assert admin.path == f"/structures/{structure_id}"
    admin.click(link="Inviter une personne")
    assert admin.options("f-role") == ["agent"]
    assert admin.options("f-structure_id") == [str(structure_id)]
    invite(admin, NEW_AGENT, "Nadia Agente")
    assert admin.find("h1").text == "Invitation envoyée"

    [message] = mail.wait_for(1, seconds=15)
    assert message["To"] == NEW_AGENT
    plain, _html = bodies(message)
    assert "direction vous invite" in plain
    created = account(app, NEW_AGENT)
    assert (created.role, created.structure_id, created.pending) == ("agent", structure_id, True)


# 5. What onboarding a partner costs -----------------------------------------------------------


@WIDTHS
def test_onboarding_a_partner_with_two_agents(app, server, mail, people, width, capsys):
    seed(app, (COORDINATOR, "coordinator"))
    coordinator = signed_in(people, width, COORDINATOR)
    coordinator.click(link="Structures")
    coordinator.click(link="Nouvelle structure")
    coordinator.type("f-name", "Habitat Solidaire Vénissieux")
    coordinator.choose("f-kind", "social_landlord")
    coordinator.type("f-commune", "69259")
    coordinator.click("main form button[type=submit]")
    assert coordinator.find("h1").text == "Habitat Solidaire Vénissieux"
    coordinator.click(link="Inviter une personne")
    assert coordinator.find("#f-role").get_attribute("value") == "agent"  # from a structure
    invite(coordinator, "agent.un@habitat.example.org", "Agent Un")
    coordinator.click(link="Inviter une autre personne")
    assert coordinator.find("#f-structure_id option:checked").text == "Habitat Solidaire Vénissieux"
    invite(coordinator, "agent.deux@habitat.example.org", "Agent Deux")

    agents = []
    for message in mail.wait_for(2, seconds=15):
        agent = people(width)
        agent.open(link_in(message, server, "/invitation/"))
        agent.clicks += 1  # the link in the message
        choose_password(agent, NEW_PASSWORD)
        assert agent.path == "/saisie"
        agents.append(agent)

    everyone = [coordinator, *agents]
    counts = {
        what: sum(getattr(p, what) for p in everyone) for what in ("clicks", "choices", "typed")
    }
    onboarding_clicks = counts["clicks"] + counts["choices"]
    with capsys.disabled():
        print(
            f"\nonboarding clicks: {onboarding_clicks} ({counts['clicks']} clicks, "
            f"{counts['choices']} choice(s) in lists; {counts['typed']} fields typed) at {width} px"
        )
    assert counts == ONBOARDING

    coordinator.open("/structures")
    coordinator.shot("structures")
    coordinator.click(link="Habitat Solidaire Vénissieux")
    people_section = coordinator.text("#personnes")
    assert "Agent Un" in people_section and "Agent Deux" in people_section
    assert "Invitation en attente" not in people_section
    coordinator.shot("structure-nouvelle")
