"""The phone form and the structure's reports, as server-rendered pages (no JavaScript)."""

import datetime as dt
import re
import uuid

import pytest
import sqlalchemy as sa

from ohpunaises.config import ConfigError, load_settings
from ohpunaises.extensions import db
from ohpunaises.models import Report

from .conftest import signed_in_client

TODAY = dt.date.today().isoformat()
MINIMAL = {
    "intervention_date": TODAY,
    "commune": "Villeurbanne (69266)",
    "housing": "private_rented",
    "infestation_level": "moderate",
    "actions": ["diagnosis"],
}
API_REPORT = {
    "intervention_date": TODAY,
    "commune": "69123",
    "housing": "social",
    "infestation_level": "low",
    "actions": ["awareness"],
}


@pytest.fixture
def web(app, accounts):
    """web(key): a client signed in by its session cookie as the `accounts` user of that key."""

    def signed_in(key):
        return signed_in_client(app, accounts[key].user_id)

    return signed_in


def hidden(page: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', page).group(1)


def error_beside(page: str, field: str) -> str:
    return re.search(rf'<p class="error-message" id="err-{field}"[^>]*>([^<]*)</p>', page).group(1)


def post_form(client, **fields):
    """Fill the form as a browser without JavaScript would, and send it."""
    page = client.get("/saisie").get_data(as_text=True)
    data = {"csrf_token": hidden(page, "csrf_token"), "id": hidden(page, "id"), **fields}
    return client.post("/saisie", data=data)


def stored(app) -> list[Report]:
    with app.app_context():
        reports = db.session.scalars(sa.select(Report).order_by(Report.created_at)).all()
        for report in reports:
            _ = (report.actions, report.commune.code, report.history)  # loaded while bound
        db.session.expunge_all()
    return reports


# Who may open the pages -------------------------------------------------------------------------


def test_the_form_asks_to_sign_in_first(client):
    response = client.get("/saisie")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/connexion?next=/saisie")
    assert client.get("/mes-signalements").headers["Location"].startswith("/connexion")


@pytest.mark.parametrize("role", ["agent", "partner_admin", "coordinator"])
def test_field_roles_open_the_form_and_their_reports(web, role):
    client = web(role)
    form = client.get("/saisie")
    assert form.status_code == 200
    page = form.get_data(as_text=True)
    assert "<summary>Plus de détails</summary>" in page
    assert '<option value="Villeurbanne (69266)" data-code="69266">' in page
    assert '<option value="Lyon 3e Arrondissement (69383)" data-code="69383">' in page
    assert client.get("/mes-signalements").status_code == 200


@pytest.mark.parametrize("role", ["institution", "evaluator"])
def test_other_roles_are_refused_in_french(web, role):
    client = web(role)
    for url in ("/saisie", "/mes-signalements"):
        response = client.get(url)
        assert response.status_code == 403
        assert "Accès refusé" in response.get_data(as_text=True)


# The form without JavaScript --------------------------------------------------------------------


def test_a_plain_post_stores_a_form_report_and_confirms_it(app, web):
    client = web("agent")
    fields = {
        **MINIMAL,
        "actions": ["diagnosis", "heat_treatment"],
        "vulnerabilities": ["young_children"],
        "household_size": "4",
        "cost_total": "120,50",
        "cost_household": "20",
        "cost_payer": "shared",
        "notes": "Deuxième passage prévu",
    }
    response = post_form(client, **fields)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/saisie?enregistre=")
    [report] = stored(app)
    assert (report.source, report.commune.code, report.housing) == (
        "form",
        "69266",
        "private_rented",
    )
    assert sorted(report.actions) == ["diagnosis", "heat_treatment"]
    assert (report.household_size, float(report.cost_total)) == (4, 120.5)
    assert report.vuln_young_children and not report.vuln_disability
    assert [step.status for step in report.history] == ["ongoing"]
    confirmation = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Signalement enregistré." in confirmation


def test_sending_the_same_form_twice_stores_one_report(app, web):
    client = web("agent")
    page = client.get("/saisie").get_data(as_text=True)
    data = {"csrf_token": hidden(page, "csrf_token"), "id": hidden(page, "id"), **MINIMAL}
    first, second = client.post("/saisie", data=data), client.post("/saisie", data=data)
    assert first.headers["Location"] == second.headers["Location"]
    assert len(stored(app)) == 1


def test_errors_are_shown_in_french_beside_their_fields_with_the_values_kept(app, web):
    response = post_form(web("agent"), intervention_date=TODAY, commune="Villeurbanne")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert error_beside(page, "infestation_level") == "Champ obligatoire."
    assert error_beside(page, "actions") == "Champ obligatoire."
    assert "corrigez les champs signalés" in page
    assert 'value="Villeurbanne"' in page
    assert 'value="suspected" aria-invalid="true" aria-describedby="err-infestation_level"' in page
    assert stored(app) == []


def test_the_place_is_required_and_an_unknown_commune_is_refused(web):
    client = web("agent")
    nowhere = post_form(client, **{**MINIMAL, "commune": ""}).get_data(as_text=True)
    assert error_beside(nowhere, "location") == "Indiquez un point ou une commune."
    paris = post_form(client, **{**MINIMAL, "commune": "Paris (75056)"}).get_data(as_text=True)
    assert error_beside(paris, "commune") == "Commune inconnue : choisissez-la dans la liste."
    assert 'aria-describedby="hint-place err-commune"' in paris


def test_a_point_from_the_phone_places_the_report(app, web):
    point = {"longitude": "4.8320", "latitude": "45.7578"}
    response = post_form(web("agent"), **{**MINIMAL, "commune": "", **point})
    assert response.status_code == 302
    [report] = stored(app)
    assert report.commune.code == "69123"


def test_details_errors_open_the_details_section(web):
    page = post_form(web("agent"), **MINIMAL, household_size="0", cost_total="beaucoup")
    text = page.get_data(as_text=True)
    assert '<details id="more-details" open>' in text
    assert error_beside(text, "household_size") == "Valeur attendue entre 1 et 30."
    assert error_beside(text, "cost_total") == "Nombre attendu."


def test_the_api_rules_apply_to_the_form(web):
    page = post_form(web("agent"), **MINIMAL, cost_total="10", cost_household="50")
    assert error_beside(page.get_data(as_text=True), "cost_household") == (
        "La part du ménage dépasse le coût total."
    )


def test_a_coordinator_picks_the_structure(app, web, accounts):
    client = web("coordinator")
    page = client.get("/saisie").get_data(as_text=True)
    assert "Structure A" in page and "Structure B" in page
    missing = post_form(client, **MINIMAL).get_data(as_text=True)
    assert error_beside(missing, "structure_id") == "Indiquez la structure du signalement."
    structure_b = accounts["agent_b"].structure_id
    assert post_form(client, **MINIMAL, structure_id=str(structure_b)).status_code == 302
    assert [report.structure_id for report in stored(app)] == [structure_b]


def test_an_agent_is_told_when_the_dwelling_was_already_reported(web):
    client = web("agent")
    post_form(client, **MINIMAL, dwelling_ref="Bât. B, lgt 12")
    again = post_form(client, **MINIMAL, dwelling_ref="bât. b,  LGT 12")
    page = client.get(again.headers["Location"]).get_data(as_text=True)
    report_id = again.headers["Location"].split("=")[1]
    assert "Votre structure a déjà signalé ce logement (2 signalements" in page
    assert f'href="/mes-signalements?logement={report_id}"' in page
    listing = client.get(f"/mes-signalements?logement={report_id}").get_data(as_text=True)
    assert listing.count('<article class="card report"') == 2


def test_a_form_sent_again_with_other_content_gets_a_new_identifier(web):
    client = web("agent")
    page = client.get("/saisie").get_data(as_text=True)
    data = {"csrf_token": hidden(page, "csrf_token"), "id": hidden(page, "id"), **MINIMAL}
    client.post("/saisie", data=data)
    conflict = client.post("/saisie", data={**data, "housing": "other"})
    assert conflict.status_code == 422
    text = conflict.get_data(as_text=True)
    assert "Cet identifiant désigne déjà un autre signalement." in text
    assert hidden(text, "id") != data["id"]


def test_a_social_landlords_form_starts_with_today_and_social_housing(web):
    page = web("agent").get("/saisie").get_data(as_text=True)
    assert f'name="intervention_date" type="date" value="{TODAY}"' in page
    assert 'name="housing" value="social" checked' in page


# The structure's reports and their follow-up ----------------------------------------------------


def create_by_api(accounts, key="agent", **fields) -> str:
    response = accounts[key].post("/api/v1/reports", json={**API_REPORT, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_my_reports_lists_only_the_structures_reports_newest_first(web, accounts):
    first = create_by_api(accounts, notes="premier")
    second = create_by_api(accounts, commune="69266")
    other = create_by_api(accounts, "agent_b")
    page = web("agent").get("/mes-signalements").get_data(as_text=True)
    assert page.index(f'id="r-{second}"') < page.index(f'id="r-{first}"')
    assert f'id="r-{other}"' not in page
    assert "Villeurbanne" in page and "Sensibilisation" in page
    coordinator = web("coordinator").get("/mes-signalements").get_data(as_text=True)
    assert f'id="r-{other}"' in coordinator and "Structure B" in coordinator


def follow_up(client, report_id, status, **fields):
    page = client.get("/mes-signalements").get_data(as_text=True)
    version = re.search(
        rf'action="/mes-signalements/{report_id}/suivi[^"]*">\s*'
        r'<input type="hidden" name="csrf_token" value="([^"]+)">\s*'
        r'<input type="hidden" name="version" value="(\d+)">',
        page,
    )
    data = {"csrf_token": version.group(1), "version": version.group(2), "status": status}
    return client.post(f"/mes-signalements/{report_id}/suivi", data={**data, **fields})


def test_a_report_is_marked_resolved_then_reinfested_then_lost(app, web, accounts):
    report_id = create_by_api(accounts)
    client = web("agent")
    resolved = follow_up(client, report_id, "resolved", resolved_on=TODAY)
    assert resolved.status_code == 302
    assert resolved.headers["Location"].endswith(f"fait={report_id}#r-{report_id}")
    page = client.get(resolved.headers["Location"]).get_data(as_text=True)
    assert "Statut mis à jour : Résolu." in page
    follow_up(client, report_id, "reinfested")
    follow_up(client, report_id, "lost")
    [report] = stored(app)
    assert report.status == "lost"
    assert report.resolved_on.isoformat() == TODAY
    assert [step.status for step in report.history] == ["ongoing", "resolved", "reinfested", "lost"]


def test_a_resolution_before_the_intervention_is_refused(app, web, accounts):
    report_id = create_by_api(accounts)
    client = web("agent")
    refused = follow_up(client, report_id, "resolved", resolved_on="2020-01-01")
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert 'role="alert" tabindex="-1" autofocus>La résolution ne peut précéder' in page
    assert stored(app)[0].status == "ongoing"


def test_a_stale_follow_up_is_refused(app, web, accounts):
    report_id = create_by_api(accounts)
    client = web("agent")
    page = client.get("/mes-signalements").get_data(as_text=True)
    token = hidden(page, "csrf_token")
    data = {"csrf_token": token, "version": "1", "status": "lost"}
    client.post(f"/mes-signalements/{report_id}/suivi", data=data)
    stale = client.post(f"/mes-signalements/{report_id}/suivi", data={**data, "status": "resolved"})
    assert stale.status_code == 409
    assert "Le signalement a changé" in stale.get_data(as_text=True)
    assert stored(app)[0].status == "lost"


@pytest.mark.parametrize("version", ["9" * 5000, "²", "-1", ""])
def test_a_version_that_is_no_number_is_a_stale_follow_up_not_an_error(app, web, accounts, version):
    report_id = create_by_api(accounts)
    client = web("agent")
    token = hidden(client.get("/mes-signalements").get_data(as_text=True), "csrf_token")
    data = {"csrf_token": token, "version": version, "status": "lost"}
    response = client.post(f"/mes-signalements/{report_id}/suivi", data=data)
    assert response.status_code == 409
    assert stored(app)[0].status == "ongoing"


def test_another_structures_report_cannot_be_followed_up(app, web, accounts):
    report_id = create_by_api(accounts, "agent_b")
    client = web("agent")
    token = hidden(client.get("/saisie").get_data(as_text=True), "csrf_token")
    data = {"csrf_token": token, "version": "1", "status": "lost"}
    response = client.post(f"/mes-signalements/{report_id}/suivi", data=data)
    assert response.status_code == 404
    assert stored(app)[0].status == "ongoing"


# What the page's script relies on ----------------------------------------------------------------


def test_the_service_worker_is_served_from_the_root_and_never_cached(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["Service-Worker-Allowed"] == "/"
    script = response.get_data(as_text=True)
    assert 'const PAGE = "/saisie";' in script
    assets = re.search(r"const ASSETS = (\[.*\]);", script).group(1)
    for url in re.findall(r'"([^"]+)"', assets):
        asset = client.get(url)
        assert asset.status_code == 200, url
        asset.close()


def test_the_outbox_sends_with_the_session_and_its_token(app, web):
    client = web("agent")
    assert client.get("/saisie/jeton").headers["Cache-Control"] == "no-store"
    token = client.get("/saisie/jeton").get_json()["csrf_token"]
    headers = {"X-CSRFToken": token, "X-Ohpunaises-Source": "form"}
    payload = {**API_REPORT, "id": str(uuid.uuid4())}
    first = client.post("/api/v1/reports", json=payload, headers=headers)
    again = client.post("/api/v1/reports", json=payload, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["source"] == "form"
    assert len(stored(app)) == 1
    assert client.post("/api/v1/reports", json=payload).status_code == 400  # no token


def test_the_token_route_answers_401_without_a_session(client):
    assert client.get("/saisie/jeton").status_code == 401


def test_csrf_tokens_last_as_long_as_the_session(app):
    assert app.config["WTF_CSRF_TIME_LIMIT"] is None


def test_the_map_tiles_come_from_the_configured_address(make_app, accounts, tmp_path):
    other = make_app(OHPUNAISES_TILE_URL="https://tuiles.example/{z}/{x}/{y}.png")
    client = signed_in_client(other, accounts["agent"].user_id)
    page = client.get("/saisie").get_data(as_text=True)
    assert 'data-tiles="https://tuiles.example/{z}/{x}/{y}.png"' in page
    with pytest.raises(ConfigError, match="OHPUNAISES_TILE_URL"):
        load_settings(str(tmp_path), {"OHPUNAISES_ENV": "test", "OHPUNAISES_TILE_URL": "x"})
