"""Expected reporting as indicators (expected_reports, received_reports, completeness_rate,
timeliness_rate) and as the coordination's breakdowns (/api/v1/reporting), against counts
worked out by hand (the rules are ohpunaises.cadence's: a period is owed when the structure
follows the programme on its first day, received with a report in it or a "rien à signaler"
declaration, on time when that arrived by 10 days after its end, Paris time).

Every period below ends in 2025, so every deadline has passed whenever the tests run.

- Alpha, association in Lyon, monthly, joined 2024-11-01: owes January to December (12).
  January: a report that arrived on the deadline day (on time). February: a report that
  arrived at 23:30 UTC on its deadline, already the next day in Paris (late). March: a
  declaration on time, then a report (on time: the first arrival counts). May: a report
  entered in September (late). Received 4, on time 2.
- Bêta, social landlord in Villeurbanne, monthly, joined mid-March 2025: owes from April;
  paused from 10 June, back from 1 September, so July and August are not owed: April, May,
  June, September to December (7). April and June on time, September late (a report in
  paused July counts nowhere). Received 3, on time 2.
- Gamma, pest control in Vénissieux, quarterly, joined 2024-12-01: owes Q1 to Q4 (4). Q1 on
  time, Q2 a declaration after the deadline, Q4 a report that arrived on 5 January 2026.
  Received 3, on time 2. Its record key is 0 (see the institution's test).
- Delta, health centre in Lyon, quarterly, outside every deployment, joined 2025-05-20, left
  on 30 September: owes Q3 only, received on its deadline day. 1, 1, 1.
- Epsilon, a prospect in Lyon, owes nothing. Structures A (Lyon) and B (Villeurbanne) of the
  `accounts` fixture joined on the day the tests run: nothing owed in 2025.

Whole 2025: expected 24, received 11, on time 7. Lyon 13, 5, 3; Villeurbanne 7, 3, 2;
Vénissieux 4, 3, 2.
"""

import datetime as dt

import pytest
import sqlalchemy as sa

from ohpunaises.auth import issue_token
from ohpunaises.extensions import db
from ohpunaises.indicators import Period, cache, compute
from ohpunaises.models import Deployment, NothingToReport, StageChange
from ohpunaises.permissions import Actor
from ohpunaises.privacy import MAX_PERTURBATION as MOST
from ohpunaises.territories import territory_by_code
from ohpunaises.usecases import completeness, pipeline

from .conftest import ApiClient, make_report, make_structure, make_user
from .test_web_session import sign_in

YEAR = Period(dt.date(2025, 1, 1), dt.date(2025, 12, 31))
IDS = ("expected_reports", "received_reports", "completeness_rate", "timeliness_rate")
LYON, VILLEURBANNE, VENISSIEUX = "69123", "69266", "69259"
COORDINATION = Actor.operator("coordinator")
REPORTING = "/api/v1/reporting?start=2025-01-01&end=2025-12-31"


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def partner(name, code, kind, joined, cadence="monthly"):
    structure = make_structure(name, code, kind)
    structure.onboarded_on = day(joined)
    structure.reporting_cadence = cadence
    return structure


def reported(structure, code, when: str, arrived: str):
    """A report of intervention day `when` that reached the platform at `arrived` (UTC)."""
    make_report(structure, code, day(when), created_at=utc(arrived), updated_at=utc(arrived))


def declared(structure, cadence, start: str, end: str, at: str):
    db.session.add(
        NothingToReport(
            structure_id=structure.id,
            cadence=cadence,
            period_start=day(start),
            period_end=day(end),
            declared_at=utc(at),
        )
    )


def build_structures() -> dict:
    alpha = partner("Alpha", LYON, "association", "2024-11-01")
    reported(alpha, LYON, "2025-01-15", "2025-02-10 10:00")
    reported(alpha, LYON, "2025-02-12", "2025-03-10 23:30")
    declared(alpha, "monthly", "2025-03-01", "2025-03-31", "2025-04-02 09:00")
    reported(alpha, LYON, "2025-03-20", "2025-04-20 09:00")
    reported(alpha, LYON, "2025-05-06", "2025-09-01 09:00")

    beta = partner("Bêta", VILLEURBANNE, "social_landlord", "2025-03-15")
    reported(beta, VILLEURBANNE, "2025-04-03", "2025-05-03 09:00")
    reported(beta, VILLEURBANNE, "2025-06-25", "2025-07-01 09:00")
    reported(beta, VILLEURBANNE, "2025-07-15", "2025-07-16 09:00")  # paused
    reported(beta, VILLEURBANNE, "2025-09-10", "2025-10-25 09:00")

    gamma = partner("Gamma", VENISSIEUX, "pest_control", "2024-12-01", "quarterly")
    gamma.record_key = 0
    reported(gamma, VENISSIEUX, "2025-02-14", "2025-04-08 09:00")
    declared(gamma, "quarterly", "2025-04-01", "2025-06-30", "2025-07-20 09:00")
    reported(gamma, VENISSIEUX, "2025-11-03", "2026-01-05 09:00")

    delta = partner("Delta", LYON, "health_centre", "2025-05-20", "quarterly")
    delta.deployment = None
    delta.active, delta.stage = False, "left"
    db.session.add(StageChange(structure=delta, stage="left", effective_on=day("2025-09-30")))
    reported(delta, LYON, "2025-08-19", "2025-10-10 08:00")

    epsilon = make_structure("Epsilon", LYON, "other")
    epsilon.onboarded_on, epsilon.stage = None, "prospect"
    db.session.commit()
    # Through the use case: the stage history as the team records it.
    pipeline.record_stage(COORDINATION, beta.id, "paused", day("2025-06-10"))
    pipeline.record_stage(COORDINATION, beta.id, "agreement", day("2025-09-01"))
    names = ("alpha", "beta", "gamma", "delta")
    ids = dict(zip(names, (alpha.id, beta.id, gamma.id, delta.id), strict=True))
    ids["deployment"] = db.session.scalar(sa.select(Deployment.id))
    return ids


@pytest.fixture
def structures(app, accounts):
    with app.app_context():
        ids = build_structures()
        db.session.remove()
    return ids


def by_id(result) -> dict:
    return {indicator.id: indicator for indicator in result.indicators}


def whole(shown: dict) -> dict:
    return {id_: shown[id_].whole.value for id_ in IDS}


def per_commune(shown: dict, id_: str, field: str = "value") -> dict:
    """Commune code → value, for the communes where something was expected."""
    return {
        row.territory.code: getattr(row.figure, field)
        for row in shown[id_].territories
        if row.territory.code in (LYON, VILLEURBANNE, VENISSIEUX)
    }


# Definitions ----------------------------------------------------------------------------------


def test_the_four_indicators_are_defined_in_french(client, accounts):
    described = {
        item["id"]: item
        for item in accounts["institution"].get("/api/v1/indicators/definitions").get_json()
    }
    expected = {
        "expected_reports": ("Périodes de déclaration attendues", "périodes", "count"),
        "received_reports": ("Périodes renseignées", "périodes", "count"),
        "completeness_rate": ("Complétude des déclarations", "%", "share"),
        "timeliness_rate": ("Ponctualité des déclarations", "%", "share"),
    }
    for id_, (label, unit, shape) in expected.items():
        item = described[id_]
        assert (item["label"], item["unit"], item["shape"]) == (label, unit, shape)
        assert item["theme"] == "essaimage" and item["levels"] == ["commune"]
        assert "rien à signaler" in item["basis"]
        assert item["definition"] and item["protection"]


# The coordination reads raw figures -------------------------------------------------------------


def test_the_coordination_reads_the_year_whole_and_per_commune(app, structures):
    with app.app_context():
        shown = by_id(compute(YEAR, level="commune", viewer_role="coordinator", ids=IDS))
        assert whole(shown) == {
            "expected_reports": 24,
            "received_reports": 11,
            "completeness_rate": round(100 * 11 / 24, 1),
            "timeliness_rate": round(100 * 7 / 24, 1),
        }
        timeliness = shown["timeliness_rate"].whole
        assert (timeliness.numerator.value, timeliness.denominator.value) == (7, 24)
        assert per_commune(shown, "expected_reports") == {
            LYON: 13,
            VILLEURBANNE: 7,
            VENISSIEUX: 4,
        }
        assert per_commune(shown, "received_reports") == {LYON: 5, VILLEURBANNE: 3, VENISSIEUX: 3}
        assert per_commune(shown, "completeness_rate") == {
            LYON: round(100 * 5 / 13, 1),
            VILLEURBANNE: round(100 * 3 / 7, 1),
            VENISSIEUX: 75.0,
        }
        assert per_commune(shown, "timeliness_rate") == {
            LYON: round(100 * 3 / 13, 1),
            VILLEURBANNE: round(100 * 2 / 7, 1),
            VENISSIEUX: 50.0,
        }
        # Elsewhere nothing was owed: zero periods, no rate.
        others = [row.figure for row in shown["completeness_rate"].territories]
        assert sum(figure.value is None for figure in others) == len(others) - 3
        db.session.remove()


@pytest.mark.parametrize(
    ("start", "end", "counts"),
    [
        # March: Alpha's March (its declaration, on time) and Gamma's Q1, which ends then.
        ("2025-03-01", "2025-03-31", (2, 2, 2)),
        # Q1: Alpha's January to March (3, 3, 2) and Gamma's Q1 (1, 1, 1).
        ("2025-01-01", "2025-03-31", (4, 4, 3)),
        # Q2: Alpha's April to June (3, 1, 0), Bêta's (3, 2, 2), Gamma's late declaration.
        ("2025-04-01", "2025-06-30", (7, 4, 2)),
        # July and August: Alpha's two months; Bêta was paused, its July report counts nowhere.
        ("2025-07-01", "2025-08-31", (2, 0, 0)),
        # Q4: Alpha's and Bêta's last three months, Gamma's Q4; Delta had left.
        ("2025-10-01", "2025-12-31", (7, 1, 1)),
    ],
)
def test_periods_count_in_the_period_holding_their_last_day(app, structures, start, end, counts):
    with app.app_context():
        shown = by_id(compute(Period(day(start), day(end)), viewer_role="coordinator", ids=IDS))
        expected, received, on_time = counts
        assert shown["expected_reports"].whole.value == expected
        assert shown["received_reports"].whole.value == received
        assert shown["timeliness_rate"].whole.numerator.value == on_time
        db.session.remove()


def test_a_territory_narrows_to_the_structures_based_there(app, structures):
    with app.app_context():
        lyon_3 = territory_by_code("69383")  # an arrondissement: its commune's structures
        shown = by_id(compute(YEAR, lyon_3, viewer_role="coordinator", ids=IDS))
        assert shown["expected_reports"].whole.value == 13
        assert shown["received_reports"].whole.value == 5
        arrondissements = by_id(
            compute(YEAR, level="arrondissement", viewer_role="coordinator", ids=IDS)
        )
        assert arrondissements["expected_reports"].territories == ()  # structures: communes only
        db.session.remove()


def test_the_api_gives_the_coordination_raw_values(accounts, structures):
    query = "&".join(f"ids={id_}" for id_ in IDS)
    url = f"/api/v1/indicators?from=2025-01-01&to=2025-12-31&level=commune&{query}"
    body = accounts["coordinator"].get(url).get_json()
    shown = {indicator["id"]: indicator for indicator in body["indicators"]}
    assert shown["expected_reports"]["whole"] == {"value": 24, "suppressed": False, "display": "24"}
    assert shown["received_reports"]["whole"]["value"] == 11
    completeness_rate = shown["completeness_rate"]["whole"]
    assert (completeness_rate["value"], completeness_rate["display"]) == (45.8, "45,8")
    assert completeness_rate["denominator"]["value"] == 24
    assert shown["timeliness_rate"]["whole"]["numerator"]["value"] == 7
    communes = {
        row["territory"]["code"]: row["value"] for row in shown["expected_reports"]["territories"]
    }
    assert (communes[LYON], communes[VILLEURBANNE], communes[VENISSIEUX]) == (13, 7, 4)


def test_the_dashboard_shows_them_to_the_coordination(app, structures):
    client = app.test_client()
    sign_in(client, "coordinator@example.org")
    html = client.get("/indicateurs?from=2025-01-01&to=2025-12-31&level=commune").get_data(
        as_text=True
    )
    for label in (
        "Périodes de déclaration attendues",
        "Périodes renseignées",
        "Complétude des déclarations",
        "Ponctualité des déclarations",
    ):
        assert f"<h3>{label}</h3>" in html
    assert "45,8" in html and "29,2" in html  # 11 and 7 periods out of 24


# Everyone else reads them protected -------------------------------------------------------------


def test_an_institution_reads_them_perturbed_and_small_cells_hidden(accounts, structures):
    query = "&".join(f"ids={id_}" for id_ in IDS)
    url = f"/api/v1/indicators?from=2025-01-01&to=2025-12-31&level=commune&{query}"
    body = accounts["institution"].get(url).get_json()
    assert body["suppression"]["applied"] is True
    shown = {indicator["id"]: indicator for indicator in body["indicators"]}
    expected = shown["expected_reports"]["whole"]
    assert not expected["suppressed"] and abs(expected["value"] - 24) <= MOST

    def venissieux(id_):
        rows = shown[id_]["territories"]
        return next(row for row in rows if row["territory"]["code"] == VENISSIEUX)

    # Gamma's record key is 0, so are its cells' keys: its 4 periods read 1 (the table's
    # first slots hold the largest decrease), shown "< 5"; what rests on them is secret.
    assert venissieux("expected_reports")["display"] == "< 5"
    assert venissieux("received_reports")["display"] == "s"
    for id_ in ("completeness_rate", "timeliness_rate"):
        cell = venissieux(id_)
        assert (cell["value"], cell["suppressed"], cell["display"]) == (None, True, "s")
    assert venissieux("timeliness_rate")["numerator"]["display"] == "< 5"
    again = accounts["institution"].get(url).get_json()
    assert again == body  # the same cells read the same


def test_an_institution_asks_for_calendar_periods_only(accounts, structures):
    refused = accounts["institution"].get(
        "/api/v1/indicators?from=2025-02-01&to=2025-04-30&ids=completeness_rate"
    )
    assert refused.status_code == 422


# The cache follows declarations and stages ------------------------------------------------------


def test_a_declaration_and_a_stage_change_move_the_cached_figures(app, structures):
    with app.app_context():
        before = cache.current_version()
        first = by_id(compute(YEAR, viewer_role="coordinator", ids=IDS))
        assert first["received_reports"].whole.value == 11
        db.session.rollback()  # the read ends; the use case starts with nothing pending

        pipeline.declare_nothing_to_report(COORDINATION, structures["alpha"], "2025-07")
        declared_version = cache.current_version()
        assert declared_version != before
        after = by_id(compute(YEAR, viewer_role="coordinator", ids=IDS))
        # July, declared now: received, but late.
        assert after["received_reports"].whole.value == 12
        assert after["timeliness_rate"].whole.numerator.value == 7
        db.session.rollback()

        # Alpha paused from 15 October: November and December are no longer owed.
        pipeline.record_stage(COORDINATION, structures["alpha"], "paused", day("2025-10-15"))
        assert cache.current_version() != declared_version
        paused = by_id(compute(YEAR, viewer_role="coordinator", ids=IDS))
        assert paused["expected_reports"].whole.value == 22
        assert paused["received_reports"].whole.value == 12
        db.session.remove()


# The coordination's breakdowns ----------------------------------------------------------------


def rows(response) -> list[tuple]:
    assert response.status_code == 200, response.get_json()
    return [
        (
            row["key"],
            row["label"],
            row["expected"],
            row["received"],
            row["on_time"],
            row["completeness_rate"],
            row["timeliness_rate"],
            row["total"],
        )
        for row in response.get_json()
    ]


TOTAL = (None, "Ensemble", 24, 11, 7, 45.8, 29.2, True)


def test_the_breakdown_by_structure(accounts, structures):
    found = rows(accounts["coordinator"].get(f"{REPORTING}&by=structure"))
    assert found == [
        (structures["alpha"], "Alpha", 12, 4, 2, 33.3, 16.7, False),
        (structures["beta"], "Bêta", 7, 3, 2, 42.9, 28.6, False),
        (structures["delta"], "Delta", 1, 1, 1, 100.0, 100.0, False),
        (structures["gamma"], "Gamma", 4, 3, 2, 75.0, 50.0, False),
        # Joined the day the tests run: nothing owed in 2025.
        (accounts["agent"].structure_id, "Structure A", 0, 0, 0, None, None, False),
        (accounts["agent_b"].structure_id, "Structure B", 0, 0, 0, None, None, False),
        TOTAL,
    ]
    by_default = rows(accounts["coordinator"].get(REPORTING))
    assert by_default == found


def test_the_breakdown_by_kind(accounts, structures):
    assert rows(accounts["coordinator"].get(f"{REPORTING}&by=kind")) == [
        ("social_landlord", "Bailleur social", 7, 3, 2, 42.9, 28.6, False),
        ("association", "Association", 12, 4, 2, 33.3, 16.7, False),
        ("pest_control", "Entreprise de désinsectisation", 4, 3, 2, 75.0, 50.0, False),
        ("health_centre", "Centre de santé", 1, 1, 1, 100.0, 100.0, False),
        TOTAL,
    ]


def test_the_breakdown_by_commune(accounts, structures):
    assert rows(accounts["coordinator"].get(f"{REPORTING}&by=commune")) == [
        (LYON, "Lyon", 13, 5, 3, 38.5, 23.1, False),
        (VENISSIEUX, "Vénissieux", 4, 3, 2, 75.0, 50.0, False),
        (VILLEURBANNE, "Villeurbanne", 7, 3, 2, 42.9, 28.6, False),
        TOTAL,
    ]


def test_the_breakdown_by_deployment(accounts, structures):
    deployment = structures["deployment"]
    assert rows(accounts["coordinator"].get(f"{REPORTING}&by=deployment")) == [
        (deployment, "Métropole de Lyon", 23, 10, 6, 43.5, 26.1, False),
        (None, "Sans déploiement", 1, 1, 1, 100.0, 100.0, False),
        TOTAL,
    ]
    one = rows(accounts["coordinator"].get(f"{REPORTING}&by=deployment&deployment_id={deployment}"))
    assert one == [
        (deployment, "Métropole de Lyon", 23, 10, 6, 43.5, 26.1, False),
        (None, "Ensemble", 23, 10, 6, 43.5, 26.1, True),
    ]


def test_the_breakdown_by_quarter_of_each_period_s_last_day(accounts, structures):
    assert rows(accounts["coordinator"].get(f"{REPORTING}&by=quarter")) == [
        ("2025-Q1", "T1 2025", 4, 4, 3, 100.0, 75.0, False),
        ("2025-Q2", "T2 2025", 7, 4, 2, 57.1, 28.6, False),
        ("2025-Q3", "T3 2025", 6, 2, 1, 33.3, 16.7, False),
        ("2025-Q4", "T4 2025", 7, 1, 1, 14.3, 14.3, False),
        TOTAL,
    ]
    march = rows(
        accounts["coordinator"].get("/api/v1/reporting?by=quarter&start=2025-03-01&end=2025-03-31")
    )
    assert march == [
        ("2025-Q1", "T1 2025", 2, 2, 2, 100.0, 100.0, False),
        (None, "Ensemble", 2, 2, 2, 100.0, 100.0, True),
    ]


def test_the_use_case_takes_the_day_it_counts_on(app, structures):
    with app.app_context():
        # On 11 February 2025, January's deadline had passed, February's not: Alpha owed
        # November and December 2024 (nothing came) and January (on time); Gamma nothing yet.
        found = completeness.completeness(COORDINATION, "quarter", today=day("2025-02-11"))
        assert [(row.key, row.expected, row.received, row.on_time) for row in found] == [
            ("2024-Q4", 2, 0, 0),
            ("2025-Q1", 1, 1, 1),
            (None, 3, 1, 1),
        ]
        db.session.remove()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("by=month", "by"),
        ("by=structure&start=2025-12-31&end=2025-01-01", "end"),
        ("by=structure&start=hier", "start"),
        ("by=structure&deployment_id=2147483647", "deployment_id"),
        ("by=structure&deployment_id=0", "deployment_id"),
    ],
)
def test_a_bad_query_is_refused_naming_its_field(accounts, structures, query, field):
    response = accounts["coordinator"].get(f"/api/v1/reporting?{query}")
    assert response.status_code == 422
    assert response.headers["Content-Type"].startswith("application/problem+json")
    errors = response.get_json()["errors"]
    assert [error["field"] for error in errors] == [field]
    assert errors[0]["message"]


@pytest.mark.parametrize("role", ["agent", "partner_admin", "institution", "evaluator"])
def test_only_the_coordination_reads_the_breakdowns(accounts, structures, role):
    response = accounts[role].get(f"{REPORTING}&by=commune")
    assert response.status_code == 403
    assert response.headers["Content-Type"].startswith("application/problem+json")


def test_an_attached_coordinator_reads_only_their_deployments(app, accounts, structures):
    with app.app_context():
        attached = make_user("coordination-rattachee@example.org", "coordinator")
        attached.deployments = [db.session.get(Deployment, structures["deployment"])]
        token = issue_token(attached)[0]
        db.session.commit()
        db.session.remove()
    api = ApiClient(accounts["coordinator"].client, token)
    found = rows(api.get(f"{REPORTING}&by=deployment"))
    assert found[-1] == (None, "Ensemble", 23, 10, 6, 43.5, 26.1, True)  # not Delta's
    elsewhere = api.get(f"{REPORTING}&by=deployment&deployment_id=2147483647")
    assert elsewhere.status_code == 422
