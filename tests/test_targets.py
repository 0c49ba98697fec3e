"""Targets (steering and evaluation): the value expected on a day, the share of the way
reached and its status at the thresholds, and targets through the API with the value reached
computed, protected for institutions, and beside the indicators with targets=1."""

import datetime as dt

import pytest
import sqlalchemy as sa

from ohpunaises.extensions import db
from ohpunaises.indicators import Period, compute
from ohpunaises.models import AuditEvent, Structure, Target
from ohpunaises.targets import Point, expected_at, month_end, progress, share_reached, status_of

from .conftest import make_report
from .test_pipeline import inside, messages

BASELINE = Point(dt.date(2026, 1, 1), 0.0)
MILESTONES = [Point(dt.date(2026, 7, 1), 400.0), Point(dt.date(2027, 1, 1), 1000.0)]


# The arithmetic ---------------------------------------------------------------------------------


def test_the_value_expected_follows_the_line_through_the_baseline_and_the_milestones():
    assert expected_at(BASELINE, MILESTONES, dt.date(2026, 1, 1)) == 0
    assert expected_at(BASELINE, MILESTONES, dt.date(2026, 7, 1)) == 400
    april = expected_at(BASELINE, MILESTONES, dt.date(2026, 4, 1))
    assert april == pytest.approx(400 * 90 / 181)
    october = expected_at(BASELINE, MILESTONES, dt.date(2026, 10, 1))
    assert october == pytest.approx(400 + 600 * 92 / 184)
    assert expected_at(BASELINE, MILESTONES, dt.date(2028, 1, 1)) == 1000


def test_the_share_reached_reads_the_same_for_a_figure_that_should_fall():
    assert share_reached(0, 500, 450, 1000) == pytest.approx(0.9)
    # A mean cost expected to fall from 866 to 600: at 733 expected, 800 is half of the way.
    assert share_reached(866, 733, 799.5, 600) == pytest.approx(0.5)
    assert share_reached(866, 733, 700, 600) > 1
    # Nothing expected to have moved yet: holding the baseline is the whole way.
    assert share_reached(60, 60, 60, 80) == 1.0
    assert share_reached(60, 60, 59, 80) == 0.0
    assert share_reached(866, 866, 870, 600) == 0.0


@pytest.mark.parametrize(
    ("percent", "status"),
    [
        (100, "on_track"),
        (99.99, "at_risk"),
        (80, "at_risk"),
        (79.99, "off_track"),
        (140, "on_track"),
    ],
)
def test_statuses_change_exactly_at_the_thresholds(percent, status):
    assert status_of(percent / 100, 100, 80) == status


def test_thresholds_are_the_targets_own():
    assert status_of(0.9, 90, 70) == "on_track"
    assert status_of(0.69, 90, 70) == "off_track"


def test_the_value_reached_is_counted_to_the_end_of_the_last_complete_month():
    assert month_end(dt.date(2026, 11, 30)) == dt.date(2026, 11, 30)
    assert month_end(dt.date(2026, 12, 3)) == dt.date(2026, 11, 30)
    reached = progress(Point(dt.date(2026, 1, 15), 0), MILESTONES, dt.date(2026, 7, 10), 300, "300")
    assert (reached.window_start, reached.as_of) == (dt.date(2026, 2, 1), dt.date(2026, 6, 30))
    assert reached.expected == pytest.approx(
        400 * (dt.date(2026, 6, 30) - dt.date(2026, 1, 15)).days / 167
    )
    early = progress(BASELINE, MILESTONES, dt.date(2025, 12, 20), 3, "3")
    assert early.status == "not_started"
    hidden = progress(BASELINE, MILESTONES, dt.date(2026, 8, 1), None, "< 5")
    assert (hidden.status, hidden.status_label) == ("unavailable", "non disponible")


# Through the API --------------------------------------------------------------------------------

AS_OF = "2026-05-31"  # Jan–May 2026 counted


def target_body(deployment_id, **changes) -> dict:
    return {
        "indicator": "reports",
        "deployment_id": deployment_id,
        "agreement": "Convention Métropole 2026",
        "baseline_value": 0,
        "baseline_on": "2026-01-01",
        "baseline_source": "Début de la convention",
        "milestones": [{"due_on": "2026-12-31", "value": 60}],
        **changes,
    }


@pytest.fixture
def reported(app, accounts):
    """Structure A's deployment, with 20 reports from January to May 2026 in Lyon and 2 in
    Villeurbanne by structure B, whose record keys keep their count small (hidden) for
    protected readers."""
    with inside(app):
        a = db.session.scalar(sa.select(Structure).where(Structure.name == "Structure A"))
        b = db.session.scalar(sa.select(Structure).where(Structure.name == "Structure B"))
        for number in range(20):
            make_report(a, "69123", dt.date(2026, 1 + number % 5, 1 + number))
        for day in (3, 4):
            make_report(b, "69266", dt.date(2026, 2, day), record_key=0)
        deployment_id = a.deployment_id
        db.session.commit()
    return deployment_id


def test_a_coordinator_sets_a_target_and_reads_where_it_stands(app, accounts, reported):
    coordinator = accounts["coordinator"]
    created = coordinator.post("/api/v1/targets", json=target_body(reported))
    assert created.status_code == 201, created.get_json()
    target_id = created.get_json()["id"]
    read = coordinator.get(f"/api/v1/targets/{target_id}?date={AS_OF}").get_json()
    with inside(app):
        live = compute(
            Period(dt.date(2026, 1, 1), dt.date(2026, 5, 31)),
            viewer_role="coordinator",
            ids=["reports"],
            deployments=(reported,),
        )
        counted = live.indicator("reports").whole.value
        events = db.session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.target == f"target:{target_id}")
        ).all()
    expected = 60 * (dt.date(2026, 5, 31) - dt.date(2026, 1, 1)).days / 364
    assert read["actual"] == counted == 22
    assert read["expected"] == pytest.approx(expected, abs=0.01)
    assert read["share"] == pytest.approx(round(100 * 22 / expected, 1))
    # 22 where 24.7 are expected: 89 % of the way, between the two thresholds.
    assert read["status"] == "at_risk" and read["status_label"] == "à surveiller"
    assert (read["as_of"], read["counted_from"]) == (AS_OF, "2026-01-01")
    assert events == ["target.create"]


def test_a_target_in_a_territory_counts_that_territory_only(app, accounts, reported):
    coordinator = accounts["coordinator"]
    body = target_body(
        reported, territory="69266", milestones=[{"due_on": "2026-06-30", "value": 4}]
    )
    target = coordinator.post("/api/v1/targets", json=body).get_json()
    read = coordinator.get(f"/api/v1/targets/{target['id']}?date={AS_OF}").get_json()
    assert (read["territory"], read["actual"]) == ("69266", 2)
    expected = 4 * (dt.date(2026, 5, 31) - dt.date(2026, 1, 1)).days / 180
    assert read["share"] == pytest.approx(round(100 * 2 / expected, 1))
    assert read["status"] == "off_track"  # 2 where 3.3 are expected: 60 % of the way


def test_an_institution_reads_the_protected_value_and_a_hidden_one_is_not_available(
    app, accounts, reported
):
    coordinator, institution = accounts["coordinator"], accounts["institution"]
    small = target_body(
        reported, territory="69266", milestones=[{"due_on": "2026-06-30", "value": 4}]
    )
    coordinator.post("/api/v1/targets", json=small)
    coordinator.post("/api/v1/targets", json=target_body(reported))
    read = institution.get(f"/api/v1/targets?date={AS_OF}").get_json()
    by_territory = {target["territory"]: target for target in read}
    assert by_territory["69266"]["actual"] is None
    assert by_territory["69266"]["actual_display"] == "< 5"
    assert by_territory["69266"]["status"] == "unavailable"
    with inside(app):
        protected = (
            compute(
                Period(dt.date(2026, 1, 1), dt.date(2026, 5, 31)),
                viewer_role="institution",
                ids=["reports"],
                deployments=(reported,),
            )
            .indicator("reports")
            .whole
        )
    assert by_territory[None]["actual"] == protected.value
    assert by_territory[None]["actual_display"] == protected.display


def test_indicators_with_targets_say_where_each_stands_and_when_there_is_none(
    app, accounts, reported
):
    coordinator = accounts["coordinator"]
    coordinator.post("/api/v1/targets", json=target_body(reported))
    body = coordinator.get(
        "/api/v1/indicators?from=2026-01-01&to=2026-05-31&ids=reports&ids=distinct_dwellings&targets=1"
    ).get_json()
    found = {indicator["id"]: indicator for indicator in body["indicators"]}
    (target,) = found["reports"]["targets"]
    assert target["agreement"] == "Convention Métropole 2026"
    assert target["as_of"] == AS_OF and target["status"] in ("on_track", "at_risk", "off_track")
    assert "target_note" not in found["reports"]
    assert found["distinct_dwellings"]["targets"] == []
    assert found["distinct_dwellings"]["target_note"] == "aucune cible"
    plain = coordinator.get("/api/v1/indicators?ids=reports").get_json()["indicators"][0]
    assert "targets" not in plain and "target_note" not in plain


def test_targets_are_changed_and_removed_with_their_audit(app, accounts, reported):
    coordinator = accounts["coordinator"]
    target = coordinator.post("/api/v1/targets", json=target_body(reported)).get_json()
    milestones = [{"due_on": "2026-06-30", "value": 30}, {"due_on": "2026-12-31", "value": 80}]
    changed = coordinator.patch(f"/api/v1/targets/{target['id']}", json={"milestones": milestones})
    assert changed.status_code == 200
    assert [m["value"] for m in changed.get_json()["milestones"]] == [30, 80]
    assert coordinator.delete(f"/api/v1/targets/{target['id']}").status_code == 204
    assert coordinator.get(f"/api/v1/targets/{target['id']}").status_code == 404
    with inside(app):
        actions = db.session.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.target == f"target:{target['id']}")
            .order_by(AuditEvent.id)
        ).all()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Target)) == 0
    assert actions == ["target.create", "target.update", "target.delete"]


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"indicator": "first_report_by_territory"}, "indicator", "Valeur inconnue"),
        ({"milestones": []}, "milestones", "Longueur"),
        ({"milestones": [{"due_on": "2025-12-31", "value": 3}]}, "milestones", "après la date"),
        (
            {
                "milestones": [
                    {"due_on": "2026-06-30", "value": 3},
                    {"due_on": "2026-06-30", "value": 4},
                ]
            },
            "milestones",
            "même jour",
        ),
        ({"at_risk_percent": 120}, "at_risk_percent", "ne dépasse pas"),
        ({"territory": "99999"}, "territory", "Territoire inconnu"),
        ({"deployment_id": 999999}, "deployment_id", "hors de votre périmètre"),
        ({"baseline_value": "beaucoup"}, "baseline_value", "Nombre"),
    ],
)
def test_a_wrong_target_is_refused_with_a_message_on_its_field(
    app, accounts, reported, changes, field, words
):
    answer = accounts["coordinator"].post(
        "/api/v1/targets", json={**target_body(reported), **changes}
    )
    assert answer.status_code == 422
    assert words in messages(answer)[field]


def test_only_the_coordination_sets_targets(app, accounts, reported):
    for role in ("agent", "partner_admin", "institution", "evaluator"):
        answer = accounts[role].post("/api/v1/targets", json=target_body(reported))
        assert answer.status_code == 403, role
    assert accounts["agent"].get("/api/v1/targets").status_code == 403
    assert accounts["evaluator"].get("/api/v1/targets").status_code == 200
