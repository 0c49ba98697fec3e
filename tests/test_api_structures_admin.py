"""Structures through the API: their contact person, stored by coordinators and shown only to
those who manage partners (DESIGN §3: partner contacts are for coordinators only)."""

import sqlalchemy as sa

from ohpunaises.extensions import db
from ohpunaises.models import AuditEvent, Structure

CONTACT = {
    "contact_name": "Camille Durand",
    "contact_function": "Chargée de mission habitat",
    "contact_email": "camille.durand@habitat.example.org",
    "contact_phone": "04 72 00 00 00",
}
SHOWN = {
    "name": "Camille Durand",
    "function": "Chargée de mission habitat",
    "email": "camille.durand@habitat.example.org",
    "phone": "04 72 00 00 00",
}


def test_a_coordinator_stores_a_contact_and_sees_it(app, accounts):
    coordinator, structure = accounts["coordinator"], accounts["agent"].structure_id
    url = f"/api/v1/structures/{structure}"
    response = coordinator.patch(url, json=CONTACT)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["contact"] == SHOWN
    assert coordinator.get(url).get_json()["contact"] == SHOWN
    listed = {s["id"]: s for s in coordinator.get("/api/v1/structures").get_json()}
    assert listed[structure]["contact"] == SHOWN
    with app.app_context():
        stored = db.session.get(Structure, structure)
        assert (stored.contact_name, stored.contact_email) == (
            "Camille Durand",
            "camille.durand@habitat.example.org",
        )
        [event] = db.session.scalars(sa.select(AuditEvent)).all()
        # The audit names the fields changed, never the person's details.
        assert event.details == {"fields": sorted(CONTACT)}


def test_the_contact_is_hidden_from_the_structures_own_people_and_from_institutions(accounts):
    structure = accounts["agent"].structure_id
    url = f"/api/v1/structures/{structure}"
    assert accounts["coordinator"].patch(url, json=CONTACT).status_code == 200
    for role in ("agent", "partner_admin"):
        own = accounts[role].get(url)
        assert own.status_code == 200
        assert "contact" not in own.get_json()
        [listed] = accounts[role].get("/api/v1/structures").get_json()
        assert "contact" not in listed
        me = accounts[role].get("/api/v1/me").get_json()
        assert "contact" not in me["structure"]
        assert "Camille" not in own.get_data(as_text=True)
    for role in ("institution", "evaluator"):
        assert accounts[role].get(url).status_code == 404
        assert "Camille" not in accounts[role].get("/api/v1/structures").get_data(as_text=True)


def test_a_contact_is_cleared_with_null(accounts):
    coordinator, structure = accounts["coordinator"], accounts["agent"].structure_id
    url = f"/api/v1/structures/{structure}"
    coordinator.patch(url, json=CONTACT)
    response = coordinator.patch(url, json={"contact_phone": None, "contact_email": None})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["contact"] == {**SHOWN, "phone": None, "email": None}


def test_a_structure_is_created_with_its_contact(app, accounts):
    body = {"name": "Habitat Est", "kind": "social_landlord", "commune": "69259", **CONTACT}
    created = accounts["coordinator"].post("/api/v1/structures", json=body)
    assert created.status_code == 201, created.get_json()
    answer = created.get_json()
    assert answer["contact"] == SHOWN and answer["commune"] == "69259"
    read = accounts["coordinator"].get(f"/api/v1/structures/{answer['id']}").get_json()
    assert read["contact"] == SHOWN


def test_a_bad_contact_is_refused_by_field_and_nothing_changes(app, accounts):
    coordinator, structure = accounts["coordinator"], accounts["agent"].structure_id
    url = f"/api/v1/structures/{structure}"
    bad = {"contact_email": "pas une adresse", "contact_name": "x" * 121}
    response = coordinator.patch(url, json=bad)
    assert response.status_code == 422
    fields = {error["field"] for error in response.get_json()["errors"]}
    assert fields == {"contact_email", "contact_name"}
    with app.app_context():
        stored = db.session.get(Structure, structure)
        assert (stored.contact_name, stored.contact_email) == (None, None)
    refused = coordinator.post(
        "/api/v1/structures",
        json={"name": "Sans adresse", "kind": "other", "commune": "69259", **bad},
    )
    assert refused.status_code == 422
    with app.app_context():
        names = db.session.scalars(sa.select(Structure.name)).all()
    assert "Sans adresse" not in names


def test_only_coordinators_store_a_contact(app, accounts):
    url = f"/api/v1/structures/{accounts['agent'].structure_id}"
    for role in ("agent", "partner_admin", "institution"):
        assert accounts[role].patch(url, json=CONTACT).status_code == 403
    with app.app_context():
        assert db.session.get(Structure, accounts["agent"].structure_id).contact_name is None
