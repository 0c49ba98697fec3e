"""The open-data package: indicators per commune and quarter as the public reads them, valid
against their own schema, small counts hidden with their reason, and the command that writes it.

Each report's record key is chosen, so that the cell-key perturbation is known: a key sum of
0 moves a small count to 1 (hidden), a sum in the middle of the table leaves a count as it is.
"""

import csv
import datetime as dt
import json

import frictionless
import pytest

from ohpunaises import opendata, tableschema
from ohpunaises.extensions import db
from ohpunaises.indicators import Period

from .conftest import make_report, make_structure

TODAY = dt.date(2026, 12, 3)
UNMOVED = 2000  # 12 records of this key sum to 24,000: no change in the perturbation table
LYON, VILLEURBANNE, BRON = "69123", "69266", "69029"


@pytest.fixture
def reports(app):
    """12 reports in Lyon in the second quarter of 2026, 2 in Villeurbanne (a small count),
    one in Lyon in the first quarter, one in the quarter under way (left out)."""
    with app.app_context():
        a = make_structure("Structure A", LYON)
        for day in range(1, 13):
            make_report(a, LYON, dt.date(2026, 5, day), record_key=UNMOVED, cost_total=100)
        for day in (3, 4):
            make_report(a, VILLEURBANNE, dt.date(2026, 6, day), record_key=0)
        make_report(a, LYON, dt.date(2026, 2, 10), record_key=0)
        make_report(a, LYON, dt.date(2026, 11, 20), record_key=UNMOVED)
        db.session.commit()


def read_rows(path) -> dict[tuple[str, str], dict]:
    with path.open(encoding="utf-8", newline="") as file:
        return {(row["code_insee"], row["trimestre"]): row for row in csv.DictReader(file)}


@pytest.fixture
def package(app, reports, tmp_path):
    with app.app_context():
        return opendata.write_package(tmp_path / "paquet", TODAY)


def test_quarters_run_from_the_first_reports_to_the_last_complete_one():
    periods = opendata.quarter_periods(dt.date(2025, 11, 20), TODAY)
    assert [opendata.quarter_name(p) for p in periods] == [
        "2025-T4",
        "2026-T1",
        "2026-T2",
        "2026-T3",
    ]
    assert periods[0] == Period(dt.date(2025, 10, 1), dt.date(2025, 12, 31))
    assert opendata.quarter_periods(dt.date(2026, 10, 1), dt.date(2026, 12, 31)) == []
    first_day = opendata.quarter_periods(dt.date(2026, 1, 1), dt.date(2026, 4, 1))
    assert [opendata.quarter_name(p) for p in first_day] == ["2026-T1"]


def test_the_package_holds_its_files_and_every_commune_of_every_complete_quarter(app, package):
    directory = package.directory
    assert sorted(package.files) == sorted(p.name for p in directory.iterdir())
    assert package.quarters == ["2026-T1", "2026-T2", "2026-T3"]
    rows = read_rows(directory / opendata.DATA_FILE)
    with app.app_context():
        communes = len(opendata.commune_rows(Period(dt.date(2026, 7, 1), dt.date(2026, 9, 30))))
    assert communes > 50
    assert len(rows) == package.rows == 3 * communes
    assert not any(quarter == "2026-T4" for _code, quarter in rows)
    raw = (directory / opendata.DATA_FILE).read_bytes()
    assert not raw.startswith("\ufeff".encode())
    assert raw.splitlines()[0].decode() == ",".join(c.name for c in tableschema.INDICATOR_COLUMNS)


def test_the_csv_and_the_example_validate_against_their_schemas_with_frictionless(package):
    directory = package.directory
    schema = json.loads((directory / opendata.SCHEMA_FILE).read_text(encoding="utf-8"))
    assert frictionless.validate(schema, type="schema").valid
    resource = frictionless.Resource(
        {
            "name": "indicateurs",
            "path": opendata.DATA_FILE,
            "format": "csv",
            "encoding": "utf-8",
            "schema": schema,
        },
        basepath=str(directory),
    )
    report = resource.validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    assert report.tasks[0].stats["rows"] == package.rows
    whole = frictionless.Package(str(directory / opendata.PACKAGE_FILE)).validate()
    assert whole.valid, whole.flatten(["rowNumber", "fieldName", "type", "note"])
    assert [task.name for task in whole.tasks] == ["indicateurs-communes", "exemple-valide"]


def test_a_small_count_is_empty_with_its_reason_as_on_the_public_pages(package):
    rows = read_rows(package.directory / opendata.DATA_FILE)
    small = rows[(VILLEURBANNE, "2026-T2")]  # 2 reports, moved to 1: hidden
    assert small["signalements"] == ""
    assert small["signalements_pour_10000_habitants"] == ""
    assert small["part_logement_social"] == ""
    assert small["motif_masquage"] == "secret statistique"
    hidden = small["valeurs_masquees"].split("|")
    assert {"signalements", "signalements_pour_10000_habitants", "part_logement_social"} <= set(
        hidden
    )
    assert all(small[name] == "" for name in hidden)
    single = rows[(LYON, "2026-T1")]  # 1 report
    assert single["signalements"] == "" and single["motif_masquage"] == "secret statistique"


def test_counts_large_enough_are_shown_with_their_rates(package):
    rows = read_rows(package.directory / opendata.DATA_FILE)
    lyon = rows[(LYON, "2026-T2")]
    assert lyon["signalements"] == "12"
    population = int(lyon["population"])
    assert lyon["signalements_pour_10000_habitants"] == f"{10_000 * 12 / population:.2f}"
    assert lyon["part_logement_social"] == "100.0"
    assert lyon["cout_moyen_intervention"] == "100.00"
    assert lyon["debut"] == "2026-04-01" and lyon["fin"] == "2026-06-30"
    assert lyon["commune"] == "Lyon"


def test_a_commune_without_reports_reads_zero_and_no_reason(package):
    bron = read_rows(package.directory / opendata.DATA_FILE)[(BRON, "2026-T2")]
    assert bron["signalements"] == "0"
    assert bron["signalements_pour_10000_habitants"] == "0.00"
    assert bron["part_menages_vulnerables"] == ""  # no report: no share to compute
    assert bron["motif_masquage"] == bron["valeurs_masquees"] == ""


def test_the_figures_are_those_the_public_reads(app, package):
    from ohpunaises.permissions import Actor
    from ohpunaises.usecases.indicators import read_indicators

    rows = read_rows(package.directory / opendata.DATA_FILE)
    with app.app_context():
        period = Period(dt.date(2026, 4, 1), dt.date(2026, 6, 30))
        public = read_indicators(Actor.public(), period, None, "commune", ids=["reports"])
    for row in public.indicator("reports").territories:
        shown = row.figure.value if not row.figure.suppressed else None
        cell = rows[(row.territory.code, "2026-T2")]["signalements"]
        assert cell == ("" if shown is None else str(shown))


def test_the_texts_say_what_how_and_under_which_licence(package):
    directory = package.directory
    readme = (directory / opendata.README_FILE).read_text(encoding="utf-8")
    for words in ("2026-T1", "2026-T3", "secret statistique", "motif_masquage", "LICENCE.md"):
        assert words in readme
    for column in tableschema.INDICATOR_COLUMNS:
        assert f"`{column.name}`" in readme
    changelog = (directory / opendata.CHANGELOG_FILE).read_text(encoding="utf-8")
    assert f"### {tableschema.INDICATORS_VERSION} (" in changelog
    licence = (directory / opendata.LICENCE_FILE).read_text(encoding="utf-8")
    assert tableschema.LICENCE["path"] in licence


def test_the_command_writes_the_package_and_reports_its_progress(runner, reports, tmp_path):
    out = tmp_path / "paquet"
    result = runner.invoke(args=["opendata", "package", "--out", str(out), "--date", "2026-12-03"])
    assert result.exit_code == 0, result.output
    assert "Trimestre 2026-T2 :" in result.stderr
    assert "Paquet écrit" in result.stdout and "2026-T1 à 2026-T3" in result.stdout
    assert (out / opendata.DATA_FILE).exists() and (out / opendata.SCHEMA_FILE).exists()


def test_the_command_refuses_when_no_quarter_is_complete(app, runner, tmp_path):
    with app.app_context():
        make_report(make_structure("Structure N", LYON), LYON, dt.date(2026, 11, 2))
        db.session.commit()
    out = tmp_path / "vide"
    result = runner.invoke(args=["opendata", "package", "--out", str(out), "--date", "2026-12-03"])
    assert result.exit_code == 1
    assert "Aucun trimestre complet" in result.output
    assert not out.exists()
    bad = runner.invoke(args=["opendata", "package", "--out", str(out), "--date", "03/12/2026"])
    assert bad.exit_code == 2
