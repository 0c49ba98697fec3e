"""Importing partners' spreadsheets through the API and the command line: a dry run first,
an error per line in the file's own words, then exactly the valid lines stored, once."""

import csv
import datetime as dt
import io
import uuid
from decimal import Decimal as euros
from random import Random

import openpyxl
import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from ohpunaises import jobs
from ohpunaises.extensions import db
from ohpunaises.imports.fields import CellError
from ohpunaises.imports.places import PlaceIndex
from ohpunaises.models import Report, ReportImport
from ohpunaises.vocabulary import (
    ACTIONS,
    BUILDING_TYPES,
    CONFIRMATIONS,
    COST_PAYERS,
    HOUSING,
    INFESTATION_LEVELS,
    STATUSES,
    VULNERABILITIES,
)

from .test_pipeline import inside

HEADER = "Date;Commune;Logement;Niveau;Actions menées;Référence logement;Coût total"
MESSY_LINES = [
    "Rapport des interventions 2025;;;;;;",
    ";;;;;;",
    HEADER,
    "03/02/2025;Vénissieux;Logement social;Modérée;Diagnostic | Traitement chimique;A-12;120,50",
    "2025-02-04;VENISSIEUX;social;Sévère;Aspiration;A-13;",
    "45700;Lyon 3e;Locatif privé;Faible;Diagnostic;B-1;80",
    "03/02/2025;Vénissieux;Logement social;Modérée;Diagnostic | Traitement chimique;A-12;120,50",
    "05/02/2025;Villeurbanne;Logement social;Modérée;Fumigation;C-2;",
    "06/02/2025;Paris;Logement social;Modérée;Diagnostic;D-1;",
    "31/02/2025;Bron;Logement social;Modérée;Diagnostic;E-1;",
]
MESSY = ("\r\n".join(MESSY_LINES) + "\r\n").encode("latin-1")


def send(client, body: bytes, filename="interventions.csv", **form):
    """Send a file, wait for its check, and return the import as the API shows it."""
    data = {"file": (io.BytesIO(body), filename), **form}
    response = client.post("/api/v1/imports", data=data, content_type="multipart/form-data")
    assert response.status_code == 202, response.get_json()
    assert jobs.drain()
    return read(client, response.get_json()["id"])


def read(client, import_id):
    response = client.get(f"/api/v1/imports/{import_id}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def commit(client, import_id, **body):
    response = client.post(f"/api/v1/imports/{import_id}/commit", json=body)
    assert jobs.drain()
    return response


def imported(app) -> list[Report]:
    with inside(app):
        query = (
            sa.select(Report).where(Report.source == "import").order_by(Report.intervention_date)
        )
        reports = db.session.scalars(query).all()
        return [
            (
                r.intervention_date,
                r.commune.code,
                r.arrondissement.code if r.arrondissement else None,
                r.housing,
                r.infestation_level,
                sorted(r.actions),
                r.cost_total,
            )
            for r in reports
        ]


def errors_by_line(body) -> dict[int, list[tuple[str, str]]]:
    found = {}
    for error in body["errors"]:
        found.setdefault(error["line"], []).append((error["column"], error["message"]))
    return found


def test_a_messy_latin1_file_is_checked_line_by_line_and_nothing_is_stored(app, accounts):
    body = send(accounts["partner_admin"], MESSY)
    assert body["status"] == "checked"
    assert "Windows-1252" in body["description"] or "Latin-1" in body["description"]
    assert "point-virgule" in body["description"]
    assert body["counts"] == {"rows": 7, "valid": 3, "invalid": 4, "already": 0, "conflicts": 0}
    errors = errors_by_line(body)
    assert sorted(errors) == [7, 8, 9, 10]
    assert errors[7] == [("", "Ligne en double : identique à la ligne 4.")]
    assert errors[8][0][0] == "Actions menées"
    assert errors[8][0][1].startswith("Valeur inconnue : « Fumigation » ; valeurs permises :")
    assert errors[9] == [("Commune", "Commune introuvable : « Paris ».")]
    assert body["unknown_words"] == {"actions": ["Fumigation"]}
    assert body["errors_total"] == len(body["errors"]) == 4
    assert errors[10][0][0] == "Date"
    assert errors[10][0][1].startswith("Date illisible : « 31/02/2025 »")
    assert imported(app) == []


def test_the_valid_lines_are_stored_only_when_asked_in_so_many_words(app, accounts):
    client = accounts["partner_admin"]
    body = send(client, MESSY)
    refused = commit(client, body["id"])
    assert refused.status_code == 422
    assert "importer les lignes valides" in refused.get_json()["errors"][0]["message"]
    assert imported(app) == []
    assert commit(client, body["id"], valid_only=True).status_code == 202
    done = read(client, body["id"])
    assert done["status"] == "imported"
    assert done["counts"]["stored"] == 3
    assert imported(app) == [
        (dt.date(2025, 2, 3), "69259", None, "social", "moderate",
         ["chemical_treatment", "diagnosis"], euros("120.50")),
        (dt.date(2025, 2, 4), "69259", None, "social", "severe", ["vacuuming"], None),
        (dt.date(2025, 2, 12), "69123", "69383", "private_rented", "low", ["diagnosis"],
         euros("80.00")),
    ]  # fmt: skip


def test_importing_the_same_file_again_stores_nothing(app, accounts):
    client = accounts["partner_admin"]
    first = send(client, MESSY)
    commit(client, first["id"], valid_only=True)
    again = send(client, MESSY)
    assert again["counts"] == {"rows": 7, "valid": 0, "invalid": 4, "already": 3, "conflicts": 0}
    refused = commit(client, again["id"], valid_only=True)
    assert refused.status_code == 422
    assert "Aucune ligne nouvelle" in refused.get_json()["errors"][0]["message"]
    assert len(imported(app)) == 3


def test_a_changed_line_is_a_conflict_and_replaces_nothing(app, accounts):
    client = accounts["partner_admin"]
    commit(client, send(client, MESSY)["id"], valid_only=True)
    changed = MESSY.replace(b"A-13;", b"A-13;95")
    body = send(client, changed)
    assert body["counts"]["conflicts"] == 1
    assert body["counts"]["already"] == 2
    (message,) = [m for c, m in errors_by_line(body)[5]]
    assert message.startswith("Déjà importée avec un autre contenu : rien n'est remplacé.")
    commit(client, body["id"], valid_only=True)
    assert [row[-1] for row in imported(app)][1] is None


def test_the_error_file_keeps_the_file_s_encoding_and_separator(accounts):
    client = accounts["partner_admin"]
    body = send(client, MESSY)
    response = client.get(f"/api/v1/imports/{body['id']}/errors.csv")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].endswith('interventions-erreurs.csv"')
    rows = list(csv.reader(io.StringIO(response.data.decode("cp1252")), delimiter=";"))
    assert rows[0] == [*HEADER.split(";"), "erreur"]
    assert [row[1] for row in rows[1:]] == ["Vénissieux", "Villeurbanne", "Paris", "Bron"]
    assert rows[3][-1] == "Ligne 9 · Commune : Commune introuvable : « Paris »."


def xlsx(rows) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Interventions"
    for row in rows:
        sheet.append(row)
    sheet.merge_cells("A1:F1")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_an_xlsx_with_a_merged_title_points_and_excel_dates_is_read(app, accounts):
    client = accounts["partner_admin"]
    body = send(
        client,
        xlsx(
            [
                ["Bailleur X — interventions du trimestre"],
                [],
                ["Longitude", "Latitude", "Type de logement", "Niveau d'infestation",
                 "Actions", "Date d'intervention"],
                [4.8320, 45.7578, "Logement social", "modérée", "Diagnostic",
                 dt.datetime(2025, 3, 4)],
                [2.3522, 48.8566, "Logement social", "Faible", "Diagnostic", 45720],
                [4.8790, 45.7700, "social", "severe", "diagnosis; heat_treatment", "2025-03-06"],
            ]
        ),
        filename="export-bailleur.xlsx",
    )  # fmt: skip
    assert "XLSX" in body["description"] and "ligne 3" in body["description"]
    assert body["counts"] == {"rows": 3, "valid": 2, "invalid": 1, "already": 0, "conflicts": 0}
    assert errors_by_line(body) == {
        5: [("Latitude", "Ce point est hors du périmètre du programme.")]
    }
    assert sorted(state for _lon, _lat, state in body["preview"]) == ["outside", "valid", "valid"]
    commit(client, body["id"], valid_only=True)
    rows = imported(app)
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (dt.date(2025, 3, 4), "69123", "69382"),
        (dt.date(2025, 3, 6), "69266", None),
    ]
    assert rows[1][5] == ["diagnosis", "heat_treatment"]


OWN_WORDS = (
    "Jour;Code INSEE;Type;Constat;Actions\r\n"
    "12/03/2025;69266;Logement social;Punaises confirmées;Diagnostic\r\n"
    "13/03/2025;69266;Locatif privé;Suspicion;Diagnostic\r\n"
).encode()


def test_a_mapping_saved_by_name_reads_the_next_file_of_the_same_kind(app, accounts):
    client = accounts["partner_admin"]
    first = send(client, OWN_WORDS)
    assert first["columns"]["Code INSEE"] == "commune"
    assert first["columns"]["Jour"] == "" and first["counts"]["invalid"] == 2
    mapping = {
        "columns": {"Jour": "intervention_date", "Type": "housing", "Constat": "infestation_level"},
        "values": {"infestation_level": {"Punaises confirmées": "moderate"}},
        "save_as": "Logiciel Z",
    }
    response = client.request("PUT", f"/api/v1/imports/{first['id']}/mapping", json=mapping)
    assert response.status_code == 202, response.get_json()
    assert jobs.drain()
    assert read(client, first["id"])["counts"]["valid"] == 2
    second = send(client, OWN_WORDS.replace(b"12/03", b"14/03"), mapping="Logiciel Z")
    assert (second["counts"]["valid"], second["counts"]["invalid"]) == (2, 0)
    assert commit(client, second["id"]).status_code == 202
    assert [r[4] for r in imported(app)] == ["suspected", "moderate"]


def test_a_wrong_mapping_is_refused_with_its_reasons(accounts):
    client = accounts["partner_admin"]
    body = send(client, OWN_WORDS)
    wrong = {"columns": {"Jour": "birthday"}, "values": {"housing": {"x": "castle"}}}
    response = client.request("PUT", f"/api/v1/imports/{body['id']}/mapping", json=wrong)
    assert response.status_code == 422
    messages = {e["field"]: e["message"] for e in response.get_json()["errors"]}
    assert messages == {
        "columns.Jour": "Champ inconnu : birthday.",
        "values.housing": "Codes inconnus : castle.",
    }


ORACLE_HEADER = (
    "Date;Latitude;Longitude;Commune;Logement;Type d'habitat;Taille du ménage;Vulnérabilités;"
    "Niveau;Confirmation;Actions;Coût total;Payeur;Reste à charge;Statut;Date de résolution;"
    "Référence du logement;Notes"
)
UNCOMPARED = {"id", "structure_id", "author_id", "source", "payload_hash", "record_key"}
UNCOMPARED |= {"created_at", "updated_at", "version", "location", "dwelling_key"}


def oracle_line(random, i: int) -> tuple[str, dict]:
    """One random intervention, as a partner's file line and as the API's JSON."""
    day = dt.date(2025, 1, 1) + dt.timedelta(days=random.randrange(300))
    report = {
        "intervention_date": day.isoformat(),
        "housing": random.choice(list(HOUSING)),
        "infestation_level": random.choice(list(INFESTATION_LEVELS)),
        "actions": random.sample(list(ACTIONS), random.randint(1, 3)),
        "status": random.choice(list(STATUSES)),
        "dwelling_ref": f"Lot {i}",
    }
    if random.random() < 0.5:
        lat, lon = round(45.70 + random.random() * 0.12, 5), round(4.80 + random.random() * 0.14, 5)
        report["location"] = {"type": "Point", "coordinates": [lon, lat]}
        place = [f"{lat}".replace(".", ","), f"{lon}".replace(".", ","), ""]
    else:
        report["commune"] = random.choice(["69123", "69381", "69266", "69259", "69029"])
        place = ["", "", report["commune"]]
    optional = {
        "building_type": random.choice([None, *BUILDING_TYPES]),
        "household_size": random.choice([None, 1, 4, 7]),
        "vulnerabilities": random.choice([None, [], random.sample(list(VULNERABILITIES), 2)]),
        "confirmation": random.choice([None, *CONFIRMATIONS]),
        "cost_total": random.choice([None, 80.5, 1200.0]),
        "cost_payer": random.choice([None, *COST_PAYERS]),
        "notes": random.choice([None, "Voisins prévenus"]),
    }
    if optional["cost_total"]:
        optional["cost_household"] = random.choice([None, 0.0, 20.25])
    if report["status"] == "resolved":
        report["resolved_on"] = (day + dt.timedelta(days=random.randrange(30))).isoformat()
    report.update({k: v for k, v in optional.items() if v is not None})

    def label(vocabulary, code):
        return str(vocabulary[code]) if code else ""

    def money(value):
        return "" if value is None else f"{value:.2f}".replace(".", ",")

    cells = [
        day.strftime("%d/%m/%Y"),
        *place,
        label(HOUSING, report["housing"]),
        label(BUILDING_TYPES, report.get("building_type")),
        str(report.get("household_size") or ""),
        " | ".join(str(VULNERABILITIES[v]) for v in report.get("vulnerabilities") or []),
        label(INFESTATION_LEVELS, report["infestation_level"]),
        report.get("confirmation") or "",
        " | ".join(report["actions"]),
        money(report.get("cost_total")),
        label(COST_PAYERS, report.get("cost_payer")),
        money(report.get("cost_household")),
        report["status"],
        report.get("resolved_on", ""),
        report["dwelling_ref"],
        report.get("notes", ""),
    ]
    return ";".join(cells), report


def test_imported_lines_are_the_reports_the_api_would_store(app, accounts):
    """The import's set-based path against POST /api/v1/reports line by line (the oracle), on
    random interventions that fill every field a report has."""
    random = Random(18)
    lines, reports = [ORACLE_HEADER], []
    for i in range(120):
        line, report = oracle_line(random, i)
        lines.append(line)
        reports.append(report)
    body = send(accounts["partner_admin"], "\n".join(lines).encode())
    commit(accounts["partner_admin"], body["id"], valid_only=True)
    statuses = [accounts["agent_b"].post("/api/v1/reports", json=r).status_code for r in reports]
    assert set(statuses) <= {201, 422} and statuses.count(201) > 60
    assert body["counts"]["valid"] == statuses.count(201), body["errors"][:5]
    with inside(app):
        columns = [c for c in Report.__table__.columns if c.name not in UNCOMPARED]

        def stored(source):
            query = (
                sa.select(Report, sa.func.ST_AsText(Report.location), *columns)
                .where(Report.source == source)
                .order_by(Report.intervention_date, Report.dwelling_key.is_(None))
            )
            return sorted(
                (
                    tuple(str(value) for value in row[1:]),
                    row[0].dwelling_key is not None,
                    sorted(row[0].actions),
                    [(h.status, h.resolved_on) for h in row[0].history],
                )
                for row in db.session.execute(query)
            )

        by_import, by_api = stored("import"), stored("api")
    assert by_import == by_api


def test_the_command_line_checks_then_imports(app, runner, tmp_path):
    with inside(app):
        from .conftest import make_structure

        structure = make_structure("Bailleur C", "69259", "social_landlord")
        db.session.commit()
        structure_id = structure.id
    path = tmp_path / "interventions.csv"
    path.write_bytes(MESSY)
    command = ["import", "reports", str(path), "--structure", str(structure_id)]
    result = runner.invoke(args=[*command, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "7 ligne(s) : 3 à importer, 4 en erreur, 0 déjà importée(s), 0 en conflit." in (
        result.output
    )
    assert "ligne 9, Commune : Commune introuvable : « Paris »." in result.output
    assert imported(app) == []
    refused = runner.invoke(args=command)  # checked and stored in one pass, then undone
    assert refused.exit_code == 1
    assert "importer les lignes valides" in refused.output
    assert imported(app) == []
    result = runner.invoke(args=[*command, "--valid-only"])
    assert result.exit_code == 0, result.output
    assert "3 signalement(s) importé(s)." in result.output
    again = runner.invoke(args=[*command, "--valid-only"])
    assert again.exit_code == 0, again.output
    assert "3 déjà importée(s)" in again.output
    assert "Aucune ligne nouvelle à importer." in again.output
    assert len(imported(app)) == 3


def test_only_partner_admins_and_coordinators_import_for_their_structures(app, accounts):
    assert accounts["agent"].get("/api/v1/imports").status_code == 403
    data = {"file": (io.BytesIO(MESSY), "x.csv")}
    response = accounts["agent"].post("/api/v1/imports", data=data)
    assert response.status_code == 403
    other = accounts["agent_b"].structure_id
    data = {"file": (io.BytesIO(MESSY), "x.csv"), "structure_id": str(other)}
    response = accounts["partner_admin"].post("/api/v1/imports", data=data)
    assert response.status_code == 422
    assert response.get_json()["errors"] == [
        {"field": "structure_id", "message": "Structure inconnue."}
    ]
    theirs = send(accounts["coordinator"], MESSY, structure_id=str(other))
    assert accounts["partner_admin"].get(f"/api/v1/imports/{theirs['id']}").status_code == 404
    assert accounts["coordinator"].get(f"/api/v1/imports/{uuid.uuid4()}").status_code == 404


def test_a_file_over_the_limit_is_refused_before_it_is_read(make_app):
    app = make_app(OHPUNAISES_IMPORT_MAX_MB="1")
    with app.app_context():
        from .conftest import make_user

        user = make_user("admin-x@example.org", "coordinator")
        from ohpunaises.auth import issue_token

        token = issue_token(user)[0]
        db.session.commit()
    client = app.test_client()
    big = b"Date;Commune\n" + b"01/01/2025;69123\n" * 70_000
    # Encoded here, in memory: the test client would spool a large body to a temporary file
    # that a refused request leaves open.
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(big), "big.csv")})
    response = client.post(
        "/api/v1/imports",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 413
    assert "taille" in response.get_json()["detail"]


def test_an_unreadable_file_is_refused_in_french(accounts):
    data = {"file": (io.BytesIO(b"\xd0\xcf\x11\xe0" + b"\x00" * 600), "old.xls")}
    response = accounts["partner_admin"].post("/api/v1/imports", data=data)
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "file"
    assert "XLSX" in response.get_json()["errors"][0]["message"]


# Places ----------------------------------------------------------------------------------------

INDEX = PlaceIndex(
    [
        ("69123", "Lyon", "commune", None),
        ("69383", "Lyon 3e Arrondissement", "arrondissement", "69123"),
        ("69204", "Saint-Didier", "commune", None),
        ("01340", "Saint-Didier", "commune", None),
        ("69290", "Saint-Priest", "commune", None),
    ],
    {"69003": ["69123", "69383"], "69800": ["69290"], "69370": ["69204"]},
)


@pytest.mark.parametrize(
    ("commune", "postcode", "code"),
    [
        ("ST PRIEST", None, "69290"),
        ("saint-priest", None, "69290"),
        ("Lyon 3", None, "69383"),
        ("Lyon 03", None, "69383"),
        ("LYON 3EME", None, "69383"),
        (None, "69003", "69383"),
        ("Saint-Didier", "69370", "69204"),
        ("69204", None, "69204"),
    ],
)
def test_a_commune_is_found_however_it_is_written(commune, postcode, code):
    assert INDEX.resolve(commune, postcode) == code


def test_an_ambiguous_name_is_refused_with_its_candidates():
    with pytest.raises(CellError) as refused:
        INDEX.resolve("Saint-Didier", None)
    assert str(refused.value) == (
        "Nom de commune ambigu : « Saint-Didier » ; précisez le code INSEE parmi "
        "Saint-Didier (01340), Saint-Didier (69204)."
    )


def test_a_structure_s_imports_are_listed_for_its_admin(accounts):
    client = accounts["partner_admin"]
    send(client, MESSY)
    listed = client.get("/api/v1/imports").get_json()
    assert [(i["filename"], i["status"]) for i in listed] == [("interventions.csv", "checked")]
    assert listed[0]["structure_id"] == client.structure_id


def test_vulnerabilities_come_as_a_list_or_as_a_yes_no_column_each(app, accounts):
    client = accounts["partner_admin"]
    body = send(
        client,
        (
            "Date;Commune;Logement;Niveau;Actions;Minima sociaux;Vulnérabilités\n"
            "01/03/2025;69266;social;Faible;Diagnostic;oui;Handicap | Jeunes enfants\n"
            "02/03/2025;69266;social;Faible;Diagnostic;non;\n"
            "03/03/2025;69266;social;Faible;Diagnostic;peut-être;\n"
        ).encode(),
    )
    assert errors_by_line(body) == {4: [("Minima sociaux", "Oui ou non attendu : « peut-être ».")]}
    commit(client, body["id"], valid_only=True)
    with inside(app):
        flags = db.session.execute(
            sa.select(
                Report.vuln_minimum_benefits, Report.vuln_disability, Report.vuln_young_children
            ).order_by(Report.intervention_date)
        ).all()
    assert [tuple(row) for row in flags] == [(True, True, True), (False, False, False)]


def test_the_api_lists_the_first_thousand_errors_and_the_error_file_all(accounts):
    client = accounts["partner_admin"]
    lines = ["Date;Commune;Logement;Niveau;Actions"]
    lines += [f"{day}/13/2025;69266;social;Faible;Diagnostic" for day in range(1, 29)] * 45
    body = send(client, "\n".join(lines).encode())
    assert body["counts"]["invalid"] == body["errors_total"] == 1260
    assert len(body["errors"]) == 1000
    response = client.get(f"/api/v1/imports/{body['id']}/errors.csv")
    assert len(response.data.decode().splitlines()) == 1 + 1260


def test_a_mapping_cannot_give_a_field_twice_nor_change_while_the_check_runs(app, accounts):
    client = accounts["partner_admin"]
    body = send(client, OWN_WORDS)
    twice = {"columns": {"Jour": "commune"}}  # "Code INSEE" already gives the commune
    response = client.request("PUT", f"/api/v1/imports/{body['id']}/mapping", json=twice)
    assert response.status_code == 422
    assert response.get_json()["errors"] == [
        {"field": "commune", "message": "Ce champ est donné par plusieurs colonnes."}
    ]
    with inside(app):
        db.session.get(ReportImport, uuid.UUID(body["id"])).status = "checking"
        db.session.commit()
    later = {"columns": {"Jour": "intervention_date"}}
    response = client.request("PUT", f"/api/v1/imports/{body['id']}/mapping", json=later)
    assert response.status_code == 409
    assert (
        response.get_json()["detail"] == "La vérification est en cours : attendez qu'elle finisse."
    )


def test_the_command_line_imports_a_clean_file_in_one_pass(app, runner, tmp_path):
    with inside(app):
        from .conftest import make_structure

        structure_id = make_structure("Bailleur D", "69266", "social_landlord").id
        db.session.commit()
    path = tmp_path / "propre.csv"
    path.write_bytes(OWN_WORDS.replace(b"Punaises confirm\xc3\xa9es", b"Mod\xc3\xa9r\xc3\xa9e"))
    command = ["import", "reports", str(path), "--structure", str(structure_id)]
    result = runner.invoke(args=[*command, "--mapping", "absente"])
    assert result.exit_code == 1
    assert "Correspondance inconnue : « absente »." in result.output
    result = runner.invoke(args=command)
    assert result.exit_code == 1  # "Jour", "Type", "Constat": no date, housing or level column
    assert "Colonne manquante" in result.output
    path.write_bytes(
        "Date;Code INSEE;Logement;Niveau;Actions\n"
        "12/03/2025;69266;Logement social;Modérée;Diagnostic\n"
        "13/03/2025;69266;Locatif privé;Suspicion;Diagnostic\n".encode()
    )
    result = runner.invoke(args=command)
    assert result.exit_code == 0, result.output
    assert "2 signalement(s) importé(s)." in result.output
    with inside(app):
        job = db.session.scalars(sa.select(ReportImport).order_by(ReportImport.created_at)).all()[
            -1
        ]
        assert (job.status, job.counts["stored"]) == ("imported", 2)
    assert len(imported(app)) == 2
