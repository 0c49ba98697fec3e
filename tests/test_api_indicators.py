"""The indicators API: raw for the coordination, suppressed for the others, documented."""

import pytest

from ohpunaises.indicators import INDICATORS
from ohpunaises.privacy import MAX_PERTURBATION as MOST

from .test_indicators import build_dataset

URL = "/api/v1/indicators?from=2025-01-01&to=2025-12-31"


@pytest.fixture
def dataset(app, accounts):
    with app.app_context():
        return build_dataset()


def by_id(body) -> dict:
    return {indicator["id"]: indicator for indicator in body["indicators"]}


def by_code(indicator) -> dict:
    """Territory code → its cell (without the territory)."""
    return {
        row["territory"]["code"]: {k: v for k, v in row.items() if k != "territory"}
        for row in indicator["territories"]
    }


def test_the_coordination_reads_raw_values_per_commune(accounts, dataset):
    response = accounts["coordinator"].get(URL + "&level=commune")
    assert response.status_code == 200
    body = response.get_json()
    assert body["period"] == {"start": "2025-01-01", "end": "2025-12-31"}
    assert body["suppression"] == {"applied": False, "k": 5, "perturbation": 0}
    shown = by_id(body)
    assert list(shown) == list(INDICATORS)
    reports = shown["reports"]
    assert reports["whole"] == {"value": 23, "suppressed": False, "display": "23"}
    communes = by_code(reports)
    # Villeurbanne 12 reports, Lyon 8, Vénissieux 3 (see tests/test_indicators.py).
    assert {code: communes[code]["value"] for code in ("69266", "69123", "69259")} == {
        "69266": 12,
        "69123": 8,
        "69259": 3,
    }
    in_qpv = shown["share_in_qpv"]["whole"]
    assert in_qpv["value"] == round(100 * 2 / 23, 1)
    assert in_qpv["numerator"]["value"] == 2
    mean_cost = shown["mean_cost_total"]
    assert mean_cost["reference"]["value"] == 866
    kinds = {
        part["category"]: part["value"]
        for part in shown["reports_by_structure_kind"]["whole"]["parts"]
    }
    assert kinds["social_landlord"] == 12 and kinds["association"] == 6


def test_an_institution_reads_counts_perturbed_and_small_ones_hidden(accounts, dataset):
    body = accounts["institution"].get(URL + "&level=commune").get_json()
    assert body["suppression"] == {"applied": True, "k": 5, "perturbation": MOST}
    shown = by_id(body)
    communes = by_code(shown["reports"])
    for code, truth in (("69266", 12), ("69123", 8), ("69259", 3)):
        cell = communes[code]
        if cell["suppressed"]:
            assert cell == {"value": None, "suppressed": True, "display": "< 5"}
        else:
            assert cell["value"] >= 5 and abs(cell["value"] - truth) <= MOST
    assert abs(shown["reports"]["whole"]["value"] - 23) <= MOST
    in_qpv = shown["share_in_qpv"]["whole"]  # 2 reports in a QPV: hidden but for 3 % of keys
    if in_qpv["numerator"]["suppressed"]:
        assert in_qpv["numerator"]["display"] == "< 5"
        assert (in_qpv["value"], in_qpv["display"]) == (None, "s")
    again = accounts["institution"].get(URL + "&level=commune").get_json()
    assert again == body  # the same cells, the same figures


@pytest.mark.parametrize(
    "query",
    [
        "from=2023-01-01&to=2025-01-08",
        "from=2025-01-01&to=2025-01-15",
        "from=2025-02-01&to=2025-04-30",
        "from=2025-01-01",
    ],
)
def test_protected_readers_ask_for_calendar_periods_only(accounts, dataset, query):
    refused = accounts["institution"].get(f"/api/v1/indicators?{query}&ids=reports")
    assert refused.status_code == 422
    assert "mois, trimestre ou année civils" in refused.get_json()["errors"][0]["message"]
    assert accounts["coordinator"].get(f"/api/v1/indicators?{query}&ids=reports").status_code == 200
    geojson = accounts["institution"].get(f"/api/v1/exports/territories.geojson?{query}")
    assert geojson.status_code == 422


@pytest.mark.parametrize(
    "query", ["", "from=2025-03-01&to=2025-03-31", "from=2025-04-01&to=2025-06-30"]
)
def test_protected_readers_read_months_quarters_years_and_the_whole_history(
    accounts, dataset, query
):
    assert accounts["institution"].get(f"/api/v1/indicators?{query}").status_code == 200


def test_the_ids_filter_keeps_only_the_indicators_asked_for(accounts, dataset):
    body = accounts["agent"].get(URL + "&ids=reports&ids=share_vulnerable").get_json()
    assert [indicator["id"] for indicator in body["indicators"]] == ["reports", "share_vulnerable"]
    assert body["suppression"]["applied"] is True


def test_a_territory_narrows_the_whole(accounts, dataset):
    body = accounts["coordinator"].get(URL + "&territory=69266&ids=reports").get_json()
    assert body["territory"]["code"] == "69266"
    assert body["indicators"][0]["whole"]["value"] == 12


def test_two_level_breakdowns_are_flat_parts(accounts, dataset):
    body = accounts["coordinator"].get(URL + "&ids=structures_onboarded_by_quarter").get_json()
    parts = body["indicators"][0]["whole"]["parts"]
    found = {(p["category"], p["subcategory"]): p["value"] for p in parts if p["value"]}
    assert found == {
        ("2025-Q1", "association"): 1,
        ("2025-Q1", "social_services"): 1,
        ("2025-Q3", "health_centre"): 1,
    }


def test_definitions_are_listed_in_french(accounts):
    response = accounts["institution"].get("/api/v1/indicators/definitions")
    assert response.status_code == 200
    described = {item["id"]: item for item in response.get_json()}
    assert list(described) == list(INDICATORS)
    assert described["reports"]["label"] == "Signalements"
    assert described["mean_cost_total"]["reference"]["value"] == 866
    for item in described.values():
        assert item["definition"] and item["unit"] and item["basis"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("territory=99999", "territory"),
        ("from=2025-06-01&to=2025-01-01", "to"),
        ("level=canton", "level"),
        ("ids=nothing", "ids"),
        ("from=1999-12-31", "from"),
        ("from=hier", "from"),
    ],
)
def test_bad_parameters_are_a_problem_naming_the_field(accounts, query, field):
    response = accounts["coordinator"].get(f"/api/v1/indicators?{query}")
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert field in {error["field"].split(".")[0] for error in response.get_json()["errors"]}


def test_the_indicators_need_a_user(accounts):
    response = accounts["anonymous"].get("/api/v1/indicators")
    assert response.status_code == 401


def test_repeated_and_duplicated_requests_give_the_same_answer(accounts):
    url = "/api/v1/indicators?ids=reports_by_quarter&ids=reports_by_quarter&ids=reports_by_action"
    first = accounts["agent"].get(url)
    second = accounts["agent"].get(url)
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.get_json() == second.get_json()
    assert [i["id"] for i in first.get_json()["indicators"]] == [
        "reports_by_quarter",
        "reports_by_action",
    ]
