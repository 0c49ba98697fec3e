"""Every error is application/problem+json, in French unless the client asks for English."""

from .conftest import ApiClient
from .test_api_reports import SMALLEST


def assert_problem(response, status):
    assert response.status_code == status
    assert response.content_type == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status
    assert body["title"] and body["detail"]
    return body


def test_unknown_address_is_a_404_problem(accounts):
    body = assert_problem(accounts["agent"].get("/api/v1/nothing-here"), 404)
    assert body["title"] == "Ressource introuvable"


def test_wrong_method_is_a_405_problem_with_allow(accounts):
    response = accounts["agent"].request("PUT", "/api/v1/reports")
    assert_problem(response, 405)
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_malformed_json_is_a_400_problem(accounts):
    response = accounts["agent"].post(
        "/api/v1/reports", data="{not json", headers={"Content-Type": "application/json"}
    )
    body = assert_problem(response, 400)
    assert body["detail"].startswith("Corps JSON illisible")


def test_invalid_utf8_is_a_400_problem(accounts):
    response = accounts["agent"].post(
        "/api/v1/reports",
        data=b'{"notes": "\xff\xfe"}',
        headers={"Content-Type": "application/json"},
    )
    assert_problem(response, 400)


def test_a_body_that_is_not_json_is_a_415_problem(accounts):
    response = accounts["agent"].post(
        "/api/v1/reports",
        data="housing=social",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_problem(response, 415)


def test_a_json_array_instead_of_an_object_is_a_422_problem(accounts):
    response = accounts["agent"].post("/api/v1/reports", json=[SMALLEST])
    assert_problem(response, 422)


def test_an_oversized_body_is_a_413_problem(accounts):
    notes = "x" * 2_100_000
    response = accounts["agent"].post("/api/v1/reports", json={**SMALLEST, "notes": notes})
    assert_problem(response, 413)


def test_deeply_nested_json_is_refused_without_a_server_error(accounts):
    nested = "[" * 5000 + "]" * 5000
    response = accounts["agent"].post(
        "/api/v1/reports", data=nested, headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (400, 422)
    assert response.content_type == "application/problem+json"


def test_html_and_sql_in_text_fields_are_stored_as_plain_text(accounts):
    hostile = "<script>alert(1)</script>'; DROP TABLE reports; --"
    created = accounts["agent"].post("/api/v1/reports", json={**SMALLEST, "notes": hostile})
    assert created.status_code == 201
    assert accounts["agent"].get(created.headers["Location"]).get_json()["notes"] == hostile


def test_errors_are_in_english_when_asked(accounts):
    response = accounts["agent"].post(
        "/api/v1/reports",
        json={k: v for k, v in SMALLEST.items() if k != "housing"},
        headers={"Accept-Language": "en-GB,en;q=0.9"},
    )
    body = assert_problem(response, 422)
    assert body["title"] == "Invalid data"
    assert body["errors"] == [{"field": "housing", "message": "Required field."}]


def test_the_api_limits_requests_per_token(make_app, accounts):
    app = make_app(OHPUNAISES_RATELIMIT_API="3 per minute")
    client = ApiClient(app.test_client(), accounts["agent"].token)
    statuses = [client.get("/api/v1/me").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert_problem(client.get("/api/v1/me"), 429)
    other = ApiClient(app.test_client(), accounts["coordinator"].token)
    assert other.get("/api/v1/me").status_code == 200


def test_a_nul_character_is_refused_not_a_server_error(accounts):
    response = accounts["agent"].get("/api/v1/reports?territory=69%00123")
    assert_problem(response, 422)
    created = accounts["agent"].post("/api/v1/reports", json={**SMALLEST, "notes": "a\x00b"})
    body = assert_problem(created, 422)
    assert body["errors"] == [{"field": "notes", "message": "Caractère nul interdit."}]
