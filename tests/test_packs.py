"""Packs (steering committees and funders): figures frozen as institutions read them, equal to
the live computation when frozen and unchanged after new reports and edits (the differences
show them), verified by their hash, approved by a second person, then read by institutions."""

import datetime as dt
import hashlib
import io
import json
import time

import openpyxl
import pytest
import sqlalchemy as sa

from ohpunaises.auth import issue_token
from ohpunaises.extensions import db
from ohpunaises.indicators import Period, compute
from ohpunaises.models import AuditEvent, Deployment, Pack, Report, Structure
from ohpunaises.usecases.packs import canonical, period_label, previous_period

from .conftest import ApiClient, make_report, make_user
from .test_pipeline import inside, messages
from .test_targets import target_body

Q1 = {"from": "2026-01-01", "to": "2026-03-31"}


@pytest.fixture
def reported(app, accounts):
    """Structure A's deployment with 30 reports in Lyon over the first quarter of 2026 and 9
    in the last quarter of 2025, and 2 in Villeurbanne (a small count) by structure B."""
    with inside(app):
        a = db.session.scalar(sa.select(Structure).where(Structure.name == "Structure A"))
        b = db.session.scalar(sa.select(Structure).where(Structure.name == "Structure B"))
        for number in range(30):
            make_report(a, "69123", dt.date(2026, 1 + number % 3, 1 + number % 28))
        for number in range(9):
            make_report(a, "69123", dt.date(2025, 10 + number % 3, 5))
        for day in (3, 4):
            make_report(b, "69266", dt.date(2026, 2, day))
        deployment_id = a.deployment_id
        db.session.commit()
    return deployment_id


@pytest.fixture
def second_coordinator(app, client):
    with inside(app):
        user = make_user("coordination-2@example.org", "coordinator")
        token = issue_token(user)[0]
        db.session.commit()
        return ApiClient(client, token, user.id)


def freeze(api, deployment_id, period=Q1):
    answer = api.post("/api/v1/packs", json={"deployment_id": deployment_id, **period})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def live(deployment_id, start, end, level=None):
    """Today's figures of the deployment as institutions read them, by indicator."""
    result = compute(Period(start, end), None, level, "institution", deployments=(deployment_id,))
    return {indicator.id: indicator for indicator in result.indicators}


def test_a_pack_holds_the_figures_of_the_moment_it_was_frozen(app, accounts, reported):
    pack = freeze(accounts["coordinator"], reported)
    content = pack["content"]
    with inside(app):
        now = live(reported, dt.date(2026, 1, 1), dt.date(2026, 3, 31), "commune")
        before = live(reported, dt.date(2025, 10, 1), dt.date(2025, 12, 31))
    assert content["period"] == {
        "start": "2026-01-01",
        "end": "2026-03-31",
        "label": "1er trimestre 2026",
    }
    assert content["previous_period"]["label"] == "4e trimestre 2025"
    for item in content["indicators"]:
        whole = now[item["id"]].whole
        assert (item["value"], item["display"], item["suppressed"]) == (
            whole.value,
            whole.display,
            whole.suppressed,
        ), item["id"]
        assert item["previous"]["display"] == before[item["id"]].whole.display
    reports = next(item for item in content["indicators"] if item["id"] == "reports")
    assert reports["value"] == now["reports"].whole.value
    assert reports["change"]["direction"] in ("up", "down", "same")
    mapped = {item["code"]: item["display"] for item in content["map"]["territories"]}
    rates = now["reports_per_10000"].territories
    assert mapped == {item.territory.code: item.figure.display for item in rates}
    assert mapped["69123"] != "s"
    assert content["suppression"]["applied"] and content["suppression"]["k"] == 5
    assert pack["status"] == "draft" and pack["verified"] is True
    stored = hashlib.sha256(canonical(content).encode("utf-8")).hexdigest()
    assert pack["content_hash"] == stored


def test_a_pack_stays_the_same_after_new_reports_and_edits_and_shows_the_differences(
    app, accounts, reported
):
    coordinator = accounts["coordinator"]
    pack = freeze(coordinator, reported)
    with inside(app):
        a = db.session.scalar(sa.select(Structure).where(Structure.name == "Structure A"))
        for day in range(1, 13):
            make_report(a, "69123", dt.date(2026, 3, day))
        first = db.session.scalar(sa.select(Report).order_by(Report.id))
        first.intervention_date = dt.date(2024, 1, 1)
        db.session.commit()
    again = coordinator.get(f"/api/v1/packs/{pack['id']}").get_json()
    assert again["content"] == pack["content"]
    assert again["content_hash"] == pack["content_hash"] and again["verified"]
    differences = coordinator.get(f"/api/v1/packs/{pack['id']}/differences").get_json()
    changed = {item["id"]: item for item in differences if item["kind"] == "indicator"}
    frozen = next(i for i in pack["content"]["indicators"] if i["id"] == "reports")
    assert changed["reports"]["frozen"] == frozen["display"]
    with inside(app):
        today = live(reported, dt.date(2026, 1, 1), dt.date(2026, 3, 31))["reports"].whole
    assert changed["reports"]["today"] == today.display != frozen["display"]


def test_a_tampered_pack_no_longer_verifies_and_cannot_be_approved(
    app, accounts, reported, second_coordinator
):
    pack = freeze(accounts["coordinator"], reported)
    with inside(app):
        stored = db.session.get(Pack, pack["id"])
        stored.content = stored.content.replace('"reports"', '"reports" ', 1)
        with pytest.raises(ValueError, match="frozen fields cannot change"):
            db.session.commit()  # the application never rewrites a pack
        db.session.rollback()
        changed = stored.content.replace('"reports"', '"reports" ', 1)
        db.session.execute(sa.update(Pack).where(Pack.id == pack["id"]).values(content=changed))
        db.session.commit()  # a change made in SQL, behind the application's back
    read = accounts["coordinator"].get(f"/api/v1/packs/{pack['id']}").get_json()
    assert read["verified"] is False
    refused = second_coordinator.post(f"/api/v1/packs/{pack['id']}/approve")
    assert refused.status_code == 409


def test_approval_is_by_another_coordinator_where_there_is_one(
    app, accounts, reported, second_coordinator
):
    coordinator, institution = accounts["coordinator"], accounts["institution"]
    pack = freeze(coordinator, reported)
    assert institution.get(f"/api/v1/packs/{pack['id']}").status_code == 404
    assert institution.get("/api/v1/packs").get_json() == []
    refused = coordinator.post(f"/api/v1/packs/{pack['id']}/approve")
    assert refused.status_code == 403
    assert "autre membre de la coordination" in refused.get_json()["detail"]
    approved = second_coordinator.post(f"/api/v1/packs/{pack['id']}/approve")
    assert approved.status_code == 200
    body = approved.get_json()
    assert (body["status"], body["approved_by"]) == ("approved", "coordination-2@example.org")
    assert body["content_hash"] == pack["content_hash"]
    assert second_coordinator.post(f"/api/v1/packs/{pack['id']}/approve").status_code == 409
    assert coordinator.post(f"/api/v1/packs/{pack['id']}/withdraw").status_code == 409
    seen = institution.get(f"/api/v1/packs/{pack['id']}").get_json()
    assert seen["content"] == pack["content"]
    assert [item["id"] for item in institution.get("/api/v1/packs").get_json()] == [pack["id"]]
    with inside(app):
        actions = db.session.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.target == f"pack:{pack['id']}")
            .order_by(AuditEvent.id)
        ).all()
    assert actions == ["pack.create", "pack.approve"]


def test_a_lone_coordinator_approves_their_own_pack(app, accounts, reported):
    pack = freeze(accounts["coordinator"], reported)
    assert accounts["coordinator"].post(f"/api/v1/packs/{pack['id']}/approve").status_code == 200


def test_an_institution_of_another_deployment_sees_none_of_its_packs(
    app, client, accounts, reported
):
    pack = freeze(accounts["coordinator"], reported)
    accounts["coordinator"].post(f"/api/v1/packs/{pack['id']}/approve")
    with inside(app):
        other = Deployment(name="Déploiement d'ailleurs", started_on=dt.date(2025, 1, 1))
        db.session.add(other)
        elsewhere = make_user("institution-ailleurs@example.org", "institution")
        elsewhere.deployments = [other]
        token = issue_token(elsewhere)[0]
        db.session.commit()
        other_id = other.id
    try:
        api = ApiClient(client, token)
        assert api.get(f"/api/v1/packs/{pack['id']}").status_code == 404
        assert api.get("/api/v1/packs").get_json() == []
        assert accounts["institution"].get(f"/api/v1/packs/{pack['id']}").status_code == 200
    finally:
        with inside(app):
            db.session.execute(sa.delete(Deployment).where(Deployment.id == other_id))
            db.session.commit()


def test_a_draft_is_withdrawn_and_agents_read_no_pack(app, accounts, reported):
    pack = freeze(accounts["coordinator"], reported)
    withdrawn = accounts["coordinator"].post(f"/api/v1/packs/{pack['id']}/withdraw")
    assert withdrawn.get_json()["status"] == "withdrawn"
    assert accounts["agent"].get("/api/v1/packs").status_code == 403
    assert accounts["institution"].post("/api/v1/packs", json=Q1).status_code == 403


def test_the_targets_are_frozen_where_they_stood_at_the_periods_end(app, accounts, reported):
    coordinator = accounts["coordinator"]
    body = target_body(reported, milestones=[{"due_on": "2026-12-31", "value": 100}])
    target = coordinator.post("/api/v1/targets", json=body).get_json()
    pack = freeze(coordinator, reported)
    (frozen,) = pack["content"]["targets"]
    read = accounts["institution"].get(f"/api/v1/targets/{target['id']}?date=2026-03-31")
    assert frozen["as_of"] == "2026-03-31"
    assert frozen["actual_display"] == read.get_json()["actual_display"]
    assert frozen["status"] == read.get_json()["status"]


def test_the_next_pack_compares_with_the_previous_approved_one(app, accounts, reported):
    coordinator = accounts["coordinator"]
    first = freeze(coordinator, reported, {"from": "2025-10-01", "to": "2025-12-31"})
    coordinator.post(f"/api/v1/packs/{first['id']}/approve")
    second = freeze(coordinator, reported)
    previous = second["content"]["previous_pack"]
    assert (previous["id"], previous["content_hash"]) == (first["id"], first["content_hash"])
    reports = next(i for i in first["content"]["indicators"] if i["id"] == "reports")
    assert previous["values"]["reports"] == reports["display"]


@pytest.mark.parametrize(
    ("period", "field", "words"),
    [
        ({"from": "2026-01-01", "to": "2026-02-15"}, "from", "mois, un trimestre ou une année"),
        ({"from": "2026-12-01", "to": "2026-12-31"}, "to", "période terminée"),
        ({"from": "2026-03-01", "to": "2026-01-31"}, "to", "précède"),
        ({"from": "demain", "to": "2026-01-31"}, "from", "Date"),
    ],
)
def test_a_pack_is_of_a_finished_calendar_period(app, accounts, reported, period, field, words):
    answer = accounts["coordinator"].post(
        "/api/v1/packs", json={"deployment_id": reported, **period}
    )
    assert answer.status_code == 422
    assert words in messages(answer)[field]


def test_the_pack_reads_as_json_csv_and_xlsx_and_its_pdf_is_prepared_by_a_job(
    app, accounts, reported
):
    coordinator = accounts["coordinator"]
    pack = freeze(coordinator, reported)
    base = f"/api/v1/packs/{pack['id']}/pack"
    as_json = json.loads(coordinator.get(f"{base}.json").data)
    assert as_json["content"] == pack["content"]
    as_csv = coordinator.get(f"{base}.csv")
    assert as_csv.status_code == 200 and as_csv.data.startswith(b"\xef\xbb\xbf")
    assert "Signalements" in as_csv.data.decode("utf-8-sig")
    as_xlsx = coordinator.get(f"{base}.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(as_xlsx.data), read_only=True)
    assert "Indicateurs" in book.sheetnames
    first = coordinator.get(f"{base}.pdf")
    assert first.status_code == 202 and first.headers["Retry-After"]
    assert first.get_json()["status"] in ("pending", "rendering")
    deadline = time.monotonic() + 60
    answer = first
    while answer.status_code == 202 and time.monotonic() < deadline:
        assert answer.get_json()["status"] != "failed", answer.get_json()
        time.sleep(0.2)
        answer = coordinator.get(f"{base}.pdf")
    assert answer.status_code == 200
    assert answer.data.startswith(b"%PDF")
    assert answer.headers["Content-Type"] == "application/pdf"
    assert "attachment" in answer.headers["Content-Disposition"]


def test_period_words():
    assert previous_period(dt.date(2026, 1, 1), dt.date(2026, 1, 31)) == (
        dt.date(2025, 12, 1),
        dt.date(2025, 12, 31),
    )
    assert previous_period(dt.date(2026, 1, 1), dt.date(2026, 12, 31)) == (
        dt.date(2025, 1, 1),
        dt.date(2025, 12, 31),
    )


def test_period_labels(app):
    with app.test_request_context():
        assert period_label(dt.date(2026, 4, 1), dt.date(2026, 6, 30)) == "2e trimestre 2026"
        assert period_label(dt.date(2026, 1, 1), dt.date(2026, 12, 31)) == "année 2026"
        assert period_label(dt.date(2026, 11, 1), dt.date(2026, 11, 30)) == "novembre 2026"
