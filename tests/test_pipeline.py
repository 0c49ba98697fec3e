"""The pipeline (DESIGN §2, partner follow-up): stages recorded with their history, prospects
before any account, and "rien à signaler" declarations through the API.

`accounts` gives Structure A (Lyon, with the agent and the partner admin) and Structure B
(Villeurbanne, with agent_b); both joined today unless a test says otherwise.
"""

import datetime as dt
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from ohpunaises.cadence import local_today, records
from ohpunaises.errors import Forbidden, Invalid
from ohpunaises.extensions import db
from ohpunaises.models import AuditEvent, NothingToReport, StageChange, Structure, User
from ohpunaises.permissions import Actor
from ohpunaises.usecases import pipeline, structures

from .conftest import make_report, signed_in_client
from .test_people import send_form, text_of


@contextmanager
def inside(app):
    """An application context for reading the database between requests: a request made
    inside one would share its `g` (and the actor cached there) with the next."""
    with app.app_context():
        yield
        db.session.remove()


def actor(accounts, key) -> Actor:
    return Actor.of(db.session.get(User, accounts[key].user_id))


def history(structure_id) -> list[tuple[str, dt.date]]:
    rows = db.session.execute(
        sa.select(StageChange.stage, StageChange.effective_on)
        .where(StageChange.structure_id == structure_id)
        .order_by(StageChange.id)
    )
    return [tuple(row) for row in rows]


def messages(answer) -> dict:
    """A problem's messages by field."""
    return {error["field"]: error["message"] for error in answer.get_json()["errors"]}


def month_before(day: dt.date) -> dt.date:
    return (day.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def test_a_prospect_exists_before_any_account_and_joins_when_the_agreement_is_signed(app, accounts):
    with inside(app):
        coordinator = actor(accounts, "coordinator")
        today = local_today()
        data = {
            "name": "Maison des solidarités",
            "kind": "social_services",
            "commune": "69123",
            "stage": "prospect",
        }
        prospect = structures.create_structure(coordinator, data)
        assert (prospect.stage, prospect.onboarded_on) == ("prospect", None)
        for stage in ("contacted", "met"):
            pipeline.record_stage(coordinator, prospect.id, stage)
        signed_on = today - dt.timedelta(days=3)
        pipeline.record_stage(coordinator, prospect.id, "agreement", signed_on)
        stored = db.session.get(Structure, prospect.id)
        assert (stored.stage, stored.onboarded_on) == ("agreement", signed_on)
        assert history(prospect.id) == [
            ("prospect", today),
            ("contacted", today),
            ("met", today),
            ("agreement", signed_on),
        ]
        recorded_by = db.session.scalars(
            sa.select(StageChange.recorded_by_id).where(StageChange.structure_id == prospect.id)
        ).all()
        assert set(recorded_by) == {accounts["coordinator"].user_id}
        events = db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.action == "structure.stage")
            .order_by(AuditEvent.id)
        ).all()
        assert [event.details["stage"] for event in events] == ["contacted", "met", "agreement"]
        prospect_id = prospect.id
    # Listed through the API with its derived stage, for the coordination only.
    body = accounts["coordinator"].get(f"/api/v1/structures/{prospect_id}").get_json()
    assert (body["onboarded_on"], body["follow_up"]["stage"]) == (
        signed_on.isoformat(),
        "agreement",
    )
    own = accounts["agent"].get(f"/api/v1/structures/{accounts['agent'].structure_id}")
    assert own.get_json().get("follow_up") is None


def test_a_structure_in_the_programme_does_not_become_a_prospect_again(app_context, accounts):
    coordinator = actor(accounts, "coordinator")
    with pytest.raises(Invalid) as refused:
        pipeline.record_stage(coordinator, accounts["agent"].structure_id, "prospect")
    assert "stage" in refused.value.errors
    with pytest.raises(Invalid) as refused:
        pipeline.record_stage(coordinator, accounts["agent"].structure_id, "derived")
    assert "stage" in refused.value.errors
    with pytest.raises(Forbidden):
        pipeline.record_stage(
            actor(accounts, "partner_admin"), accounts["agent"].structure_id, "paused"
        )


def test_leaving_deactivates_the_structure_and_coming_back_reactivates_it(app_context, accounts):
    coordinator = actor(accounts, "coordinator")
    structure_id = accounts["agent"].structure_id
    pipeline.record_stage(coordinator, structure_id, "left")
    structure = db.session.get(Structure, structure_id)
    agent = db.session.get(User, accounts["agent"].user_id)
    assert (structure.stage, structure.active, agent.active) == ("left", False, False)
    pipeline.record_stage(coordinator, structure_id, "agreement")
    assert (structure.stage, structure.active) == ("agreement", True)
    assert [stage for stage, _ in history(structure_id)] == ["left", "agreement"]


def test_the_stage_through_the_api(app, accounts):
    structure_id = accounts["agent"].structure_id
    coordinator = accounts["coordinator"]
    answer = coordinator.post(f"/api/v1/structures/{structure_id}/stage", json={"stage": "paused"})
    assert answer.status_code == 200
    assert answer.get_json()["follow_up"]["stage"] == "paused"
    answer = coordinator.post(f"/api/v1/structures/{structure_id}/stage", json={"stage": "active"})
    assert answer.status_code == 422
    assert "stage" in messages(answer)
    stages = coordinator.get(f"/api/v1/structures/{structure_id}/stages").get_json()
    assert [(item["stage"], item["label"]) for item in stages] == [("paused", "En pause")]
    assert (
        accounts["agent"]
        .post(f"/api/v1/structures/{structure_id}/stage", json={"stage": "paused"})
        .status_code
        == 403
    )


def test_an_agent_declares_nothing_to_report_once(app, accounts):
    structure_id = accounts["agent"].structure_id
    with inside(app):
        # Joined on the first of last month: that month is owed, missed or not yet due.
        start = month_before(local_today())
        db.session.get(Structure, structure_id).onboarded_on = start
        db.session.commit()
    url = f"/api/v1/structures/{structure_id}/nothing-to-report"
    first = accounts["agent"].post(url, json={})
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert (body["period"], body["period_start"]) == (
        f"{start.year}-{start.month:02d}",
        start.isoformat(),
    )
    again = accounts["agent"].post(url, json={"period": body["period"]})
    assert (again.status_code, again.get_json()["declared_at"]) == (200, body["declared_at"])
    with inside(app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(NothingToReport)) == 1
        events = db.session.scalars(
            sa.select(AuditEvent.details).where(AuditEvent.action == "reporting.declare")
        ).all()
    assert events == [{"period": body["period"]}]


def test_a_declaration_is_refused_where_it_cannot_hold(app, accounts):
    with inside(app):
        structure = db.session.get(Structure, accounts["agent"].structure_id)
        structure.onboarded_on = dt.date(2025, 1, 1)
        make_report(structure, "69123", dt.date(2025, 3, 12))
        db.session.commit()
        next_year = local_today().year + 1
    url = f"/api/v1/structures/{accounts['agent'].structure_id}/nothing-to-report"
    agent = accounts["agent"]
    answer = agent.post(url, json={"period": "2025-03"})
    assert answer.status_code == 409
    assert "2025-03" in answer.get_json()["detail"]
    for period, message in (
        ("2025-Q1", "2026-11"),
        ("mars", "2026-11"),
        ("2024-12", "précède"),
        (f"{next_year}-01", "pas encore commencé"),
    ):
        answer = agent.post(url, json={"period": period})
        assert answer.status_code == 422, period
        assert message in messages(answer)["period"], period
    assert (
        agent.post(
            f"/api/v1/structures/{accounts['agent_b'].structure_id}/nothing-to-report", json={}
        ).status_code
        == 404
    )
    assert accounts["institution"].post(url, json={}).status_code == 403
    assert accounts["coordinator"].post(url, json={"period": "2025-04"}).status_code == 201


def test_a_quarterly_structure_declares_quarters(app, accounts):
    with inside(app):
        structure = db.session.get(Structure, accounts["agent"].structure_id)
        structure.onboarded_on, structure.reporting_cadence = dt.date(2025, 1, 1), "quarterly"
        db.session.commit()
    url = f"/api/v1/structures/{accounts['agent'].structure_id}/nothing-to-report"
    answer = accounts["partner_admin"].post(url, json={"period": "2025-Q2"})
    assert answer.status_code == 201
    assert (answer.get_json()["period_start"], answer.get_json()["period_end"]) == (
        "2025-04-01",
        "2025-06-30",
    )
    answer = accounts["partner_admin"].post(url, json={"period": "2025-05"})
    assert answer.status_code == 422
    assert "2026-Q4" in messages(answer)["period"]


def test_the_form_offers_nothing_to_report_for_the_period_due(app, accounts):
    with inside(app):
        start = month_before(local_today())
        db.session.get(Structure, accounts["agent"].structure_id).onboarded_on = start
        db.session.commit()
    browser = signed_in_client(app, accounts["agent"].user_id)
    page = text_of(browser.get("/saisie"))
    assert f'name="period" value="{start.year}-{start.month:02d}"' in page
    assert "Rien à signaler pour" in page
    answer = send_form(browser, "/saisie/rien-a-signaler", {"period": f"{start:%Y-%m}"}, "/saisie")
    assert (answer.status_code, answer.headers["Location"]) == (302, "/saisie")
    page = text_of(browser.get("/saisie"))
    assert "C'est noté : rien à signaler pour" in page
    assert f'name="period" value="{start:%Y-%m}"' not in page
    with inside(app):
        declared = db.session.scalars(sa.select(NothingToReport.period_start)).all()
    assert declared == [start]
    # A coordinator reports for any structure: the form has no such button for them.
    coordinator = signed_in_client(app, accounts["coordinator"].user_id)
    assert "Rien à signaler pour" not in text_of(coordinator.get("/saisie"))


def test_a_coordinator_creates_a_prospect_and_notes_its_stages_in_the_browser(app, accounts):
    coordinator = signed_in_client(app, accounts["coordinator"].user_id)
    data = {
        "name": "Centre social Bonnefoi",
        "kind": "association",
        "commune": "69123",
        "stage": "prospect",
        "onboarded_on": "",
        "reporting_cadence": "quarterly",
        "reminders_opted_out": "1",
    }
    created = send_form(coordinator, "/structures/nouvelle", data)
    assert created.status_code == 302, text_of(created)
    page_url = created.headers["Location"]
    page = text_of(coordinator.get(page_url))
    assert "Étape actuelle : Prospect." in page
    assert "Trimestrielle · sans relance" in page
    assert "pas encore" in page
    stage_url = page_url + "/etape"
    signed = send_form(coordinator, stage_url, {"stage": "agreement", "effective_on": ""}, page_url)
    assert signed.status_code == 302
    assert signed.headers["Location"].endswith("#etapes")
    page = text_of(coordinator.get(page_url))
    assert "Étape notée : Convention signée." in page
    assert "Étape actuelle : Convention signée." in page
    refused = send_form(coordinator, stage_url, {"stage": "met", "effective_on": ""}, page_url)
    assert refused.status_code == 302
    assert "déjà entrée dans le programme" in text_of(coordinator.get(page_url))
    with inside(app):
        structure = db.session.scalar(
            sa.select(Structure).where(Structure.name == "Centre social Bonnefoi")
        )
        assert (structure.stage, structure.onboarded_on, structure.reporting_cadence) == (
            "agreement",
            local_today(),
            "quarterly",
        )
        assert structure.reminders_opted_out
        assert [stage for stage, _ in history(structure.id)] == ["prospect", "agreement"]
    agent = signed_in_client(app, accounts["agent"].user_id)
    assert send_form(agent, stage_url, {"stage": "left"}, "/saisie").status_code == 403


def test_the_form_offers_the_oldest_period_missed_first(app_context, accounts):
    structure = db.session.get(Structure, accounts["agent"].structure_id)
    structure.onboarded_on = dt.date(2025, 1, 1)
    make_report(structure, "69123", dt.date(2025, 3, 12))
    db.session.flush()
    record = records([structure], today=dt.date(2025, 6, 20))[0]
    # April and May are missed (May's deadline was 10 June): April is offered, late.
    assert pipeline.declarable_period(record).name == "2025-04"
    record = records([structure], today=dt.date(2025, 4, 5))[0]
    # March is received and April still open: the current month is offered.
    assert pipeline.declarable_period(record).name == "2025-04"
    make_report(structure, "69123", dt.date(2025, 4, 2))
    db.session.flush()
    record = records([structure], today=dt.date(2025, 4, 5))[0]
    assert pipeline.declarable_period(record) is None
