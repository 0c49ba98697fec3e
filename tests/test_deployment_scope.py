"""Indicators, maps and territory exports over the viewer's deployments (DESIGN §2–3).

Two deployments: the default one holds "Structure A" in Lyon, with 6 reports in Lyon and a
training session of 10 people; a second one holds "Structure B" in Villeurbanne, with 7
reports in Villeurbanne and a session of 20. A coordinator is attached to the first, an
institution to the second; the coordinator and institution of `accounts` to none.
"""

import datetime as dt
import json
import re

import pytest
import sqlalchemy as sa

from ohpunaises.auth import issue_token
from ohpunaises.extensions import db
from ohpunaises.indicators import Period, compute
from ohpunaises.models import (
    Deployment,
    Structure,
    TrainingSession,
    user_deployments,
)
from ohpunaises.privacy import MAX_PERTURBATION as MOST

from .conftest import ApiClient, make_report, make_user
from .test_map import page_as, tooltips

PERIOD = "from=2025-01-01&to=2025-12-31"
REPORTS = {"69123": 6, "69266": 7}  # Lyon (deployment A), Villeurbanne (deployment B)
NAMES = {"69123": "Lyon", "69266": "Villeurbanne"}


def point_of(code: str, number: int) -> tuple[float, float]:
    """A distinctive (lon, lat) per report."""
    lon, lat = {"69123": (4.8301, 45.7501), "69266": (4.8901, 45.7703)}[code]
    return round(lon + number * 0.0001, 5), round(lat + number * 0.0001, 5)


def shown_points(html: str, code: str) -> int:
    """How many of the commune's report points the page draws."""
    points = (point_of(code, number) for number in range(REPORTS[code]))
    return sum(f"{lat}, {lon}" in html for lon, lat in points)


@pytest.fixture
def deployments(app, client, accounts):
    """The deployment ids (A, B) and an API client per attached account.

    Deployments outlive each test (see conftest): the second one is removed afterwards.
    """
    with app.app_context():
        a = db.session.scalar(sa.select(Structure).where(Structure.name == "Structure A"))
        b = db.session.scalar(sa.select(Structure).where(Structure.name == "Structure B"))
        other = Deployment(name="Déploiement d'essai", started_on=dt.date(2025, 1, 1))
        db.session.add(other)
        b.deployment = other
        a.onboarded_on = b.onboarded_on = dt.date(2024, 6, 1)
        for structure, code in ((a, "69123"), (b, "69266")):
            for number in range(REPORTS[code]):
                day = dt.date(2025, 3, 1 + number)
                make_report(structure, code, day, point_of(code, number))
        for structure, people in ((a, 10), (b, 20)):
            db.session.add(
                TrainingSession(
                    held_on=dt.date(2025, 4, 1),
                    structure=structure,
                    kind="workshop",
                    participants=people,
                )
            )
        coordinator_a = make_user("coordinator-a@example.org", "coordinator")
        coordinator_a.deployments = [a.deployment]
        institution_b = make_user("institution-b@example.org", "institution")
        institution_b.deployments = [other]
        clients = {
            "coordinator_a": ApiClient(client, issue_token(coordinator_a)[0], coordinator_a.id),
            "institution_b": ApiClient(client, issue_token(institution_b)[0], institution_b.id),
        }
        ids = (a.deployment_id, other.id)
        db.session.commit()
    yield ids, {**accounts, **clients}
    with app.app_context():
        db.session.rollback()
        db.session.execute(
            sa.update(Structure).where(Structure.deployment_id == ids[1]).values(deployment_id=None)
        )
        db.session.execute(
            user_deployments.delete().where(user_deployments.c.deployment_id == ids[1])
        )
        db.session.execute(sa.delete(Deployment).where(Deployment.id == ids[1]))
        db.session.commit()
        db.session.remove()


def indicators(api, query="") -> dict:
    body = api.get(f"/api/v1/indicators?{PERIOD}&level=commune{query}").get_json()
    return {indicator["id"]: indicator for indicator in body["indicators"]}


def per_commune(indicator: dict) -> dict:
    return {
        code: row["display"]
        for row in indicator["territories"]
        if (code := row["territory"]["code"]) in REPORTS
    }


# The indicators API ---------------------------------------------------------------------------


def test_an_attached_coordinator_reads_only_their_deployments_figures(deployments):
    _, api = deployments
    shown = indicators(api["coordinator_a"])
    assert shown["reports"]["whole"]["value"] == 6
    assert per_commune(shown["reports"]) == {"69123": "6", "69266": "0"}
    assert shown["training_sessions"]["whole"]["value"] == 1
    assert shown["people_trained"]["whole"]["value"] == 10
    # Both structures joined in 2024 and have not reported in the last 90 days of 2025.
    assert shown["silent_structures"]["whole"]["value"] == 1
    kinds = {
        part["category"]: part["value"]
        for part in shown["reports_by_structure_kind"]["whole"]["parts"]
    }
    assert kinds["social_landlord"] == 6 and kinds["association"] == 0
    # Territories stay the territories: every commune is listed, and still in scope.
    assert len(shown["reports"]["territories"]) > len(REPORTS)
    assert shown["communes_covered"]["whole"]["value"] == 1


def html_text(display: str) -> str:
    return display.replace("<", "&lt;")


def protected_reports(api, role="institution") -> dict:
    """What a protected reader reads of each commune's reports through the API."""
    return per_commune(indicators(api[role])["reports"])


def test_an_attached_institution_reads_only_their_deployments_figures(deployments):
    _, api = deployments
    shown = indicators(api["institution_b"])
    villeurbanne = protected_reports(api)["69266"]  # the same 7 reports: the same figure
    assert villeurbanne == "< 5" or abs(int(villeurbanne) - 7) <= MOST
    assert per_commune(shown["reports"]) == {"69123": "0", "69266": villeurbanne}
    assert shown["reports"]["whole"]["display"] == villeurbanne  # all of them in Villeurbanne


def test_unattached_users_read_every_deployment(deployments):
    _, api = deployments
    shown = indicators(api["coordinator"])
    assert shown["reports"]["whole"]["display"] == "13"
    assert per_commune(shown["reports"]) == {"69123": "6", "69266": "7"}
    assert shown["people_trained"]["whole"]["value"] == 30
    assert shown["silent_structures"]["whole"]["value"] == 2
    protected = indicators(api["institution"])
    assert abs(protected["reports"]["whole"]["value"] - 13) <= MOST
    for code, truth in (("69123", 6), ("69266", 7)):
        shown = protected_reports(api)[code]
        assert shown == "< 5" or abs(int(shown) - truth) <= MOST


def test_the_cache_keeps_each_viewers_figures_apart(app, deployments):
    ids, api = deployments
    # Same role, same parameters, one after the other: only the deployments differ.
    assert indicators(api["coordinator_a"])["reports"]["whole"]["value"] == 6
    assert indicators(api["coordinator"])["reports"]["whole"]["value"] == 13
    assert indicators(api["coordinator_a"])["reports"]["whole"]["value"] == 6
    with app.test_request_context():
        period = Period(dt.date(2025, 1, 1), dt.date(2025, 12, 31))
        totals = [
            compute(period, viewer_role="coordinator", ids=["reports"], deployments=chosen)
            .indicator("reports")
            .whole.value
            for chosen in ([ids[0]], [ids[1]], None, list(ids), [ids[1]])
        ]
    assert totals == [6, 7, 13, 13, 7]


# Pages and exports ---------------------------------------------------------------------------


def dashboard_reports(app, email: str) -> dict:
    html = page_as(app, email.split("@")[0], f"/indicateurs?{PERIOD}&level=commune")
    html = html.get_data(as_text=True)
    table = html.split("<caption>Indicateurs par territoire</caption>", 1)[1].split("</table>")[0]
    rows = dict(re.findall(r'<tr><th scope="row">(.*?)</th><td>(.*?)</td>', table, re.S))
    return {code: rows[name] for code, name in NAMES.items()}


def test_the_dashboard_shows_the_viewers_deployments(app, deployments):
    _, api = deployments
    villeurbanne = protected_reports(api)["69266"]  # the same records as the API's cell
    assert dashboard_reports(app, "coordinator-a@example.org") == {"69123": "6", "69266": "0"}
    assert dashboard_reports(app, "institution-b@example.org") == {
        "69123": "0",
        "69266": html_text(villeurbanne),
    }
    assert dashboard_reports(app, "coordinator@example.org") == {"69123": "6", "69266": "7"}


def structure_count_communes(html: str) -> set[str]:
    """The communes of the structure count labels (suppressed maps)."""
    return set(re.findall(r'"([^"]+) : [^"]* structure\(s\) partenaire', html))


def test_the_map_of_an_attached_coordinator(app, deployments):
    html = page_as(app, "coordinator-a").get_data(as_text=True)
    shown = tooltips(html)
    assert (shown["Lyon"]["count"], shown["Villeurbanne"]["count"]) == ("6", "0")
    assert "Structure A" in html and "Structure B" not in html
    assert (shown_points(html, "69123"), shown_points(html, "69266")) == (6, 0)


def test_the_map_of_an_attached_institution(app, deployments):
    _, api = deployments
    html = page_as(app, "institution-b").get_data(as_text=True)
    shown = tooltips(html)
    villeurbanne = html_text(protected_reports(api)["69266"])
    assert (shown["Lyon"]["count"], shown["Villeurbanne"]["count"]) == ("0", villeurbanne)
    assert structure_count_communes(html) == {"Villeurbanne"}


def test_the_map_of_unattached_users_shows_every_deployment(app, deployments):
    html = page_as(app, "coordinator").get_data(as_text=True)
    assert (tooltips(html)["Lyon"]["count"], tooltips(html)["Villeurbanne"]["count"]) == ("6", "7")
    assert "Structure A" in html and "Structure B" in html
    assert (shown_points(html, "69123"), shown_points(html, "69266")) == (6, 7)
    html = page_as(app, "institution").get_data(as_text=True)
    assert structure_count_communes(html) == {"Lyon", "Villeurbanne"}


def test_the_embedded_map_stays_over_every_deployment(make_app, deployments):
    _, api = deployments
    embedding = make_app(OHPUNAISES_EMBED="1")
    with embedding.test_client() as client:
        html = client.get(f"/carte/embed?indicator=reports&{PERIOD}").get_data(as_text=True)
    every = protected_reports(api)  # the public reads the cells an unattached reader reads
    shown = (tooltips(html)["Lyon"]["count"], tooltips(html)["Villeurbanne"]["count"])
    assert shown == tuple(html_text(every[code]) for code in ("69123", "69266"))


def geojson_reports(api) -> dict:
    response = api.get(f"/api/v1/exports/territories.geojson?level=commune&{PERIOD}")
    assert response.status_code == 200
    features = json.loads(response.get_data(as_text=True))["features"]
    return {
        f["properties"]["code"]: f["properties"]["reports_display"]
        for f in features
        if f["properties"]["code"] in REPORTS
    }


def test_the_territories_geojson_follows_the_viewers_deployments(deployments):
    _, api = deployments
    every = protected_reports(api)
    assert geojson_reports(api["institution_b"]) == {"69123": "0", "69266": every["69266"]}
    assert geojson_reports(api["institution"]) == every
    assert geojson_reports(api["evaluator"]) == every
