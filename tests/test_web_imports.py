"""Importing a spreadsheet in the browser (/imports), without JavaScript: the file sent through
the form, its check read on its page, the mapping corrected, then the import confirmed."""

import io
import re

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from ohpunaises import jobs
from ohpunaises.extensions import db
from ohpunaises.models import Report, ReportImport, Structure

from .conftest import make_structure, make_user, signed_in_client
from .test_people import csrf_of, send_form, text_of
from .test_pipeline import inside

HEADER = "Date;Commune;Type de logement;Niveau;Actions;Latitude;Longitude"
GOOD_LINES = [
    "03/02/2025;Vénissieux;Logement social;Modérée;Diagnostic;;",
    "04/02/2025;;Locatif privé;Sévère;Aspiration;45,7640;4,8357",
    "05/02/2025;69383;Logement social;Faible;Diagnostic | Traitement chimique;;",
]
BAD_LINE = "06/02/2025;Bron;Logement social;Punaises confirmées;Diagnostic;;"


def latin1_csv(*lines: str) -> bytes:
    return ("\r\n".join([HEADER, *lines]) + "\r\n").encode("latin-1")


@pytest.fixture
def web(app, accounts):
    """web(key): a client signed in by its session cookie as the `accounts` user of that key."""

    def signed_in(key):
        return signed_in_client(app, accounts[key].user_id)

    return signed_in


def send_file(client, body: bytes, filename="interventions.csv", **form):
    """Send a file through the form of /imports with its CSRF token."""
    token = csrf_of(text_of(client.get("/imports")))
    return post_multipart(client, {"file": FileStorage(io.BytesIO(body), filename)}, token, **form)


def post_multipart(client, files: dict, token: str | None, **form):
    """POST a multipart body encoded in memory (the test client's own encoding spools a large
    one to a temporary file it never closes)."""
    fields = {**files, **form, **({"csrf_token": token} if token else {})}
    boundary, body = encode_multipart(fields)
    content_type = f"multipart/form-data; boundary={boundary}"
    return client.post("/imports", data=body, content_type=content_type)


def checked_page(client, body: bytes, **form) -> tuple[str, str]:
    """Send a file, wait for its check: (the import's address, its page)."""
    response = send_file(client, body, **form)
    assert response.status_code == 303, text_of(response)
    address = response.headers["Location"]
    assert jobs.drain()
    page = client.get(address)
    assert page.status_code == 200
    return address, text_of(page)


def confirm(client, address: str, page: str, **form):
    """Press the import button of the page, and wait for the import."""
    response = client.post(f"{address}/importer", data={"csrf_token": csrf_of(page), **form})
    assert jobs.drain()
    return response


def imported(app) -> list[tuple]:
    with inside(app):
        query = sa.select(Report.intervention_date, Report.infestation_level).where(
            Report.source == "import"
        )
        return sorted((day.isoformat(), level) for day, level in db.session.execute(query))


def error_rows(page: str) -> list[tuple[str, str, str]]:
    """(line, column, message) of the errors table, as the page shows them."""
    table = page.split('class="stacked import-errors"', 1)[1]
    body = table.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    cells = [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S) for row in rows]
    return [tuple(_cell_text(cell) for cell in row) for row in cells]


def _cell_text(cell: str) -> str:
    """A cell's text, without its tags nor the column name written in it for phones."""
    return re.sub(r"<[^>]+>", "", cell.split("</span>", 1)[-1]).strip()


def test_a_partner_admin_reads_the_check_of_a_latin1_file_with_its_error_line(app, web):
    client = web("partner_admin")
    form = text_of(client.get("/imports"))
    assert 'enctype="multipart/form-data"' in form
    assert 'accept=".csv,.xlsx' in form
    assert "rien n'est enregistré avant que vous confirmiez" in form
    assert 'href="/exports/modele.xlsx"' in form and 'href="/exports/modele.csv"' in form
    assert [client.get(f"/exports/modele.{kind}").status_code for kind in ("xlsx", "csv")] == [
        200,
        200,
    ]
    assert "Taille maximale : 50 Mo." in form
    assert 'name="structure_id"' not in form  # theirs, without asking
    assert "Structure : Structure A" in form

    address, page = checked_page(client, latin1_csv(*GOOD_LINES, BAD_LINE))
    assert re.fullmatch(r"/imports/[0-9a-f-]{36}", address)
    assert "Windows-1252" in page or "Latin-1" in page
    assert "point-virgule" in page
    assert "4 lignes : 3 à importer, 1 en erreur, 0 déjà importée(s), 0 en conflit" in page
    ((line, column, message),) = error_rows(page)
    assert (line, column) == ("5", "Niveau")
    assert message.startswith("Valeur inconnue : « Punaises confirmées » ; valeurs permises :")
    assert "1 ligne en erreur : corrigez le fichier et renvoyez-le, ou importez seulement" in page
    assert ">Importer les lignes valides</button>" in page
    assert 'name="valid_only" value="1"' in page
    assert 'http-equiv="refresh"' not in page  # checked: nothing left to wait for
    assert imported(app) == []
    listed = text_of(client.get("/imports"))
    assert address in listed and "interventions.csv" in listed
    assert "Vérifié : en attente de votre confirmation" in listed


def test_the_page_refreshes_itself_while_the_file_is_checked(app, web):
    client = web("partner_admin")
    response = send_file(client, latin1_csv(*GOOD_LINES))
    address = response.headers["Location"]
    assert jobs.drain()
    with inside(app):
        job = db.session.scalar(sa.select(ReportImport))
        job.status, job.rows_done, job.rows_total = "importing", 2, 3
        db.session.commit()
    page = text_of(client.get(address))
    assert f'<meta http-equiv="refresh" content="2; url={address}">' in page
    assert '<progress id="import-progress" max="3" value="2"' in page
    assert "2 lignes sur 3" in page
    assert "<script" not in page.split("</main>")[0].split("<main", 1)[1]


def test_the_first_errors_are_listed_and_the_others_counted(app, web):
    client = web("partner_admin")
    wrong = [
        f"{day % 28 + 1:02d}/01/2025;Bron;Logement social;Énorme;Diagnostic;;" for day in range(205)
    ]
    _address, page = checked_page(client, latin1_csv(*GOOD_LINES, *wrong))
    assert "208 lignes : 3 à importer, 205 en erreur" in page
    rows = error_rows(page)
    assert len(rows) == 200
    assert [line for line, _column, _message in rows[:3]] == ["5", "6", "7"]
    assert "Et 5 autres erreurs : toutes sont dans le fichier des lignes en erreur." in page
    assert "« Énorme » dans la colonne « Niveau »" in page  # one row for the one unknown word
    assert page.count('name="value_text"') == 1


def test_a_failed_check_says_why(app, web):
    client = web("partner_admin")
    response = send_file(client, latin1_csv(*GOOD_LINES))
    assert jobs.drain()
    with inside(app):
        job = db.session.scalar(sa.select(ReportImport))
        job.status, job.failure = "failed", "Échec de la lecture : fichier tronqué"
        db.session.commit()
    page = text_of(client.get(response.headers["Location"]))
    assert "Échec de la lecture : fichier tronqué" in page
    assert "Importer les" not in page and 'http-equiv="refresh"' not in page


def test_the_lines_in_error_download_as_csv_in_the_files_own_encoding(app, web):
    client = web("partner_admin")
    address, page = checked_page(client, latin1_csv(*GOOD_LINES, BAD_LINE))
    assert f'href="{address}/erreurs.csv"' in page
    assert "Télécharger les lignes en erreur (CSV)" in page
    response = client.get(f"{address}/erreurs.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert 'filename="interventions-erreurs.csv"' in response.headers["Content-Disposition"]
    lines = response.get_data().decode("latin-1").splitlines()
    assert lines[0].startswith(HEADER)
    assert [line for line in lines[1:] if line] and all("Bron" in line for line in lines[1:])
    assert "Punaises confirmées" in lines[1] and "Valeur inconnue" in lines[1]


def test_importing_the_valid_lines_stores_exactly_those(app, web):
    client = web("partner_admin")
    address, page = checked_page(client, latin1_csv(*GOOD_LINES, BAD_LINE))
    plain = confirm(client, address, page)  # without saying "the valid lines"
    assert plain.status_code == 422
    assert "importer les lignes valides" in text_of(plain)
    assert imported(app) == []

    response = confirm(client, address, page, valid_only="1")
    assert response.status_code == 303
    done = text_of(client.get(address))
    assert "3 signalements importés" in done
    assert "1 ligne en erreur n'est pas importée." in done
    assert 'href="/mes-signalements"' in done
    assert imported(app) == [
        ("2025-02-03", "moderate"),
        ("2025-02-04", "severe"),
        ("2025-02-05", "low"),
    ]
    assert "3 signalements importés" in text_of(client.get("/imports"))


def test_a_clean_file_imports_with_the_plain_button_and_only_once(app, web):
    client = web("partner_admin")
    address, page = checked_page(client, latin1_csv(*GOOD_LINES))
    assert "3 lignes : 3 à importer, 0 en erreur" in page
    assert ">Importer les 3 lignes</button>" in page
    assert "valid_only" not in page
    assert "Lignes en erreur" not in page
    assert confirm(client, address, page).status_code == 303
    assert "3 signalements importés" in text_of(client.get(address))
    assert len(imported(app)) == 3

    _again, page = checked_page(client, latin1_csv(*GOOD_LINES))
    assert "3 lignes : 0 à importer, 0 en erreur, 3 déjà importée(s)" in page
    assert "Aucune ligne nouvelle à importer." in page
    assert "Importer les" not in page
    assert len(imported(app)) == 3


def test_the_map_shows_the_located_lines_over_the_communes(app, web):
    client = web("partner_admin")
    outside = "07/02/2025;;Logement social;Faible;Diagnostic;48,8566;2,3522"  # Paris
    _address, page = checked_page(client, latin1_csv(*GOOD_LINES, outside))
    svg = page.split('<svg class="import-map"', 1)[1].split("</svg>", 1)[0]
    assert 'role="img"' in svg
    assert svg.count("<path") > 50  # the communes of the Métropole
    assert svg.count('fill="#1d6b37"') == 1  # the one located line to import
    legend = page.split('class="import-legend"', 1)[1].split("</ul>", 1)[0]
    assert "à importer (1)" in legend
    assert "hors du programme (1)" in legend
    assert "1 point est hors du cadre de la carte." in page


def test_an_unknown_word_mapped_to_a_value_clears_its_error(app, web):
    client = web("partner_admin")
    address, page = checked_page(client, latin1_csv(*GOOD_LINES, BAD_LINE))
    assert "« Punaises confirmées » dans la colonne « Niveau »" in page
    headers = re.findall(r'name="header" value="([^"]*)"', page)
    assert headers == HEADER.split(";")
    chosen = re.findall(r'<option value="([a-z_]+)" selected>', page)
    form = {
        "header": headers,
        "field": chosen[: len(headers)],
        "value_field": ["infestation_level"],
        "value_text": ["Punaises confirmées"],
        "value_code": ["severe"],
        "save_as": "Tableau du bailleur",
    }
    assert form["field"] == [
        "intervention_date",
        "commune",
        "housing",
        "infestation_level",
        "actions",
        "latitude",
        "longitude",
    ]
    response = send_form(client, f"{address}/correspondance", form, page=address)
    assert response.status_code == 303
    assert jobs.drain()
    page = text_of(client.get(address))
    assert "4 lignes : 4 à importer, 0 en erreur" in page
    assert ">Importer les 4 lignes</button>" in page
    assert "Tableau du bailleur" in page
    sending = text_of(client.get("/imports"))
    assert '<option value="Tableau du bailleur">Tableau du bailleur</option>' in sending


def test_a_mapping_giving_one_field_twice_is_refused_in_words(app, web):
    client = web("partner_admin")
    address, _page = checked_page(client, latin1_csv(*GOOD_LINES))
    headers = HEADER.split(";")
    fields = ["intervention_date", "commune", "housing", "housing", "actions", "", ""]
    form = {"header": headers, "field": fields}
    response = send_form(client, f"{address}/correspondance", form, page=address)
    assert response.status_code == 422
    refused = text_of(response)
    assert "La correspondance n'a pas été appliquée" in refused
    assert "Ce champ est donné par plusieurs colonnes." in refused
    assert "3 lignes : 3 à importer" in text_of(client.get(address))  # unchanged


def test_a_coordinator_chooses_the_structure_the_file_belongs_to(app, web, accounts):
    client = web("coordinator")
    form = text_of(client.get("/imports"))
    assert '<select id="f-structure_id" name="structure_id" required' in form
    assert ">Structure A</option>" in form and ">Structure B</option>" in form
    missing = send_file(client, latin1_csv(*GOOD_LINES))
    assert missing.status_code == 422
    assert "Choisissez la structure." in text_of(missing)
    with inside(app):
        b = db.session.scalar(sa.select(Structure.id).where(Structure.name == "Structure B"))
    _address, page = checked_page(client, latin1_csv(*GOOD_LINES), structure_id=str(b))
    assert "Structure B" in page
    with inside(app):
        assert db.session.scalar(sa.select(ReportImport.structure_id)) == b


def test_an_agent_may_not_open_the_imports(app, web):
    client = web("agent")
    assert client.get("/imports").status_code == 403
    token = csrf_of(text_of(client.get("/mes-signalements")))
    upload = {"file": FileStorage(io.BytesIO(latin1_csv(*GOOD_LINES)), "a.csv")}
    assert post_multipart(client, upload, token).status_code == 403
    assert "Importer un tableur" not in text_of(client.get("/mes-signalements"))


def test_the_reports_and_exports_pages_link_to_the_import_for_those_who_may(app, web):
    admin = text_of(web("partner_admin").get("/mes-signalements"))
    assert '<a href="/imports">Importer un tableur</a>' in admin
    coordinator = text_of(web("coordinator").get("/exports"))
    assert '<a href="/imports">Importer un tableur</a>' in coordinator
    evaluator = text_of(web("evaluator").get("/exports"))
    assert "Importer un tableur" not in evaluator


def test_a_partner_admin_cannot_open_another_structures_import(app, web, client):
    with inside(app):
        other = make_structure("Entraide Bron", "69029")
        admin_b = make_user("admin-bron@example.org", "partner_admin", other).id
        db.session.commit()
    address, _page = checked_page(signed_in_client(app, admin_b), latin1_csv(*GOOD_LINES))
    intruder = web("partner_admin")
    assert intruder.get(address).status_code == 404
    assert intruder.get(f"{address}/erreurs.csv").status_code == 404
    token = csrf_of(text_of(intruder.get("/imports")))
    assert intruder.post(f"{address}/importer", data={"csrf_token": token}).status_code == 404
    assert address not in text_of(intruder.get("/imports"))
    assert jobs.drain()
    assert imported(app) == []


def test_a_file_over_the_limit_is_refused_with_the_limit_in_words(app, web):
    client = web("partner_admin")
    app.config["IMPORT_MAX_MB"] = 1
    try:
        assert "Taille maximale : 1 Mo." in text_of(client.get("/imports"))
        just_over = latin1_csv(*GOOD_LINES) + b"x" * (1024 * 1024)
        response = send_file(client, just_over)
        assert response.status_code == 422
        assert "Fichier trop volumineux : 1.0 Mo, au plus 1 Mo." in text_of(response)
        far_over = send_file(client, b"x" * (3 * 1024 * 1024))
        assert far_over.status_code == 413
        refused = text_of(far_over)
        assert "au plus 1 Mo." in refused
        assert 'enctype="multipart/form-data"' in refused  # the form again
    finally:
        app.config["IMPORT_MAX_MB"] = 50
    with inside(app):
        assert db.session.scalar(sa.select(sa.func.count(ReportImport.id))) == 0


def test_an_unreadable_or_missing_file_is_refused_with_the_form_again(app, web):
    client = web("partner_admin")
    unreadable = send_file(client, b"PK\x03\x04 pas un vrai classeur", filename="tableau.xlsx")
    assert unreadable.status_code == 422
    page = text_of(unreadable)
    assert 'class="error-message" id="err-file"' in page
    assert 'aria-invalid="true"' in page
    empty = post_multipart(client, {}, csrf_of(text_of(client.get("/imports"))))
    assert empty.status_code == 422
    assert "Choisissez un fichier CSV ou XLSX" in text_of(empty)
    with inside(app):
        assert db.session.scalar(sa.select(sa.func.count(ReportImport.id))) == 0


def test_the_send_form_needs_its_csrf_token(app, web):
    client = web("partner_admin")
    upload = {"file": FileStorage(io.BytesIO(latin1_csv(*GOOD_LINES)), "a.csv")}
    response = post_multipart(client, upload, None)
    assert response.status_code == 400
    with inside(app):
        assert db.session.scalar(sa.select(sa.func.count(ReportImport.id))) == 0
