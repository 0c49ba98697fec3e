"""The published schemas and the import templates: valid Table Schemas that the real exports
follow, versioned with their definitions, and templates the import reads without an error."""

import csv
import io

import frictionless
import openpyxl
import pytest

from ohpunaises import exports, tableschema
from ohpunaises.extensions import db
from ohpunaises.imports import fields
from ohpunaises.imports.places import PlaceIndex
from ohpunaises.imports.rows import Converter
from ohpunaises.models import Report, Structure
from ohpunaises.vocabulary import ACTIONS, HOUSING, INFESTATION_LEVELS, VULNERABILITIES
from ohpunaises.web.exports import XLSX_TYPE

from .conftest import make_structure, make_user
from .test_api_reports import BY_COMMUNE, SMALLEST
from .test_exports import FULL
from .test_web_session import sign_in

VARIED = [
    FULL,
    SMALLEST,
    BY_COMMUNE,
    {
        **FULL,
        "notes": '=SOMME(A1); dit "non"\nescalier B',
        "cost_total": 1000,
        "cost_household": 0.5,
        "status": "resolved",
        "resolved_on": "2026-04-02",
        "building_type": "individual",
        "household_size": 30,
        "confirmation": "canine_detection",
        "cost_payer": "shared",
        "vulnerabilities": list(VULNERABILITIES),
        "actions": list(ACTIONS),
    },
    {**SMALLEST, "intervention_date": "2019-05-06", "notes": "Ancien", "dwelling_ref": "A1"},
]


def frictionless_report(path, schema: dict, dialect: dict, encoding: str):
    """Frictionless's report on a local CSV, every descriptor given as a dict (no network)."""
    resource = frictionless.Resource(
        {
            "name": "export",
            "path": path.name,
            "format": "csv",
            "encoding": encoding,
            "dialect": dialect,
            "schema": schema,
        },
        basepath=str(path.parent),
    )
    return resource.validate()


def errors_of(report) -> list:
    return report.flatten(["rowNumber", "fieldName", "type", "note"])


@pytest.fixture
def stored(app, accounts, runner):
    """Reports of every shape: full, smallest, placed by commune, resolved with every
    vulnerability and action, and one old enough to be anonymised."""
    for body in VARIED:
        response = accounts["agent"].post("/api/v1/reports", json=body)
        assert response.status_code == 201, response.get_json()
    result = runner.invoke(args=["retention", "apply", "--older-than", "5y"])
    assert "1 signalement(s)" in result.output, result.output


# The schemas themselves -----------------------------------------------------------------------


@pytest.mark.parametrize("view", tableschema.VIEWS)
def test_each_view_has_a_valid_table_schema_of_its_export_columns(view):
    schema = tableschema.report_schema(view)
    assert frictionless.validate(schema, type="schema").valid
    frictionless.Schema.from_descriptor(schema)  # raises on an invalid descriptor
    role = "coordinator" if view == "full" else "evaluator"
    assert [f["name"] for f in schema["fields"]] == [c.name for c in exports.columns_for(role)]
    assert schema["primaryKey"] == [tableschema.PRIMARY_KEYS[view]]
    assert schema["licenses"][0]["name"] == "etalab-2.0"
    assert schema["version"] == tableschema.VERSION


def test_fields_carry_the_export_labels_types_and_allowed_values():
    by_name = {field["name"]: field for field in tableschema.report_schema("full")["fields"]}
    housing = by_name["housing"]
    assert housing["title"] == "Logement"
    assert housing["constraints"]["enum"] == list(HOUSING)
    assert housing["enumLabels"]["social"] == "Logement social"
    assert housing["constraints"]["required"] is True
    assert by_name["report_id"]["format"] == "uuid"
    assert by_name["latitude"]["decimalChar"] == ","
    assert by_name["vulnerability_disability"]["trueValues"] == ["1"]
    assert by_name["created_at"]["type"] == "datetime"
    assert "required" not in by_name["building_type"].get("constraints", {})
    assert "|" in by_name["actions"]["constraints"]["pattern"]
    assert by_name["notes"]["description"].startswith("Une note qui commence")


def test_every_column_the_schema_requires_is_never_null_in_the_database():
    table = Report.__table__
    for name in tableschema.ALWAYS_FILLED & set(table.c.keys()):
        assert table.c[name].nullable is False, name
    assert Structure.__table__.c["kind"].nullable is False  # structure_kind


def test_the_schema_is_french_whatever_the_readers_language(app, accounts):
    french = accounts["coordinator"].get("/api/v1/exports/schema.json").get_json()
    english = accounts["coordinator"].get(
        "/api/v1/exports/schema.json", headers={"Accept-Language": "en"}
    )
    assert english.get_json() == french


@pytest.mark.parametrize(
    ("schema", "changelog", "views"),
    [
        (tableschema.report_schema, tableschema.CHANGELOG, tableschema.VIEWS),
        (lambda _view: tableschema.indicators_schema(), tableschema.INDICATORS_CHANGELOG, None),
    ],
)
def test_the_last_changelog_entry_holds_the_current_definitions(schema, changelog, views):
    latest = changelog[-1]
    for view in views or ("indicators",):
        current = tableschema.fingerprint(schema(view))
        assert latest.fingerprints[view] == current, (
            f"The definitions of the {view} schema changed since version {latest.version}: "
            f"add a CHANGELOG entry in ohpunaises/tableschema.py with a new version, today's "
            f"date, what changed, and the fingerprint {current}."
        )
    versions = [change.version for change in changelog]
    assert versions == sorted(versions, key=lambda v: tuple(map(int, v.split("."))))
    assert len(set(versions)) == len(versions)


def test_a_changed_definition_changes_the_fingerprint():
    schema = tableschema.report_schema("full")
    changed = {
        **schema,
        "fields": [{**schema["fields"][0], "title": "Autre"}, *schema["fields"][1:]],
    }
    with_example = {**schema, "fields": [{**f, "example": "x"} for f in schema["fields"]]}
    assert tableschema.fingerprint(changed) != tableschema.fingerprint(schema)
    assert tableschema.fingerprint(with_example) == tableschema.fingerprint(schema)


@pytest.mark.parametrize("view", tableschema.VIEWS)
def test_the_example_rows_follow_the_schema(tmp_path, view):
    path = tmp_path / "exemple.csv"
    path.write_bytes(tableschema.example_csv(view))
    schema = tableschema.report_schema(view)
    report = frictionless_report(path, schema, tableschema.report_dialect(), "utf-8")
    assert report.valid, errors_of(report)
    assert report.tasks[0].stats["rows"] == len(tableschema.EXAMPLE_REPORTS)


def test_a_file_that_breaks_the_schema_is_refused(tmp_path):
    """The validation can fail: an unknown code and a negative cost are caught."""
    broken = tableschema.example_csv("full").replace(b";social;", b";sociale;", 1)
    path = tmp_path / "casse.csv"
    path.write_bytes(broken.replace(b"450,00", b"-450,00"))
    report = frictionless_report(
        path, tableschema.report_schema("full"), {"delimiter": ";"}, "utf-8"
    )
    assert {(error[1], error[2]) for error in errors_of(report)} == {
        ("housing", "constraint-error"),
        ("cost_total", "constraint-error"),
    }


# The schemas against real exports -------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "view"), [("coordinator", "full"), ("evaluator", "pseudonymised")]
)
def test_the_export_through_the_api_follows_the_schema_the_api_serves(
    accounts, stored, tmp_path, role, view
):
    response = accounts[role].get("/api/v1/exports/schema.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    schema = response.get_json()
    assert schema["name"] == tableschema.REPORT_NAMES[view]
    export = accounts[role].get("/api/v1/exports/reports.csv")
    assert export.status_code == 200
    path = tmp_path / "signalements.csv"
    path.write_bytes(export.get_data())
    report = frictionless_report(path, schema, {"delimiter": ";"}, "utf-8-sig")
    assert report.valid, errors_of(report)
    assert report.tasks[0].stats["rows"] == len(VARIED)


def test_any_view_may_be_asked_for_and_nothing_else(accounts):
    asked = accounts["evaluator"].get("/api/v1/exports/schema.json?view=full")
    assert asked.get_json()["primaryKey"] == ["report_id"]
    assert accounts["evaluator"].get("/api/v1/exports/schema.json?view=raw").status_code == 422
    assert accounts["anonymous"].get("/api/v1/exports/schema.json").status_code == 401
    assert accounts["agent"].get("/api/v1/exports/schema.json").status_code == 200


# Import templates -----------------------------------------------------------------------------


def template_lines(app, rows: list[list]) -> list:
    """The template's data lines as the import reads them (columns found by their headers)."""
    headers = [str(header) for header in rows[0]]
    with app.app_context():
        converter = Converter(headers, fields.guess_mapping(headers), {}, PlaceIndex.loaded())
        assert converter.missing() == []
        return [converter.line(number, cells) for number, cells in enumerate(rows[1:], 2)]


@pytest.fixture
def agent_client(app):
    with app.app_context():
        make_user("agent@example.org", "agent", make_structure("Structure T", "69123"))
        db.session.commit()
    client = app.test_client()
    sign_in(client, "agent@example.org")
    return client


def test_the_xlsx_template_has_labelled_columns_and_a_valid_example(app, agent_client):
    response = agent_client.get("/exports/modele.xlsx")
    assert response.status_code == 200
    assert response.mimetype == XLSX_TYPE
    assert "attachment" in response.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    assert book.sheetnames == ["Signalements", "Valeurs permises", "Mode d'emploi"]
    sheet = book["Signalements"]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0] == [str(field.label) for field in fields.template_fields()]
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].font.b
    (line,) = template_lines(app, rows)
    assert line.valid, line.errors
    assert line.data["commune"] == "69123"
    assert line.data["actions"] == ["diagnosis", "chemical_treatment"]
    assert line.data["infestation_level"] == "moderate"


def test_the_xlsx_template_lists_the_allowed_values_and_how_to_fill_each_column(agent_client):
    book = openpyxl.load_workbook(io.BytesIO(agent_client.get("/exports/modele.xlsx").get_data()))
    allowed = list(book["Valeurs permises"].iter_rows(values_only=True))
    assert allowed[0] == ("Colonne", "Code", "Libellé")
    assert ("Niveau d'infestation", "moderate", "Modérée") in allowed
    assert {code for column, code, _label in allowed if column == "Actions menées"} == set(ACTIONS)
    levels = {code for column, code, _label in allowed if column == "Niveau d'infestation"}
    assert levels == set(INFESTATION_LEVELS)
    guide = {row[0]: row for row in book["Mode d'emploi"].iter_rows(values_only=True)}
    assert guide["Date d'intervention"][1] == "oui"
    assert guide["Notes"][1] == "non"
    assert "Valeurs permises" in guide["Logement"][3]
    assert "JJ/MM/AAAA" in guide["Date d'intervention"][3]
    assert set(guide) >= {str(field.label) for field in fields.template_fields()}


def test_the_csv_template_is_utf8_with_a_bom_and_its_example_imports(app, agent_client):
    response = agent_client.get("/exports/modele.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == [str(field.label) for field in fields.template_fields()]
    assert len(rows) == 2
    (line,) = template_lines(app, rows)
    assert line.valid, line.errors
    assert line.data["housing"] == "social"
    assert line.data["cost_total"] == 450
    english = agent_client.get("/exports/modele.csv", headers={"Accept-Language": "en"})
    assert english.get_data() == body  # the import reads French headers and labels


@pytest.mark.parametrize(("role", "status"), [("agent", 200), ("institution", 403)])
def test_templates_are_for_those_who_enter_reports(app, role, status):
    with app.app_context():
        structure = make_structure("Structure R", "69123") if role == "agent" else None
        make_user("someone@example.org", role, structure)
        db.session.commit()
    client = app.test_client()
    sign_in(client, "someone@example.org")
    assert client.get("/exports/modele.xlsx").status_code == status
    assert client.get("/exports/modele.csv").status_code == status
    dictionary = client.get("/exports/dictionnaire").get_data(as_text=True)
    assert "/api/v1/exports/schema.json" in dictionary
    assert ("/exports/modele.xlsx" in dictionary) is (status == 200)


def test_the_exports_page_links_to_the_schema_and_the_templates(app, client):
    with app.app_context():
        make_user("coordinator@example.org", "coordinator")
        db.session.commit()
    sign_in(client, "coordinator@example.org")
    page = client.get("/exports").get_data(as_text=True)
    for link in ("/api/v1/exports/schema.json", "/exports/modele.xlsx", "/exports/modele.csv"):
        assert link in page
