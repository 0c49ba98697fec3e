"""Exports: reports as CSV by role, the data dictionary, territories as GeoJSON, the CLI."""

import csv
import datetime as dt
import io
import uuid

import pytest
import sqlalchemy as sa

from ohpunaises import exports, privacy
from ohpunaises.extensions import db
from ohpunaises.models import AuditEvent, Report
from ohpunaises.privacy import MAX_PERTURBATION as MOST
from ohpunaises.vocabulary import ACTIONS, HOUSING

from .conftest import make_structure, make_user
from .test_api_reports import SMALLEST
from .test_web_session import sign_in

FULL = {
    **SMALLEST,
    "location": {"type": "Point", "coordinates": [4.83567, 45.76431]},
    "actions": ["vacuuming", "diagnosis", "chemical_treatment"],
    "vulnerabilities": ["young_children"],
    "notes": "Voisine prévenue",
    "dwelling_ref": "Bât. B, appt 12",
    "cost_total": 1234.5,
    "intervention_date": "2026-03-17",
}


def read_csv(response, delimiter=";"):
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    text = body.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter))


def header(response, delimiter=";"):
    text = response.get_data().decode("utf-8-sig")
    return next(csv.reader(io.StringIO(text), delimiter=delimiter))


@pytest.fixture
def stored(accounts):
    """Two reports of structure A (one with every detail) and one of structure B."""
    ids = [accounts["agent"].post("/api/v1/reports", json=FULL).get_json()["id"]]
    ids.append(accounts["agent"].post("/api/v1/reports", json=SMALLEST).get_json()["id"])
    ids.append(accounts["agent_b"].post("/api/v1/reports", json=SMALLEST).get_json()["id"])
    return ids


def export(accounts, role, query=""):
    return accounts[role].get(f"/api/v1/exports/reports.csv{query}")


def test_coordinator_exports_every_row_with_every_column(accounts, stored):
    response = export(accounts, "coordinator")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = read_csv(response)
    assert [row["report_id"] for row in rows] == stored
    assert header(response) == [c.name for c in exports.columns_for("coordinator")]
    first = rows[0]
    assert first["notes"] == "Voisine prévenue"
    assert len(first["dwelling_key"]) == 64
    assert first["actions"] == "chemical_treatment|diagnosis|vacuuming"
    assert first["vulnerability_young_children"] == "1"
    assert first["vulnerability_disability"] == "0"
    assert first["latitude"] == "45,764310"
    assert first["longitude"] == "4,835670"
    assert first["cost_total"] == "1234,50"
    assert first["commune"] == "69123"
    assert first["arrondissement"] == "69382"
    assert first["intervention_date"] == "2026-03-17"


def test_partner_admin_exports_only_their_structures_rows(accounts, stored):
    rows = read_csv(export(accounts, "partner_admin"))
    assert [row["report_id"] for row in rows] == stored[:2]


@pytest.mark.parametrize("role", ["agent", "institution", "agent_b"])
def test_agents_and_institutions_export_no_rows(accounts, role):
    response = export(accounts, role)
    assert response.status_code == 403
    assert response.content_type == "application/problem+json"


def test_evaluator_rows_are_pseudonymised_without_notes_or_dwelling_key(accounts, stored):
    response = export(accounts, "evaluator")
    columns = header(response)
    assert "report_id" not in columns
    assert "notes" not in columns
    assert "dwelling_key" not in columns
    assert "structure_id" not in columns
    assert "created_at" not in columns
    rows = read_csv(response)
    assert len(rows) == 3
    pseudonyms = [row["report_pseudonym"] for row in rows]
    assert len(set(pseudonyms)) == 3
    assert not set(pseudonyms) & set(stored)
    assert all(p not in r for p in pseudonyms for r in stored)
    body = response.get_data(as_text=True)
    assert "Voisine" not in body
    assert stored[0] not in body


def test_evaluator_coordinates_are_rounded_to_the_hundredth_of_a_degree(accounts, stored):
    first = read_csv(export(accounts, "evaluator"))[0]
    assert (first["latitude"], first["longitude"]) == ("45,76", "4,84")
    point = read_csv(export(accounts, "evaluator", "?location=point"))[0]
    assert point["latitude"] == "45,76"


def test_location_commune_drops_the_coordinates(accounts, stored):
    first = read_csv(export(accounts, "evaluator", "?location=commune"))[0]
    assert first["latitude"] == first["longitude"] == ""
    assert first["commune"] == "69123"


def test_dates_to_the_month_on_request(accounts, stored):
    first = read_csv(export(accounts, "evaluator", "?dates=month"))[0]
    assert first["intervention_date"] == "2026-03"
    assert read_csv(export(accounts, "evaluator"))[0]["intervention_date"] == "2026-03-17"


def test_pseudonyms_are_stable_across_exports(accounts, stored):
    def pseudonyms():
        return [row["report_pseudonym"] for row in read_csv(export(accounts, "evaluator"))]

    assert pseudonyms() == pseudonyms()


def test_pseudonyms_change_with_the_key(app, make_app, accounts, stored):
    first = read_csv(export(accounts, "evaluator"))[0]["report_pseudonym"]
    other = make_app(OHPUNAISES_PSEUDONYM_KEY="une-autre-cle-de-pseudonymisation")
    token = accounts["evaluator"].token
    response = other.test_client().get(
        "/api/v1/exports/reports.csv", headers={"Authorization": f"Bearer {token}"}
    )
    assert read_csv(response)[0]["report_pseudonym"] != first


def test_comma_separator_uses_a_decimal_point(accounts, stored):
    response = export(accounts, "coordinator", "?sep=comma")
    first = read_csv(response, delimiter=",")[0]
    assert first["latitude"] == "45.764310"
    assert first["cost_total"] == "1234.50"
    assert ";" not in header(response, ",")[0]


def test_the_export_takes_the_report_list_filters(accounts, stored):
    structure_b = accounts["agent_b"].structure_id
    assert len(read_csv(export(accounts, "coordinator", f"?structure={structure_b}"))) == 1
    assert len(read_csv(export(accounts, "coordinator", "?territory=69123"))) == 3
    assert len(read_csv(export(accounts, "coordinator", "?territory=69266"))) == 0
    assert len(read_csv(export(accounts, "coordinator", "?from=2026-04-01"))) == 2
    assert len(read_csv(export(accounts, "coordinator", "?to=2026-03-31"))) == 1
    unknown = export(accounts, "coordinator", "?territory=00000")
    assert unknown.status_code == 422
    assert export(accounts, "coordinator", "?sep=tab").status_code == 422


def test_an_export_is_recorded_in_the_audit_log_with_its_row_count(app, accounts, stored):
    export(accounts, "evaluator", "?dates=month").get_data()
    with app.app_context():
        event = db.session.scalars(sa.select(AuditEvent)).one()
        assert event.action == "export.reports"
        assert event.actor == "evaluator@example.org"
        assert event.details["rows"] == 3
        assert event.details["complete"] is True
        assert event.details["options"]["dates"] == "month"


def test_large_exports_are_streamed_in_chunks(app, accounts, monkeypatch):
    monkeypatch.setattr(exports, "CHUNK", 2)
    monkeypatch.setattr(exports, "CHUNK_BYTES", 1)
    for _ in range(5):
        accounts["agent"].post("/api/v1/reports", json=SMALLEST)
    response = export(accounts, "coordinator")
    assert response.is_streamed
    pieces = list(response.iter_encoded())
    assert len([piece for piece in pieces if piece]) >= 4  # the header, then rows apart
    response.set_data(b"".join(pieces))
    assert len(read_csv(response)) == 5


def test_free_text_and_numbers_are_written_alike_on_every_database(app, accounts):
    """PostgreSQL writes the CSV itself, SQLite through Python: the text must not differ."""
    tricky = {
        **FULL,
        "notes": '=SOMME(A1); dit "non"\nescalier B',
        "cost_total": 1000,
        "cost_household": 0.5,
    }
    report_id = accounts["agent"].post("/api/v1/reports", json=tricky).get_json()["id"]
    response = export(accounts, "coordinator")
    assert response.get_data().count(b"\r") == 0  # LF line ends, as COPY writes them
    (row,) = read_csv(response)
    assert row["notes"] == "'" + tricky["notes"]  # a spreadsheet will not run it
    assert (row["cost_total"], row["cost_household"]) == ("1000,00", "0,50")
    assert (row["latitude"], row["longitude"]) == ("45,764310", "4,835670")
    with app.app_context():
        report = db.session.get(Report, uuid.UUID(report_id))
        stored = report.created_at.astimezone(dt.UTC).isoformat("T", "microseconds")
        assert row["created_at"] == stored
    assert row["resolved_on"] == row["qpv"] == row["cost_payer"] == ""
    assert row["anonymised"] == "0"


NOTES_AND_CELLS = [
    # A carriage return alone would start a new row in a spreadsheet, with a formula.
    ("X\r=1+1", b'"X\n=1+1"'),
    ("ligne 1\r\nligne 2", b'"ligne 1\nligne 2"'),
    ("A\x0bB\x1bC\x7fD", b"A B C D"),
    ("\r=1+1", b'"\n=1+1"'),
    ("\t=1+1", b"'\t=1+1"),
]


@pytest.mark.parametrize(("notes", "cell"), NOTES_AND_CELLS)
def test_control_characters_never_split_a_row_and_every_database_writes_the_same_bytes(
    accounts, notes, cell
):
    accounts["agent"].post("/api/v1/reports", json={**SMALLEST, "notes": notes})
    body = export(accounts, "coordinator").get_data()
    header, line = body.split(b"\n", 1)
    names = header.decode("utf-8-sig").split(";")
    assert b"\r" not in body and line.count(b'"') in (0, 2)
    (row,) = read_csv_bytes(body)
    assert row["notes"].encode() == cell.strip(b'"')
    cells = line.rstrip(b"\n").split(b";")
    assert cells[names.index("notes")] == cell


def read_csv_bytes(body: bytes):
    text = body.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=";"))


@pytest.mark.parametrize("purpose", ["report", "structure"])
def test_pseudonyms_are_keyed_hashes_of_the_identifiers(app, accounts, stored, purpose):
    rows = read_csv(export(accounts, "evaluator"))
    with app.app_context():
        pseudonym = privacy.pseudonymiser(purpose)
        structures = [accounts["agent"].structure_id] * 2 + [accounts["agent_b"].structure_id]
        identifiers = stored if purpose == "report" else structures
        assert [row[f"{purpose}_pseudonym"] for row in rows] == [
            pseudonym(identifier) for identifier in identifiers
        ]


def test_rounded_coordinates_break_ties_as_the_grid_does(app, accounts):
    points = [(4.835, 45.765), (4.845, 45.755), (4.855, 45.745), (4.8449999, 45.7650001)]
    for lon, lat in points:
        location = {"type": "Point", "coordinates": [lon, lat]}
        accounts["agent"].post("/api/v1/reports", json={**SMALLEST, "location": location})
    rows = read_csv(export(accounts, "evaluator", "?sep=comma"), delimiter=",")
    expected = [
        (f"{privacy.round_to_grid(lat):.2f}", f"{privacy.round_to_grid(lon):.2f}")
        for lon, lat in points
    ]
    assert [(row["latitude"], row["longitude"]) for row in rows] == expected


def test_the_dictionary_describes_every_column_with_its_allowed_values(accounts):
    response = accounts["evaluator"].get("/api/v1/exports/dictionary.csv")
    assert response.status_code == 200
    entries = {row["name"]: row for row in read_csv(response)}
    assert set(entries) == {column.name for column in exports.COLUMNS}
    assert entries["housing"]["label"] == "Logement"
    for code in HOUSING:
        assert code in entries["housing"]["allowed_values"]
    for code in ACTIONS:
        assert code in entries["actions"]["allowed_values"]
    assert "|" in entries["actions"]["note"]
    assert entries["vulnerability_disability"]["allowed_values"] == "0 | 1"


def test_territories_geojson_hides_small_counts_for_an_institution(accounts, stored):
    response = accounts["institution"].get(
        "/api/v1/exports/territories.geojson?level=arrondissement"
    )
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    collection = response.get_json()
    assert collection["suppression"]["applied"] is True
    by_code = {f["properties"]["code"]: f for f in collection["features"]}
    lyon_2 = by_code["69382"]  # 3 reports: hidden, unless perturbed to 5 or more
    if lyon_2["properties"]["reports"] is None:
        assert lyon_2["properties"]["reports_display"] == "< 5"
    else:
        assert 5 <= lyon_2["properties"]["reports"] <= 3 + MOST
    assert lyon_2["geometry"]["type"] in ("Polygon", "MultiPolygon")
    coordinator = accounts["coordinator"].get(
        "/api/v1/exports/territories.geojson?level=arrondissement"
    )
    shown = {f["properties"]["code"]: f["properties"] for f in coordinator.get_json()["features"]}
    assert shown["69382"]["reports"] == 3


@pytest.mark.parametrize(
    ("role", "status"), [("agent", 403), ("partner_admin", 403), ("evaluator", 200)]
)
def test_territories_geojson_is_for_aggregate_readers(accounts, role, status):
    assert accounts[role].get("/api/v1/exports/territories.geojson").status_code == status


def test_the_exports_page_offers_the_filters_and_hands_over_to_the_api(app, client):
    with app.app_context():
        make_user("eval@example.org", "evaluator")
        db.session.commit()
    sign_in(client, "eval@example.org")
    page = client.get("/exports")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Télécharger le CSV" in text
    assert "Télécharger le GeoJSON" in text
    download = client.get("/exports/telecharger/reports?from=&territory=&dates=month&sep=comma")
    assert download.status_code == 302
    assert download.headers["Location"].startswith("/api/v1/exports/reports.csv?")
    assert "territory" not in download.headers["Location"]
    response = client.get(download.headers["Location"])
    assert response.status_code == 200
    assert header(response, ",")[0] == "report_pseudonym"
    assert client.get("/exports/dictionnaire").status_code == 200


def test_agents_have_no_exports_page(app, client):
    with app.app_context():
        make_user("agent@example.org", "agent")
        db.session.commit()
    sign_in(client, "agent@example.org")
    assert client.get("/exports").status_code == 403


def test_the_cli_exports_as_a_coordinator_with_a_progress_bar(app, runner, stored, tmp_path):
    out = tmp_path / "reports.csv"
    result = runner.invoke(args=["export", "reports", "--out", str(out)])
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.DictReader(file, delimiter=";"))
    assert [row["report_id"] for row in rows] == stored


def test_the_cli_exports_as_an_evaluator(app, runner, accounts, stored, tmp_path):
    out = tmp_path / "reports.csv"
    result = runner.invoke(
        args=[
            "export",
            "reports",
            "--out",
            str(out),
            "--as",
            "evaluator@example.org",
            "--territory",
            "69123",
            "--sep",
            "comma",
        ]
    )
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 3
    assert "notes" not in rows[0]
    with app.app_context():
        event = db.session.scalars(sa.select(AuditEvent)).one()
        assert event.details["rows"] == 3
        assert event.actor == "evaluator@example.org"
    args = ["export", "reports", "--out", str(out), "--as", "evaluator@example.org"]
    refused = runner.invoke(args=[*args, "--structure", str(accounts["agent"].structure_id)])
    assert refused.exit_code == 1
    assert "ne se filtre pas par structure" in refused.output


def test_the_cli_refuses_a_role_without_row_exports(runner, accounts, tmp_path):
    result = runner.invoke(
        args=["export", "reports", "--out", str(tmp_path / "x.csv"), "--as", "agent@example.org"]
    )
    assert result.exit_code != 0
    assert "n'exporte pas" in result.output


@pytest.mark.parametrize(
    ("role", "csv_form", "geojson_form"),
    [("coordinator", True, True), ("partner_admin", True, False), ("institution", False, True)],
)
def test_the_exports_page_shows_what_the_role_may_export(app, client, role, csv_form, geojson_form):
    with app.app_context():
        structure = make_structure("Structure P", "69123")
        make_user("someone@example.org", role, structure if role == "partner_admin" else None)
        db.session.commit()
    sign_in(client, "someone@example.org")
    text = client.get("/exports").get_data(as_text=True)
    assert ("Télécharger le CSV" in text) is csv_form
    assert ("Télécharger le GeoJSON" in text) is geojson_form


def test_a_pseudonymised_export_cannot_be_filtered_by_structure(accounts, stored):
    response = export(accounts, "evaluator", f"?structure={accounts['agent'].structure_id}")
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "structure"
    assert len(read_csv(export(accounts, "evaluator"))) == 3


def test_the_download_page_refuses_parameters_it_does_not_know(app, accounts):
    from .test_web_session import sign_in

    client = app.test_client()
    sign_in(client, "coordinator@example.org")
    response = client.get("/exports/telecharger/reports?_method=DELETE")
    assert response.status_code == 400
    assert "_method" in response.get_data(as_text=True)
    ok = client.get("/exports/telecharger/reports?sep=comma&from=2026-01-01&structure=")
    assert ok.status_code == 302 and "sep=comma" in ok.headers["Location"]
