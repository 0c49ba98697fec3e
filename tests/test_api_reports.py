"""Creating, retrying, listing and following up reports through the API."""

import datetime as dt
import uuid

import pytest
import sqlalchemy as sa

from ohpunaises.extensions import db
from ohpunaises.models import Report
from ohpunaises.usecases import reports as reports_service

SMALLEST = {
    "intervention_date": "2026-11-02",
    "location": {"type": "Point", "coordinates": [4.8320, 45.7578]},
    "housing": "social",
    "infestation_level": "moderate",
    "actions": ["diagnosis"],
}
BY_COMMUNE = {**{k: v for k, v in SMALLEST.items() if k != "location"}, "commune": "69266"}


def report_count(app):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(Report.id)))


def test_the_smallest_report_is_created_and_placed(accounts):
    response = accounts["agent"].post("/api/v1/reports", json=SMALLEST)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert response.headers["Location"] == f"/api/v1/reports/{body['id']}"
    assert response.headers["ETag"] == '"1"'
    assert (body["commune"], body["arrondissement"], body["qpv"]) == ("69123", "69382", None)
    assert body["location"] == SMALLEST["location"]
    assert (body["status"], body["source"], body["structure_id"]) == (
        "ongoing",
        "api",
        accounts["agent"].structure_id,
    )
    assert [step["status"] for step in body["history"]] == ["ongoing"]


def test_a_commune_code_alone_is_accepted(accounts):
    response = accounts["agent"].post("/api/v1/reports", json=BY_COMMUNE)
    assert response.status_code == 201
    assert (response.get_json()["commune"], response.get_json()["location"]) == ("69266", None)


def test_retrying_the_same_uuid_and_content_returns_the_stored_report(app, accounts):
    payload = {**SMALLEST, "id": str(uuid.uuid4())}
    first = accounts["agent"].post("/api/v1/reports", json=payload)
    second = accounts["agent"].post("/api/v1/reports", json=payload)
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.get_json() == first.get_json()
    assert report_count(app) == 1


@pytest.mark.parametrize("batch", [False, True], ids=["single", "batch"])
def test_a_twin_stored_between_the_check_and_the_insert_is_replayed(
    app, accounts, database_kind, monkeypatch, batch
):
    if database_kind == "spatialite":
        pytest.skip("SQLite takes the write lock at BEGIN IMMEDIATE: no twin can slip in")
    payload = {**SMALLEST, "id": str(uuid.uuid4())}
    agent, place = accounts["agent"], reports_service.place
    twins = []

    def place_after_a_twin(data):
        # The same report arrives through another request (its own session and connection)
        # after this one found no report under the UUID, and is stored first.
        if not twins:
            twins.append(None)  # the twin's own request goes straight through
            with app.app_context():  # so that it has a session of its own
                twins[0] = agent.post("/api/v1/reports", json=payload)
        return place(data)

    monkeypatch.setattr(reports_service, "place", place_after_a_twin)
    if batch:
        body = agent.post("/api/v1/reports/batch", json={"reports": [payload]}).get_json()
        status, view = body["results"][0]["status"], body["results"][0]["report"]
    else:
        response = agent.post("/api/v1/reports", json=payload)
        status, view = response.status_code, response.get_json()
    assert twins[0].status_code == 201
    stored = {k: v for k, v in twins[0].get_json().items() if k in view}  # batch: no dwelling
    assert (status, view) == (200, stored)
    assert report_count(app) == 1


def test_the_same_uuid_with_other_content_is_a_conflict(app, accounts):
    payload = {**SMALLEST, "id": str(uuid.uuid4())}
    accounts["agent"].post("/api/v1/reports", json=payload)
    response = accounts["agent"].post("/api/v1/reports", json={**payload, "housing": "other"})
    assert response.status_code == 409
    assert response.content_type == "application/problem+json"
    assert response.get_json()["errors"][0]["field"] == "id"
    assert report_count(app) == 1


def test_a_point_outside_every_commune_is_hors_perimetre(app, accounts):
    eiffel = {**SMALLEST, "location": {"type": "Point", "coordinates": [2.2945, 48.8584]}}
    response = accounts["agent"].post("/api/v1/reports", json=eiffel)
    assert response.status_code == 422
    assert response.get_json()["title"] == "Hors périmètre"
    assert report_count(app) == 0


def test_an_unknown_commune_is_hors_perimetre(accounts):
    response = accounts["agent"].post("/api/v1/reports", json={**BY_COMMUNE, "commune": "75056"})
    assert response.status_code == 422
    assert response.get_json()["title"] == "Hors périmètre"


def test_a_point_and_a_commune_that_disagree_are_refused(accounts):
    response = accounts["agent"].post("/api/v1/reports", json={**SMALLEST, "commune": "69266"})
    assert response.status_code == 422
    assert response.get_json()["errors"] == [
        {"field": "commune", "message": "Le point n'est pas dans cette commune."}
    ]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"housing": "castle"}, "housing", "Valeur inconnue"),
        ({"actions": []}, "actions", "Longueur attendue entre 1 et 13."),
        ({"actions": ["diagnosis", "diagnosis"]}, "actions", "Valeur en double."),
        ({"intervention_date": "1999-12-31"}, "intervention_date", "Date hors de la plage"),
        ({"intervention_date": "2026-13-45"}, "intervention_date", "Date attendue"),
        ({"household_size": 0}, "household_size", "Valeur attendue entre 1 et 30."),
        ({"colour": "red"}, "colour", "Champ inconnu."),
        ({"resolved_on": "2026-11-01"}, "resolved_on", "La résolution ne peut précéder"),
        ({"cost_total": 100, "cost_household": 150}, "cost_household", "La part du ménage"),
        (
            {"location": {"type": "Point", "coordinates": [200, 45]}},
            "location.coordinates",
            "Coordonnées hors des bornes.",
        ),
    ],
)
def test_invalid_fields_are_named_with_a_french_message(accounts, change, field, message):
    response = accounts["agent"].post("/api/v1/reports", json={**SMALLEST, **change})
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    errors = response.get_json()["errors"]
    assert any(e["field"] == field and message in e["message"] for e in errors), errors


def test_a_missing_required_field_is_named(accounts):
    body = {k: v for k, v in SMALLEST.items() if k != "housing"}
    errors = accounts["agent"].post("/api/v1/reports", json=body).get_json()["errors"]
    assert errors == [{"field": "housing", "message": "Champ obligatoire."}]


def test_a_report_needs_a_point_or_a_commune(accounts):
    body = {k: v for k, v in SMALLEST.items() if k != "location"}
    errors = accounts["agent"].post("/api/v1/reports", json=body).get_json()["errors"]
    assert errors == [{"field": "location", "message": "Indiquez un point ou une commune."}]


def test_every_optional_field_is_stored_and_read_back(accounts):
    full = {
        **SMALLEST,
        "building_type": "collective",
        "household_size": 4,
        "vulnerabilities": ["young_children", "minimum_benefits"],
        "confirmation": "canine_detection",
        "actions": ["diagnosis", "heat_treatment", "social_support"],
        "cost_total": 950.5,
        "cost_payer": "shared",
        "cost_household": 120,
        "status": "resolved",
        "resolved_on": "2026-11-20",
        "dwelling_ref": "Bât. C, porte 12",
        "notes": "Deuxième passage prévu.",
    }
    response = accounts["agent"].post("/api/v1/reports", json=full)
    assert response.status_code == 201, response.get_json()
    body = accounts["agent"].get(response.headers["Location"]).get_json()
    for key in (
        "building_type",
        "household_size",
        "confirmation",
        "cost_total",
        "cost_payer",
        "cost_household",
        "status",
        "resolved_on",
        "notes",
    ):
        assert body[key] == full[key], key
    assert sorted(body["vulnerabilities"]) == sorted(full["vulnerabilities"])
    assert sorted(body["actions"]) == sorted(full["actions"])
    assert "dwelling_ref" not in body


def test_the_dwelling_reference_is_never_stored_and_links_reports(app, accounts):
    ref = "Résidence Les Tilleuls, logement 42"
    first = accounts["agent"].post("/api/v1/reports", json={**SMALLEST, "dwelling_ref": ref})
    second = accounts["agent"].post(
        "/api/v1/reports",
        json={**SMALLEST, "dwelling_ref": "  résidence les tilleuls,  LOGEMENT 42 "},
    )
    assert first.get_json()["dwelling_reports"] == 1
    assert second.get_json()["dwelling_reports"] == 2
    other = accounts["agent_b"].post("/api/v1/reports", json={**BY_COMMUNE, "dwelling_ref": ref})
    assert other.get_json()["dwelling_reports"] == 1
    with app.app_context():
        keys = set(db.session.scalars(sa.select(Report.dwelling_key)))
        rows = db.session.execute(sa.text("SELECT * FROM reports")).all()
    assert len(keys) == 2 and all(len(key) == 64 for key in keys)
    assert not any("Tilleuls" in str(value) for row in rows for value in row)


def test_batch_gives_one_result_per_item_in_order(app, accounts):
    known = str(uuid.uuid4())
    accounts["agent"].post("/api/v1/reports", json={**SMALLEST, "id": known})
    items = [
        SMALLEST,
        {**SMALLEST, "housing": "castle"},
        {**SMALLEST, "id": known},
        {**SMALLEST, "id": known, "housing": "other"},
        {**SMALLEST, "location": {"type": "Point", "coordinates": [2.2945, 48.8584]}},
        BY_COMMUNE,
    ]
    response = accounts["agent"].post("/api/v1/reports/batch", json={"reports": items})
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert [r["index"] for r in results] == list(range(6))
    assert [r["status"] for r in results] == [201, 422, 200, 409, 422, 201]
    assert results[1]["errors"][0]["field"] == "housing"
    assert results[2]["id"] == known
    assert report_count(app) == 3


def test_a_batch_over_500_reports_is_refused_whole(app, accounts):
    response = accounts["agent"].post("/api/v1/reports/batch", json={"reports": [SMALLEST] * 501})
    assert response.status_code == 422
    assert report_count(app) == 0


def create(client, **changes):
    response = client.post("/api/v1/reports", json={**SMALLEST, **changes})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_listing_filters_by_period_territory_status_structure_and_source(accounts):
    agent, coordinator = accounts["agent"], accounts["coordinator"]
    bellecour = create(agent, intervention_date="2026-01-10")
    croix_rousse = create(
        agent,
        intervention_date="2026-03-10",
        location={"type": "Point", "coordinates": [4.8271, 45.7745]},
    )
    villeurbanne = create(
        accounts["agent_b"], intervention_date="2026-06-10", location=None, commune="69266"
    )

    def ids(url):
        return {r["id"] for r in coordinator.get(url).get_json()["items"]}

    assert ids("/api/v1/reports?from=2026-02-01&to=2026-12-31") == {
        croix_rousse["id"],
        villeurbanne["id"],
    }
    assert ids("/api/v1/reports?territory=69123") == {bellecour["id"], croix_rousse["id"]}
    assert ids("/api/v1/reports?territory=69382") == {bellecour["id"]}
    assert ids(f"/api/v1/reports?structure={agent.structure_id}") == {
        bellecour["id"],
        croix_rousse["id"],
    }
    assert ids("/api/v1/reports?status=resolved") == set()
    assert len(ids("/api/v1/reports?source=api")) == 3
    assert ids("/api/v1/reports?source=form") == set()
    unknown = coordinator.get("/api/v1/reports?territory=99999")
    assert unknown.status_code == 422
    assert unknown.get_json()["errors"][0]["field"] == "territory"


def test_cursor_pages_stay_stable_while_reports_are_added(accounts):
    agent = accounts["agent"]
    first_ids = [create(agent)["id"] for _ in range(5)]
    page = agent.get("/api/v1/reports?limit=2").get_json()
    seen = [r["id"] for r in page["items"]]
    added = [create(agent)["id"] for _ in range(2)]
    while page["next_cursor"]:
        page = agent.get(f"/api/v1/reports?limit=2&cursor={page['next_cursor']}").get_json()
        seen += [r["id"] for r in page["items"]]
    assert seen == first_ids + added


def test_a_bad_cursor_is_a_clear_error(accounts):
    response = accounts["agent"].get("/api/v1/reports?cursor=garbage")
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "cursor"


def test_follow_up_records_status_changes_with_who_and_when(accounts):
    agent, admin = accounts["agent"], accounts["partner_admin"]
    report = create(agent)
    url = f"/api/v1/reports/{report['id']}"
    etag = agent.get(url).headers["ETag"]
    response = admin.patch(
        url, json={"status": "resolved", "resolved_on": "2026-11-15"}, headers={"If-Match": etag}
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["status"], body["resolved_on"], body["version"]) == ("resolved", "2026-11-15", 2)
    assert [s["status"] for s in body["history"]] == ["ongoing", "resolved"]
    assert body["history"][1]["changed_by"] == "partner_admin"
    assert response.headers["ETag"] == '"2"'


def test_a_write_without_if_match_or_with_a_stale_etag_is_refused(accounts):
    agent = accounts["agent"]
    url = f"/api/v1/reports/{create(agent)['id']}"
    assert agent.patch(url, json={"notes": "x"}).status_code == 428
    agent.patch(url, json={"notes": "première"}, headers={"If-Match": '"1"'})
    stale = agent.patch(url, json={"notes": "seconde"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert agent.get(url).get_json()["notes"] == "première"


def test_a_resolution_date_before_the_intervention_is_refused(accounts):
    agent = accounts["agent"]
    url = f"/api/v1/reports/{create(agent)['id']}"
    response = agent.patch(
        url, json={"status": "resolved", "resolved_on": "2026-10-01"}, headers={"If-Match": '"1"'}
    )
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "resolved_on"
    assert agent.get(url).get_json()["status"] == "ongoing"


def test_resolving_without_a_date_uses_today(accounts):
    agent = accounts["agent"]
    url = f"/api/v1/reports/{create(agent)['id']}"
    body = agent.patch(url, json={"status": "resolved"}, headers={"If-Match": '"1"'}).get_json()
    assert body["resolved_on"] == dt.date.today().isoformat()


def test_another_structures_report_answers_404(accounts):
    report = create(accounts["agent"])
    url = f"/api/v1/reports/{report['id']}"
    assert accounts["agent_b"].get(url).status_code == 404
    assert (
        accounts["agent_b"].patch(url, json={"notes": "x"}, headers={"If-Match": '"1"'}).status_code
        == 404
    )
    assert accounts["agent_b"].get(f"/api/v1/reports/{uuid.uuid4()}").status_code == 404
    listed = accounts["agent_b"].get("/api/v1/reports").get_json()["items"]
    assert listed == []


def test_a_coordinator_reports_for_a_named_structure(accounts):
    coordinator = accounts["coordinator"]
    refused = coordinator.post("/api/v1/reports", json=SMALLEST)
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["field"] == "structure_id"
    structure = accounts["agent_b"].structure_id
    created = coordinator.post("/api/v1/reports", json={**SMALLEST, "structure_id": structure})
    assert created.status_code == 201
    assert created.get_json()["structure_id"] == structure


def test_an_agent_cannot_report_for_another_structure(accounts):
    other = accounts["agent_b"].structure_id
    response = accounts["agent"].post("/api/v1/reports", json={**SMALLEST, "structure_id": other})
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "structure_id"


def test_a_follow_up_is_recorded_in_the_audit_log(app, accounts):
    from ohpunaises.models import AuditEvent

    agent = accounts["agent"]
    report = create(agent, dwelling_ref="Porte 3")
    agent.patch(
        f"/api/v1/reports/{report['id']}",
        json={"status": "lost", "notes": "parti"},
        headers={"If-Match": '"1"'},
    )
    with app.app_context():
        event = db.session.scalars(sa.select(AuditEvent)).one()
    assert (event.action, event.target, event.actor) == (
        "report.update",
        report["id"],
        "agent@example.org",
    )
    assert event.details == {"fields": ["notes", "status"], "status": "lost"}


def test_changing_only_the_actions_moves_the_etag(accounts):
    agent = accounts["agent"]
    url = f"/api/v1/reports/{create(agent)['id']}"
    response = agent.patch(
        url, json={"actions": ["diagnosis", "vacuuming"]}, headers={"If-Match": '"1"'}
    )
    assert response.status_code == 200
    assert response.headers["ETag"] == '"2"'
    assert sorted(agent.get(url).get_json()["actions"]) == ["diagnosis", "vacuuming"]


def test_if_match_star_matches_the_current_version(accounts):
    agent = accounts["agent"]
    created = agent.post("/api/v1/reports", json=SMALLEST).get_json()
    url = f"/api/v1/reports/{created['id']}"
    response = agent.patch(url, json={"status": "lost"}, headers={"If-Match": "*"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "lost"
    stale = agent.patch(url, json={"status": "ongoing"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412


def test_a_patch_without_a_body_is_a_400(accounts):
    agent, coordinator = accounts["agent"], accounts["coordinator"]
    created = agent.post("/api/v1/reports", json=SMALLEST).get_json()
    report = agent.patch(f"/api/v1/reports/{created['id']}", headers={"If-Match": '"1"'})
    assert report.status_code == 400
    assert "corps JSON" in report.get_json()["detail"]
    structure = coordinator.patch(f"/api/v1/structures/{agent.structure_id}")
    assert structure.status_code == 400
    assert coordinator.patch(f"/api/v1/structures/{agent.structure_id}", json={}).status_code == 200
