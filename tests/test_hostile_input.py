"""Hostile input: bodies too big, too deep, of the wrong type or not UTF-8, markup and SQL in
every text field a user can set, and broken territory files.

A hostile request gets a clear 4xx (a French page, or problem+json on the API) and stores
nothing; hostile text that is valid is stored verbatim and shown escaped on every page, map
and file that renders it; a broken territory file is refused whole by the command line.
"""

import csv
import datetime as dt
import hashlib
import http.client
import io
import json
import re
import types
import uuid
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from markupsafe import escape

from ohpunaises.auth import issue_token
from ohpunaises.extensions import db
from ohpunaises.models import ApiToken, Report, Structure, Territory, TrainingSession, User

from .conftest import ApiClient, make_structure, make_user
from .test_api_accounts import last_line
from .test_gunicorn import gunicorn
from .test_http_hardening import assert_hardened_page, signed_in
from .test_map import unescape_js
from .test_territories import VILLEURBANNE_TOWN_HALL, feature, square, write_geojson

HOSTILE = "<script>alert(1)</script>\"><img src=x onerror=alert(1)>'; DROP TABLE reports; --{{7*7}}"
HOSTILE_EMAIL = "<script>alert(1)</script>'--{{7*7}}@example.org"
HOSTILE_CODE = "QP\"><i>'--{{7*7}}"
RAW_MARKUP = ("<script>alert(1)", "<img src=x", "onerror=alert(1)>", "<i>'")
TODAY = dt.date.today().isoformat()
REPORT = {
    "intervention_date": TODAY,
    "location": {"type": "Point", "coordinates": list(VILLEURBANNE_TOWN_HALL)},
    "housing": "social",
    "infestation_level": "moderate",
    "actions": ["diagnosis"],
}
BY_COMMUNE = {**{k: v for k, v in REPORT.items() if k != "location"}, "commune": "69266"}
FORM_REPORT = {
    "intervention_date": TODAY,
    "commune": "Villeurbanne (69266)",
    "housing": "social",
    "infestation_level": "low",
    "actions": "diagnosis",
}


def shown(text: str) -> str:
    """`text` as a page shows it: escaped once."""
    return str(escape(text))


def assert_harmless(response, *texts):
    """The page runs none of the hostile markup or template code, and shows each of `texts`
    escaped; returns the page with the maps' data as Leaflet reads it."""
    html = response.get_data(as_text=True)
    for raw in RAW_MARKUP:
        assert raw not in html, raw
    assert "--49" not in html  # "{{7*7}}" never ran as a template
    # The maps' data, JSON-escaped in their script, is HTML that Leaflet inserts: escaped too.
    page = unescape_js(html)
    for raw in RAW_MARKUP[:3]:
        assert raw not in page, raw
    scan = assert_hardened_page(response)
    assert not any(tag == "img" and attrs.get("src") == "x" for tag, attrs in scan.elements)
    for text in texts:
        assert shown(text) in page, text
    return page


def run(runner, *args) -> str:
    result = runner.invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def count(app, model) -> int:
    with app.app_context():
        total = db.session.scalar(sa.select(sa.func.count()).select_from(model))
        db.session.remove()
    return total


# Markup and SQL in every text field ------------------------------------------------------------


@pytest.fixture
def hostile(app, runner, tmp_path):
    """Hostile text in every field a user can set, through the command line, the API and the
    form: territory name and code, structure names, account names and email, token names,
    report notes (created and followed up), training notes."""
    qpv = write_geojson(
        tmp_path / "qpv.geojson",
        feature(square(*VILLEURBANNE_TOWN_HALL), code_qp=HOSTILE_CODE, lib_qp=HOSTILE),
    )
    run(runner, "territories", "load", str(qpv), "--level", "qpv")
    structure = last_line(
        run(
            runner,
            *("structures", "create", "--name", HOSTILE, "--kind", "association"),
            *("--commune", "69266"),
        )
    )
    for email, role, extra in (
        (HOSTILE_EMAIL, "coordinator", ()),
        ("agent@example.org", "agent", ("--structure", structure)),
    ):
        run(runner, "users", "create", "--email", email, "--role", role, *extra, "--name", HOSTILE)
    tokens = {
        email: last_line(run(runner, "tokens", "create", "--email", email, "--name", HOSTILE))
        for email in (HOSTILE_EMAIL, "agent@example.org")
    }
    agent = ApiClient(app.test_client(), tokens["agent@example.org"])
    coordinator = ApiClient(app.test_client(), tokens[HOSTILE_EMAIL])

    created = agent.post("/api/v1/reports", json={**REPORT, "notes": HOSTILE})
    assert created.status_code == 201, created.get_json()
    followed = agent.post("/api/v1/reports", json=REPORT)
    etag = agent.get(followed.headers["Location"]).headers["ETag"]
    patched = agent.patch(
        followed.headers["Location"], json={"notes": HOSTILE}, headers={"If-Match": etag}
    )
    assert patched.status_code == 200, patched.get_json()
    training = {"held_on": TODAY, "kind": "workshop", "participants": 12, "notes": HOSTILE}
    assert agent.post("/api/v1/trainings", json=training).status_code == 201
    assert agent.post("/api/v1/tokens", json={"name": HOSTILE}).status_code == 201
    other = {"name": HOSTILE + " (API)", "kind": "association", "commune": "69123"}
    assert coordinator.post("/api/v1/structures", json=other).status_code == 201

    web = signed_in(app, "agent@example.org")
    page = web.get("/saisie").get_data(as_text=True)
    form = {**FORM_REPORT, "notes": HOSTILE, "csrf_token": csrf_of(page)}
    assert web.post("/saisie", data={**form, "id": str(uuid.uuid4())}).status_code == 302
    return types.SimpleNamespace(agent=agent, coordinator=coordinator)


def test_hostile_text_is_stored_verbatim_and_every_table_stays_whole(app, hostile):
    reports = hostile.agent.get("/api/v1/reports").get_json()["items"]
    assert [report["notes"] for report in reports] == [HOSTILE] * 3
    assert {report["qpv"] for report in reports} == {HOSTILE_CODE, None}  # None: by commune
    names = {s["name"] for s in hostile.coordinator.get("/api/v1/structures").get_json()}
    assert names >= {HOSTILE, HOSTILE + " (API)"}
    assert hostile.agent.get("/api/v1/trainings").get_json()[0]["notes"] == HOSTILE
    assert {t["name"] for t in hostile.agent.get("/api/v1/tokens").get_json()} == {HOSTILE}
    me = hostile.coordinator.get("/api/v1/me").get_json()
    assert (me["email"], me["display_name"]) == (HOSTILE_EMAIL, HOSTILE)
    qpvs = hostile.agent.get("/api/v1/territories?level=qpv").get_json()["features"]
    assert [(q["properties"]["code"], q["properties"]["name"]) for q in qpvs] == [
        (HOSTILE_CODE, HOSTILE)
    ]
    with app.app_context():
        tables = set(sa.inspect(db.engine).get_table_names())
        db.session.remove()
    assert {"reports", "structures", "users", "api_tokens", "territories"} <= tables
    assert (count(app, Report), count(app, TrainingSession), count(app, ApiToken)) == (3, 1, 3)
    assert (count(app, Structure), count(app, User)) == (2, 2)


def test_the_coordination_sees_hostile_text_escaped_on_every_page_and_map(app, hostile):
    # An export filtered on the hostile QPV puts its code and the hostile email in the log.
    export = f"/api/v1/exports/reports.csv?territory={HOSTILE_CODE}"
    assert hostile.coordinator.get(export).status_code == 200
    client = signed_in(app, HOSTILE_EMAIL)
    pages = {
        "/": [HOSTILE],  # the display name
        "/mes-signalements": [HOSTILE],  # the structure
        "/saisie": [HOSTILE],  # the structure picker
        "/exports": [HOSTILE, f"{HOSTILE} (Quartier prioritaire (QPV))", HOSTILE_CODE],
        "/indicateurs": [f"{HOSTILE} (Quartier prioritaire (QPV))", HOSTILE_CODE],
        "/indicateurs?level=qpv": [HOSTILE],
        "/carte": [HOSTILE, HOSTILE + " (API)"],  # structures and QPV outlines
        "/journal": [HOSTILE_EMAIL],
    }
    for url, texts in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        assert_harmless(response, *texts)


def test_the_field_and_the_public_see_hostile_text_escaped_too(app, hostile, make_app):
    client = signed_in(app, "agent@example.org")
    for url, texts in {
        "/": [HOSTILE],
        "/mes-signalements": [],
        "/indicateurs": [f"{HOSTILE} (Quartier prioritaire (QPV))"],
        "/carte": [HOSTILE],  # the QPV outline; the agent sees no structure names
    }.items():
        response = client.get(url)
        assert response.status_code == 200, url
        page = assert_harmless(response, *texts)
        assert shown(HOSTILE + " (API)") not in page
    # A refused form comes back with the notes as typed, in the text area, escaped.
    page = client.get("/saisie").get_data(as_text=True)
    data = {**FORM_REPORT, "housing": "", "notes": HOSTILE, "csrf_token": csrf_of(page)}
    data.update(latitude=HOSTILE, longitude=HOSTILE, commune=HOSTILE, household_size=HOSTILE)
    refused = client.post("/saisie", data=data)
    assert refused.status_code == 422
    assert f"{shown(HOSTILE)}</textarea>" in assert_harmless(refused, HOSTILE)

    public = make_app(OHPUNAISES_EMBED="1", OHPUNAISES_PUBLIC_PAGE="1").test_client()
    embedded = public.get("/carte/embed")
    html = embedded.get_data(as_text=True)
    assert not any(raw in html for raw in RAW_MARKUP) and "--49" not in html
    assert shown(HOSTILE) in unescape_js(html)
    assert_harmless(public.get("/plaidoyer"))


def test_files_carry_hostile_text_verbatim_as_data_never_as_a_page(app, hostile, runner):
    response = hostile.coordinator.get("/api/v1/exports/reports.csv?sep=comma")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert (
        response.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    )
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert [row["notes"] for row in rows] == [HOSTILE] * 3
    assert {row["qpv"] for row in rows} == {HOSTILE_CODE, ""}

    geojson = hostile.coordinator.get("/api/v1/exports/territories.geojson?level=qpv")
    names = [f["properties"]["name"] for f in geojson.get_json()["features"]]
    assert names == [HOSTILE]
    assert HOSTILE[:40] in run(runner, "territories", "list", "--level", "qpv")


def test_what_the_address_or_a_form_carries_comes_back_escaped(app, accounts):
    client = signed_in(app, "institution@example.org")
    for url, query, status, echoed in (
        ("/carte", {"from": HOSTILE}, 400, HOSTILE),  # "Date invalide : …", the text given
        ("/carte", {"indicator": HOSTILE}, 400, ""),
        # An institution picks its period from a list: what it typed is not echoed.
        ("/indicateurs", {"from": HOSTILE, "territory": HOSTILE}, 422, ""),
        ("/indicateurs", {"periode": HOSTILE}, 422, ""),
    ):
        response = client.get(url, query_string=query)
        assert response.status_code == status, (url, query)
        assert_harmless(response, echoed)
    anonymous = app.test_client()
    token = csrf_of(anonymous.get("/connexion").get_data(as_text=True))
    data = {"email": HOSTILE, "password": HOSTILE, "csrf_token": token}
    refused = anonymous.post("/connexion", query_string={"next": HOSTILE}, data=data)
    assert refused.status_code == 401
    assert_harmless(refused, HOSTILE)


# Bodies too big, too deep, of the wrong type, not UTF-8 ----------------------------------------

JSON_WRITES = [
    ("agent", "POST", "/api/v1/reports"),
    ("agent", "POST", "/api/v1/reports/batch"),
    ("agent", "PATCH", f"/api/v1/reports/{uuid.UUID(int=1)}"),
    ("coordinator", "POST", "/api/v1/structures"),
    ("coordinator", "PATCH", "/api/v1/structures/1"),
    ("agent", "POST", "/api/v1/trainings"),
    ("agent", "POST", "/api/v1/tokens"),
]


def assert_problem(response, status, detail=None):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status and body["title"] and body["detail"]
    if detail:
        assert detail in body["detail"], body["detail"]
    return body


def test_bodies_over_the_limit_are_a_clear_413_on_the_api_and_on_the_forms(app, accounts, make_app):
    small = make_app(OHPUNAISES_MAX_BODY_BYTES="4096")
    big = "x" * 5000
    for role, method, url in JSON_WRITES:
        api = ApiClient(small.test_client(), accounts[role].token)
        response = api.request(method, url, json={"notes": big})
        assert_problem(response, 413, "dépasse la taille autorisée")
    web = signed_in(small, "agent@example.org")
    token = csrf_of(web.get("/saisie").get_data(as_text=True))
    for url, data in (
        ("/saisie", {**FORM_REPORT, "notes": big, "csrf_token": token}),
        ("/connexion", {"email": big, "password": "x", "csrf_token": token}),
    ):
        response = web.post(url, data=data)
        assert response.status_code == 413, url
        html = response.get_data(as_text=True)
        assert "Requête trop volumineuse" in html
        assert "Le corps de la requête dépasse la taille autorisée." in html
    assert count(app, Report) == 0


@pytest.mark.parametrize(("role", "method", "url"), JSON_WRITES)
def test_deeply_nested_json_is_a_400_on_every_json_endpoint(accounts, role, method, url):
    for nested in ("[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000):
        response = accounts[role].request(
            method, url, data=nested, headers={"Content-Type": "application/json"}
        )
        assert_problem(response, 400, "Corps JSON trop imbriqué.")


def test_json_nested_within_the_parser_limits_is_a_field_error(app, accounts):
    notes = "[" * 500 + "]" * 500
    body = json.dumps({**REPORT, "notes": "x"}).replace('"x"', notes)
    response = accounts["agent"].post(
        "/api/v1/reports", data=body, headers={"Content-Type": "application/json"}
    )
    assert assert_problem(response, 422)["errors"] == [
        {"field": "notes", "message": "Texte attendu."}
    ]
    assert count(app, Report) == 0


@pytest.mark.parametrize(("role", "method", "url"), JSON_WRITES)
def test_json_that_is_not_utf8_is_a_400_that_says_so(app, accounts, role, method, url):
    for body, byte in ((b'{"notes": "caf\xe9"}', 15), (b"\xff\xfe{\x00}\x00", 1)):
        response = accounts[role].request(
            method, url, data=body, headers={"Content-Type": "application/json"}
        )
        detail = f"Corps JSON illisible : octet {byte}, ce n'est pas du texte UTF-8."
        assert_problem(response, 400, detail)
    assert count(app, Report) == 0


SURROGATES = [
    ("agent", "POST", "/api/v1/reports", {**REPORT, "notes": "a\ud800"}, "notes"),
    ("agent", "POST", "/api/v1/reports", {**REPORT, "dwelling_ref": "\udfff"}, "dwelling_ref"),
    ("agent", "POST", "/api/v1/reports", {**BY_COMMUNE, "commune": "69\ud800"}, "commune"),
    (
        "coordinator",
        "POST",
        "/api/v1/structures",
        {"name": "\ud800", "kind": "association", "commune": "69123"},
        "name",
    ),
    ("coordinator", "PATCH", "/api/v1/structures/{structure}", {"name": "\ud800"}, "name"),
    (
        "agent",
        "POST",
        "/api/v1/trainings",
        {"held_on": TODAY, "kind": "workshop", "participants": 3, "notes": "\ud800"},
        "notes",
    ),
    ("agent", "POST", "/api/v1/tokens", {"name": "\ud800"}, "name"),
]


@pytest.mark.parametrize(("role", "method", "url", "body", "field"), SURROGATES)
def test_a_lone_surrogate_in_any_text_field_is_a_422_not_a_server_error(
    app, accounts, role, method, url, body, field
):
    """JSON may escape half of a UTF-16 pair ("\\ud800"): no database can store it."""
    url = url.format(structure=accounts["agent"].structure_id)
    response = accounts[role].request(method, url, json=body)  # escaped as "\\ud800"
    errors = assert_problem(response, 422)["errors"]
    assert {"field": field, "message": "Texte UTF-8 invalide."} in errors
    stored = (count(app, Report), count(app, TrainingSession), count(app, ApiToken))
    assert stored == (0, 0, len(accounts) - 1)  # the accounts' own tokens, the anonymous none


def test_a_lone_surrogate_in_a_batch_refuses_that_report_alone(app, accounts):
    reports = [{**REPORT, "notes": "a\ud800"}, REPORT]
    response = accounts["agent"].post("/api/v1/reports/batch", json={"reports": reports})
    assert response.status_code == 200
    first, second = response.get_json()["results"]
    assert (first["status"], second["status"]) == (422, 201)
    assert first["errors"] == [{"field": "notes", "message": "Texte UTF-8 invalide."}]
    assert count(app, Report) == 1


def test_numbers_too_long_for_python_are_refused_plainly(app, accounts):
    body = '{"household_size": 1' + "0" * 5000 + "}"
    response = accounts["agent"].post(
        "/api/v1/reports", data=body, headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 400, "Corps JSON illisible : un nombre compte trop de chiffres.")
    for role, field, value in (
        ("agent@example.org", "household_size", "1" * 5000),
        ("agent@example.org", "household_size", "²"),
        ("coordinator@example.org", "structure_id", "²"),
        ("coordinator@example.org", "structure_id", "9" * 5000),
    ):
        web = signed_in(app, role)
        token = csrf_of(web.get("/saisie").get_data(as_text=True))
        response = web.post("/saisie", data={**FORM_REPORT, field: value, "csrf_token": token})
        assert response.status_code == 422, (field, value)
        error = re.search(rf'id="err-{field}">([^<]*)<', response.get_data(as_text=True))
        assert error.group(1) == "Nombre entier attendu.", (field, value)
    journal = signed_in(app, "coordinator@example.org")
    for page in ("9" * 30, "²", "-1", "%00", "%FF"):
        assert journal.get(f"/journal?page={page}").status_code == 200, page
    assert count(app, Report) == 0


MULTIPART = b'--x\r\nContent-Disposition: form-data; name="notes"\r\n\r\nx\r\n--x--\r\n'
NOT_JSON = [
    ("text/plain", b'{"notes": "x"}'),
    ("multipart/form-data; boundary=x", MULTIPART),
    ("application/xml", b"<report><notes>x</notes></report>"),
    ("application/x-www-form-urlencoded", b"notes=x"),
    (None, b'{"notes": "x"}'),
]


@pytest.mark.parametrize(("role", "method", "url"), JSON_WRITES)
def test_json_endpoints_refuse_every_other_content_type_with_a_415(accounts, role, method, url):
    for content_type, body in NOT_JSON:
        headers = {"Content-Type": content_type} if content_type else {}
        response = accounts[role].request(method, url, data=body, headers=headers)
        assert_problem(response, 415, "Envoyez un corps JSON (Content-Type: application/json).")


def test_form_pages_refuse_json_and_other_bodies_with_a_415(app, accounts):
    web = signed_in(app, "agent@example.org")
    token = csrf_of(web.get("/saisie").get_data(as_text=True))
    follow_up = f"/mes-signalements/{uuid.UUID(int=1)}/suivi"
    bodies = [
        ("application/json", json.dumps({**FORM_REPORT, "csrf_token": token}).encode()),
        ("multipart/form-data; boundary=x", MULTIPART),
        ("text/plain", b"notes=x"),
    ]
    for url in ("/saisie", "/connexion", follow_up, "/deconnexion"):
        for content_type, body in bodies:
            headers = {"Content-Type": content_type, "X-CSRFToken": token}
            response = web.post(url, data=body, headers=headers)
            assert response.status_code == 415, (url, content_type)
            html = assert_harmless(response)
            assert "Type de contenu non pris en charge" in html
            assert "Envoyez le formulaire de la page" in html
    missing = web.post("/saisie", data=FORM_REPORT)
    assert missing.status_code == 400
    assert "Jeton de sécurité (CSRF) absent ou invalide" in missing.get_data(as_text=True)
    assert count(app, Report) == 0


def test_a_form_that_is_not_utf8_is_a_400_and_stores_nothing(app, accounts):
    web = signed_in(app, "agent@example.org")
    token = csrf_of(web.get("/saisie").get_data(as_text=True))
    report = accounts["agent"].post("/api/v1/reports", json=REPORT)
    follow_up = urlsplit(report.headers["Location"]).path.replace(
        "/api/v1/reports/", "/mes-signalements/"
    )
    fields = "&".join(f"{k}={v}" for k, v in FORM_REPORT.items()).encode()
    for url, body in (
        ("/saisie", fields + b"&notes=caf%E9&csrf_token=" + token.encode()),
        ("/saisie", fields + b"&notes=caf\xe9&csrf_token=" + token.encode()),
        ("/connexion", b"email=%FF%FE&password=x&csrf_token=" + token.encode()),
        (follow_up + "/suivi", b"version=1&status=lost%C3&csrf_token=" + token.encode()),
    ):
        response = web.post(
            url, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert response.status_code == 400, url
        html = assert_harmless(response)
        assert "Le formulaire contient des octets qui ne sont pas du texte UTF-8." in html
    assert count(app, Report) == 1
    assert accounts["agent"].get(report.headers["Location"]).get_json()["status"] == "ongoing"


# Raw bytes through gunicorn ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(app, database_url):
    with gunicorn(database_url) as base:
        yield base


def raw_request(base: str, method: str, path: str, body=b"", headers=None):
    """A request sent as bytes, chunked when `body` is a list of chunks."""
    address = urlsplit(base)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        chunked = isinstance(body, list)
        connection.request(
            method,
            path,
            body=iter(body) if chunked else body,
            headers=headers or {},
            encode_chunked=chunked,
        )
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_raw_bytes_through_gunicorn_get_clear_refusals(app, server):
    with app.app_context():
        user = make_user("agent-brut@example.org", "agent", make_structure("Brut", "69266"))
        token = issue_token(user)[0]
        db.session.commit()
    api = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    status, headers, body = raw_request(
        server, "POST", "/api/v1/reports", b'{"notes": "\xc3("}', api
    )
    assert (status, headers["Content-Type"]) == (400, "application/problem+json")
    assert "UTF-8" in json.loads(body)["detail"]

    # Chunked: no Content-Length, the limit is found while reading.
    chunks = [b"[" * 65536] * 40
    status, headers, body = raw_request(server, "POST", "/api/v1/reports", chunks, api)
    assert (status, headers["Content-Type"]) == (413, "application/problem+json")
    plain = {**api, "Content-Type": "text/plain"}
    status, headers, body = raw_request(server, "POST", "/api/v1/reports", [b"{}"], plain)
    assert (status, headers["Content-Type"]) == (415, "application/problem+json")

    status, headers, page = raw_request(server, "GET", "/connexion")
    cookie = headers["Set-Cookie"].split(";")[0]
    form = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
    token = csrf_of(page.decode()).encode()
    status, _, page = raw_request(
        server, "POST", "/connexion", b"email=\xff\xfe&password=x&csrf_token=" + token, form
    )
    assert status == 400
    assert "pas du texte UTF-8" in page.decode()
    status, _, page = raw_request(
        server, "POST", "/connexion", [b"email=" + b"x" * 65536] * 40, form
    )
    assert status == 413
    assert "Requête trop volumineuse" in page.decode()

    status, _, _ = raw_request(server, "GET", "/carte/embed?from=%FF%FE")
    assert status == 404  # the embedded map is off: the query never reaches a view
    assert count(app, Report) == 0


# Territory files ---------------------------------------------------------------------------------


def territories_snapshot(app) -> str:
    """Every territory, geometry included, as one digest."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(
                Territory.code,
                Territory.name,
                Territory.level,
                Territory.population,
                Territory.parent_id,
                sa.func.ST_AsText(Territory.geom),
            ).order_by(Territory.code)
        ).all()
        db.session.remove()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def collection(*features) -> str:
    return json.dumps({"type": "FeatureCollection", "features": list(features)})


GOOD = feature(square(4.85, 45.75), code_qp="QN1", lib_qp="Bon")
POPULATED = feature(square(4.85, 45.75), code_qp="QN1", lib_qp="Bon", population=1200)
RING = [[4.80, 45.70], [4.81, 45.70], [4.81, 45.71], [4.80, 45.71]]
CLOSED = [*RING, RING[0]]
INVALID = "Entité n° 2 (QN2) : géométrie invalide"
NOT_FINITE = f"{INVALID} (coordonnée non numérique ou non finie, comme NaN)"


def second(geometry=None, **properties):
    """A file whose first feature is fine and whose second is not."""
    properties = properties or {"code_qp": "QN2", "lib_qp": "Deux"}
    return collection(GOOD, feature(geometry or square(4.8, 45.7), **properties))


def polygon(*rings):
    return {"type": "Polygon", "coordinates": list(rings)}


def with_point(point):
    return polygon([RING[0], RING[1], point, RING[0]])


# What tests/test_territories.py does not try already; each file is refused whole.
BROKEN_FILES = {
    "NaN coordinate": (second(with_point([float("nan"), 45.71])), NOT_FINITE),
    "infinite coordinate": (second(with_point([float("inf"), 45.71])), NOT_FINITE),
    "text coordinate": (second(with_point(["4.81", 45.71])), NOT_FINITE),
    "unclosed ring": (second(polygon(RING)), f"{INVALID} (anneau non fermé"),
    "unclosed hole": (
        second({"type": "MultiPolygon", "coordinates": [[[*RING[:3], RING[0]], RING]]}),
        f"{INVALID} (anneau non fermé",
    ),
    "ring of three positions": (
        second(polygon([RING[0], RING[1], RING[0]])),
        f"{INVALID} (anneau de moins de 4 positions)",
    ),
    "no geometry": (
        collection(GOOD, {"type": "Feature", "properties": {"code_qp": "QN2", "lib_qp": "x"}}),
        "Entité n° 2 (QN2) : géométrie absente ou non surfacique",
    ),
    "missing code": (
        second(lib_qp="Sans code"),
        "Entité n° 2 : propriété « code_qp » absente ou vide",
    ),
    "code too long": (
        second(code_qp="Q" * 21, lib_qp="x"),
        "Entité n° 2 : propriété « code_qp » invalide (texte de 20 caractères au plus",
    ),
    "name too long": (
        second(code_qp="QN2", lib_qp="n" * 201),
        "Entité n° 2 : propriété « lib_qp » invalide (texte de 200 caractères au plus",
    ),
    "NUL in a name": (
        second(code_qp="QN2", lib_qp="a\x00b"),
        "Entité n° 2 : propriété « lib_qp » invalide",
    ),
    "lone surrogate in a code": (
        second(code_qp="Q\ud800", lib_qp="x"),
        "Entité n° 2 : propriété « code_qp » invalide",
    ),
    "object as a name": (
        second(code_qp="QN2", lib_qp={"fr": "x"}),
        "Entité n° 2 : propriété « lib_qp » invalide",
    ),
    "properties not an object": (
        collection(GOOD, {"type": "Feature", "properties": ["QN2"], "geometry": None}),
        "Entité n° 2 : « properties » doit être un objet.",
    ),
    "first feature not an object": (
        collection(1, GOOD),
        "Impossible de deviner quelles propriétés portent le code et le nom",
    ),
    "infinite population": (
        collection(
            POPULATED, feature(square(4.8, 45.7), code_qp="QN2", lib_qp="x", population=1e999)
        ),
        "Entité n° 2 : population invalide (inf)",
    ),
    "population beyond the column": (
        collection(
            POPULATED, feature(square(4.8, 45.7), code_qp="QN2", lib_qp="x", population=2**31)
        ),
        "Entité n° 2 : population invalide (2147483648)",
    ),
    "deeply nested": ("[" * 100_000 + "]" * 100_000, "structure trop imbriquée"),
    "number of 5,000 digits": (
        '{"type": "FeatureCollection", "features": [1' + "0" * 5000 + "]}",
        "n'est pas un fichier GeoJSON lisible",
    ),
    "not UTF-8": (
        b'{"type": "FeatureCollection", "features": ["\xff"]}',
        "n'est pas un fichier GeoJSON lisible",
    ),
    "a list": ("[]", "n'est pas une FeatureCollection GeoJSON"),
}


def load(runner, path, *options):
    return runner.invoke(args=["territories", "load", str(path), "--level", "qpv", *options])


def assert_refused_whole(app, result, message, before):
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "Rien n'a été chargé" in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)  # a refusal, not a crash
    assert territories_snapshot(app) == before


@pytest.mark.parametrize(("content", "message"), BROKEN_FILES.values(), ids=BROKEN_FILES.keys())
def test_a_broken_territory_file_is_refused_whole_with_a_french_message(
    app, runner, tmp_path, content, message
):
    before = territories_snapshot(app)
    path = tmp_path / "broken.geojson"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", errors="surrogatepass")
    assert_refused_whole(app, load(runner, path), message, before)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("code;habitants\nQN1;²\n", "Ligne 2 : population invalide (²)"),
        ("code;habitants\nQN1;" + "9" * 5000 + "\n", "Ligne 2 : population invalide"),
        ("code;habitants\nQN1;3000000000\n", "Ligne 2 : population invalide (3000000000)"),
        ("code;habitants\nQN1;12\x00\n", "Ligne 2 : population invalide"),
        ("codehabitants\nQN1 12\n", "Fichier de population illisible"),
        ("code;habitants\n;12\nQN1\n", "1 territoire(s) créé(s)"),  # short rows: ignored
    ],
)
def test_a_broken_population_file_is_refused_whole_too(app, runner, tmp_path, content, message):
    before = territories_snapshot(app)
    path = write_geojson(tmp_path / "q.geojson", GOOD)
    populations = tmp_path / "populations.csv"
    populations.write_text(content)
    csv_options = ["--csv-code-column", "code", "--csv-population-column", "habitants"]
    result = load(runner, path, "--population-csv", str(populations), *csv_options)
    if "créé" in message:
        assert result.exit_code == 0, result.output
        assert message in result.output
        return
    assert_refused_whole(app, result, message, before)


def test_a_territory_file_over_the_size_limit_is_refused_before_being_read(app, runner, tmp_path):
    before = territories_snapshot(app)
    huge = tmp_path / "huge.geojson"
    with huge.open("wb") as file:
        file.truncate(200_000_001)  # sparse: nothing written, nothing read
    message = "dépasse la limite de 200 Mo (200000001 octets) : si c'est bien le fichier voulu"
    assert_refused_whole(app, load(runner, huge), message, before)
    assert "--max-size-mb" in load(runner, huge).output


def test_the_size_limit_can_be_raised_for_a_file_known_to_be_big(app, runner, tmp_path):
    before = territories_snapshot(app)
    padded = feature(square(4.85, 45.75), code_qp="QN1", lib_qp="Gros", note="x" * 1_100_000)
    path = write_geojson(tmp_path / "big.geojson", padded)
    refused = load(runner, path, "--max-size-mb", "1")
    assert_refused_whole(app, refused, "dépasse la limite de 1 Mo", before)
    loaded = load(runner, path, "--max-size-mb", "2")
    assert loaded.exit_code == 0, loaded.output
    assert "1 territoire(s) créé(s)" in loaded.output


def test_a_failure_while_storing_leaves_every_territory_as_it_was(app, runner, tmp_path):
    first = write_geojson(
        tmp_path / "first.geojson",
        feature(square(4.85, 45.75), code_qp="QN1", lib_qp="Ancien nom", parent="69123"),
    )
    assert load(runner, first, "--parent-property", "parent").exit_code == 0
    before = territories_snapshot(app)
    # The first feature updates QN1, the second adds QN2; QN3's parent is unknown, which is
    # found only once the others are written: the whole file is rolled back.
    path = write_geojson(
        tmp_path / "second.geojson",
        feature(square(4.85, 45.75), code_qp="QN1", lib_qp="Nouveau nom", parent="69123"),
        feature(square(4.86, 45.76), code_qp="QN2", lib_qp="Nouveau", parent="69123"),
        feature(square(4.87, 45.77), code_qp="QN3", lib_qp="Orphelin", parent="99999"),
    )
    result = load(runner, path, "--parent-property", "parent")
    assert_refused_whole(app, result, "Commune parente 99999 inconnue.", before)
    clash = write_geojson(
        tmp_path / "clash.geojson",
        feature(square(4.86, 45.76), code_qp="QN2", lib_qp="Nouveau"),
        feature(square(4.83, 45.75), code_qp="69123", lib_qp="Lyon, en QPV"),
    )
    assert_refused_whole(app, load(runner, clash), "existe déjà au niveau commune", before)


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["structures", "create", "--name", "n" * 201, "--kind", "association"], "--name"),
        (["structures", "create", "--name", "  ", "--kind", "association"], "--name"),
        (["structures", "create", "--name", "a\x00b", "--kind", "association"], "--name"),
        (
            ["users", "create", "--email", "a@b.fr", "--role", "coordinator", "--name", "n" * 121],
            "--name",
        ),
        (["users", "create", "--email", "a\udcff@b.fr", "--role", "coordinator"], "--email"),
        (["tokens", "create", "--email", "coordinator@example.org", "--name", "n" * 101], "--name"),
    ],
)
def test_command_line_text_the_database_cannot_store_is_refused_plainly(
    app, runner, accounts, args, option
):
    if args[0] == "structures":
        args = [*args, "--commune", "69123"]
    before = (count(app, Structure), count(app, User), count(app, ApiToken))
    result = runner.invoke(args=args)
    assert result.exit_code == 1, result.output
    assert f"Erreur : {option} : texte de" in result.output
    assert "Traceback" not in result.output
    assert (count(app, Structure), count(app, User), count(app, ApiToken)) == before


def test_template_code_in_a_name_is_drawn_on_the_map_never_run(app, accounts):
    """folium renders what it wrote a second time, as a jinja2 template: names must not run."""
    stealer = "{{ config.SECRET_KEY }}{% if true %}ran{% endif %}"
    created = accounts["coordinator"].post(
        "/api/v1/structures", json={"name": stealer, "kind": "association", "commune": "69266"}
    )
    assert created.status_code == 201
    html = signed_in(app, "coordinator@example.org").get("/carte").get_data(as_text=True)
    assert app.config["SECRET_KEY"] not in html
    assert stealer in unescape_js(html)
