"""Reading partners' spreadsheets as they come: encodings, separators, title rows, sheets,
unsafe workbooks, and the errors file written back in the file's own format."""

import codecs
import csv
import datetime as dt
import gc
import io
import re
import tracemalloc
import zipfile
from itertools import islice

import openpyxl
import pytest

from ohpunaises.imports.reading import Unreadable, errors_file, read_table

KNOWN = {"date d'intervention", "commune", "logement", "menage", "cout"}


def known(header: str) -> bool:
    return header.lower() in KNOWN


def workbook_bytes(sheets: dict[str, list[list]], merged: dict[str, str] | None = None) -> bytes:
    """An XLSX file with these sheets, in order, and these merged ranges per sheet."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        worksheet = workbook.create_sheet(name)
        for row in rows:
            worksheet.append(row)
        if merged and name in merged:
            worksheet.merge_cells(merged[name])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def rezipped(data: bytes, add: dict[str, bytes] | None = None, edit=None) -> bytes:
    """The same zip with members added, and each member passed through `edit(name, body)`."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for name in source.namelist():
            body = source.read(name)
            target.writestr(name, edit(name, body) if edit else body)
        for name, body in (add or {}).items():
            target.writestr(name, body)
    return out.getvalue()


def simple_workbook() -> bytes:
    return workbook_bytes({"Feuille1": [["Date", "Commune"], ["2025-01-02", "Bron"]]})


def unreadable_message(data: bytes, filename: str = "f.csv", **options) -> str:
    with pytest.raises(Unreadable) as caught:
        read_table(data, filename, **options)
    return str(caught.value)


# CSV: encodings and separators ----------------------------------------------------------------


def test_utf8_csv_without_bom_keeps_its_accents():
    data = "Date;Commune;Logement\n03/02/2025;Vénissieux;privé\n".encode()
    table = read_table(data, "interventions.csv")
    assert (table.kind, table.encoding, table.delimiter) == ("csv", "utf-8", ";")
    assert table.headers == ["Date", "Commune", "Logement"]
    assert list(table.rows()) == [(2, ["03/02/2025", "Vénissieux", "privé"])]


def test_utf8_bom_is_recognised_and_left_out_of_the_first_header():
    data = codecs.BOM_UTF8 + b"Date,Commune\n2025-02-03,Saint-Priest\n"
    table = read_table(data, "interventions.csv")
    assert (table.encoding, table.delimiter) == ("utf-8-sig", ",")
    assert table.headers == ["Date", "Commune"]
    assert list(table.rows()) == [(2, ["2025-02-03", "Saint-Priest"])]


def test_windows_1252_semicolon_file_keeps_accents_and_euro():
    text = "Date d'intervention;Commune;Logement;Coût\n03/02/2025;Vénissieux;privé;120 €\n"
    table = read_table(text.encode("cp1252"), "export.csv", known_headers=known)
    assert (table.encoding, table.delimiter) == ("cp1252", ";")
    assert table.headers == ["Date d'intervention", "Commune", "Logement", "Coût"]
    assert list(table.rows()) == [(2, ["03/02/2025", "Vénissieux", "privé", "120 €"])]


def test_latin1_tab_file_is_read_when_windows_1252_cannot_decode_it():
    # 0x81 has no character in Windows-1252: only Latin-1 reads this file
    data = "Date\tCommune\tNote\n03/02/2025\tÉcully\tà revoir\x81\n".encode("latin-1")
    table = read_table(data, "export.txt")
    assert (table.encoding, table.delimiter) == ("latin-1", "\t")
    assert list(table.rows()) == [(2, ["03/02/2025", "Écully", "à revoir\x81"])]


def test_comma_file_keeps_quoted_commas_and_newlines_inside_their_cell():
    data = (
        b"Date,Commune,Notes\r\n"
        b'2025-02-03,"Lyon 3e, Part-Dieu","vu le 3,\r\nrevu le 10"\r\n'
        b"2025-02-04,Bron,aucune\r\n"
    )
    table = read_table(data, "f.csv")
    assert table.delimiter == ","
    assert list(table.rows()) == [
        (2, ["2025-02-03", "Lyon 3e, Part-Dieu", "vu le 3,\r\nrevu le 10"]),
        (3, ["2025-02-04", "Bron", "aucune"]),
    ]


def test_a_cell_written_over_several_lines_stays_one_row_as_spreadsheets_number_it():
    data = (
        "Date;Commune;Notes\n"
        '01/02/2025;Bron;"première ligne\ndeuxième ligne\ntroisième ligne"\n'
        "\n"
        "02/02/2025;Vaulx-en-Velin;rien\n"
    ).encode()
    table = read_table(data, "f.csv")
    # Excel shows: header row 1, the three-line cell in row 2, an empty row 3, then row 4
    assert [number for number, _cells in table.rows()] == [2, 4]
    assert list(table.rows())[1] == (4, ["02/02/2025", "Vaulx-en-Velin", "rien"])


def test_separator_is_the_one_consistent_outside_quotes():
    data = (
        b"Commune;Adresse;Note\n"
        b'"Lyon; 7e";"3, rue Garibaldi";"a, b, c"\n'
        b"Bron;1, place Weingeist;aucune\n"
    )
    table = read_table(data, "f.csv")
    assert table.delimiter == ";"
    assert next(table.rows()) == (2, ["Lyon; 7e", "3, rue Garibaldi", "a, b, c"])


def test_equally_consistent_separators_prefer_the_semicolon():
    table = read_table(b"Date;Commune,Logement\n01/02/2025;Bron,social\n", "f.csv")
    assert table.delimiter == ";"
    assert table.headers == ["Date", "Commune,Logement"]


def test_header_cells_are_stripped_and_a_trailing_separator_adds_no_header():
    table = read_table(b" Date ;  Commune ;\n01/02/2025;Bron;\n", "f.csv")
    assert table.headers == ["Date", "Commune"]
    assert list(table.rows()) == [(2, ["01/02/2025", "Bron", ""])]


def test_one_column_file_names_the_separators_looked_for():
    message = unreadable_message(b"Commune\nBron\nVenissieux\n")
    assert message.startswith("Une seule colonne trouvée")
    assert "points-virgules (;)" in message and "virgules (,)" in message
    assert "tabulations" in message


def test_empty_file_is_refused():
    assert unreadable_message(b"  \r\n\r\n") == "Le fichier est vide."


def test_file_with_nul_bytes_is_refused():
    message = unreadable_message("Date;Commune\n".encode("utf-16-le"))
    assert message == "Format non reconnu : enregistrez le fichier en CSV ou en XLSX."


def test_old_excel_file_is_refused_whatever_its_name():
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + b"Date;Commune"
    message = unreadable_message(data, "interventions.csv")
    assert message == "Format non reconnu : enregistrez le fichier en CSV ou en XLSX."


def test_password_protected_workbook_is_refused_with_its_own_message():
    data = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + "EncryptedPackage".encode("utf-16-le")
    )
    message = unreadable_message(data, "interventions.xlsx")
    assert message.startswith("Le fichier est protégé par un mot de passe")


def test_html_saved_as_xls_is_refused():
    message = unreadable_message(b"<html><table><tr><td>Date</td></tr></table></html>", "f.xls")
    assert message.startswith("Format non reconnu")


def test_file_over_the_limit_is_refused_with_its_size():
    data = b"Date;Commune\n" + b"01/02/2025;Bron\n" * 70_000
    message = unreadable_message(data, max_bytes=1024 * 1024)
    assert message == "Fichier trop volumineux : 1.1 Mo, au plus 1 Mo."


def test_a_cell_beyond_the_csv_limit_among_the_first_lines_is_refused_at_once():
    data = b"Date;Notes\n01/02/2025;ok\n02/02/2025;" + b"x" * 200_000 + b"\n"
    message = unreadable_message(data)
    assert message == (
        "Ligne 3 illisible : une cellule trop longue, ou un guillemet jamais refermé."
    )


def test_a_cell_beyond_the_csv_limit_further_down_stops_the_rows_at_its_line():
    data = b"Date;Notes\n" + b"01/02/2025;ok\n" * 28 + b"02/02/2025;" + b"x" * 200_000 + b"\n"
    rows = read_table(data, "f.csv").rows()
    assert [number for number, _cells in islice(rows, 28)] == list(range(2, 30))
    with pytest.raises(Unreadable, match=r"^Ligne 30 illisible"):
        next(rows)


# Header row -----------------------------------------------------------------------------------


def test_title_rows_above_the_header_are_skipped_in_csv():
    data = (
        "Rapport interventions 2025;;\n"
        ";;\n"
        "Bailleur : Est Métropole Habitat;Lyon, 2025;\n"
        "Date d'intervention;Commune;Logement\n"
        "03/02/2025;Bron;social\n"
    ).encode()
    with_fields = read_table(data, "f.csv", known_headers=known)
    assert (with_fields.header_line, with_fields.headers[1]) == (4, "Commune")
    assert list(with_fields.rows()) == [(5, ["03/02/2025", "Bron", "social"])]
    # Without knowing the fields, the first row with two filled cells is taken
    without = read_table(data, "f.csv")
    assert without.header_line == 3
    assert without.headers == ["Bailleur : Est Métropole Habitat", "Lyon, 2025"]


def test_known_headers_that_match_nothing_fall_back_to_two_filled_cells():
    data = b"Titre\nA;B;C\n1;2;3\n"
    table = read_table(data, "f.csv", known_headers=lambda header: False)
    assert (table.header_line, table.headers) == (2, ["A", "B", "C"])


def test_no_row_with_two_filled_cells_among_the_first_twenty_is_refused():
    data = b"Titre;\n" * 25 + b"A;B\n1;2\n"
    message = unreadable_message(data)
    assert message.startswith("Ligne d'en-têtes introuvable : ")


def test_empty_rows_are_skipped_with_their_numbers_kept():
    data = b"Date;Commune\n\n01/02/2025;Bron\n;\n  ;  \n02/02/2025;Rillieux\n"
    table = read_table(data, "f.csv")
    assert list(table.rows()) == [(3, ["01/02/2025", "Bron"]), (6, ["02/02/2025", "Rillieux"])]


def test_rows_can_be_read_again_from_the_start():
    table = read_table(b"A;B\n1;2\n3;4\n", "f.csv")
    first = list(table.rows())
    assert first == [(2, ["1", "2"]), (3, ["3", "4"])]
    assert list(table.rows()) == first


# XLSX -----------------------------------------------------------------------------------------


def report_workbook() -> bytes:
    rows = [
        ["Rapport interventions 2025"],
        [],
        ["Date d'intervention", " Commune ", "Logement", "Ménage", "Coût"],
        [dt.datetime(2025, 2, 3), "Vénissieux", "social", 4, 120.5],
        [None, None, None, None, None],
        [dt.datetime(2025, 2, 4, 14, 30), "Bron", "privé", 2, 80],
    ]
    return workbook_bytes({"Interventions": rows}, merged={"Interventions": "A1:E1"})


def test_xlsx_header_under_a_merged_title_and_an_empty_row():
    table = read_table(report_workbook(), "rapport.xlsx", known_headers=known)
    assert (table.kind, table.encoding, table.delimiter) == ("xlsx", None, None)
    assert (table.sheet, table.sheets, table.header_line) == ("Interventions", ["Interventions"], 3)
    assert table.headers == ["Date d'intervention", "Commune", "Logement", "Ménage", "Coût"]


def test_xlsx_cells_keep_their_types_and_empty_rows_are_skipped():
    rows = list(read_table(report_workbook(), "rapport.xlsx").rows())
    assert rows == [
        (4, [dt.datetime(2025, 2, 3), "Vénissieux", "social", 4, 120.5]),
        (6, [dt.datetime(2025, 2, 4, 14, 30), "Bron", "privé", 2, 80]),
    ]
    assert [type(cell) for cell in rows[0][1]] == [dt.datetime, str, str, int, float]


def test_xlsx_merged_title_gives_its_value_in_the_first_cell_only():
    # Without known fields, a merged title is still one filled cell: not the header
    table = read_table(report_workbook(), "rapport.xlsx")
    assert table.header_line == 3


def test_xlsx_file_named_csv_is_still_read_as_xlsx():
    table = read_table(simple_workbook(), "interventions.csv")
    assert (table.kind, table.headers) == ("xlsx", ["Date", "Commune"])


def test_xlsx_reads_the_first_sheet_or_the_one_chosen():
    data = workbook_bytes(
        {
            "Lisez-moi": [["Ce classeur", "contient les interventions"]],
            "2025": [["Date", "Commune"], [dt.datetime(2025, 3, 1), "Décines"]],
        }
    )
    first = read_table(data, "f.xlsx")
    assert (first.sheet, first.sheets, first.headers) == (
        "Lisez-moi",
        ["Lisez-moi", "2025"],
        ["Ce classeur", "contient les interventions"],
    )
    chosen = read_table(data, "f.xlsx", sheet="2025")
    assert chosen.sheet == "2025"
    assert list(chosen.rows()) == [(2, [dt.datetime(2025, 3, 1), "Décines"])]


def test_unknown_sheet_is_refused_with_the_list_of_sheets():
    data = workbook_bytes({"Janvier": [["A", "B"]], "Février": [["A", "B"]]})
    message = unreadable_message(data, "f.xlsx", sheet="Mars")
    assert (
        message == "Feuille « Mars » introuvable ; feuilles du classeur : « Janvier », « Février »."
    )


def test_xlsx_wrongly_declared_dimension_does_not_cut_rows():
    def shrink(name, body):
        if name != "xl/worksheets/sheet1.xml":
            return body
        return re.sub(rb'<dimension ref="A1:C3" ?/>', b'<dimension ref="A1"/>', body, count=1)

    data = workbook_bytes({"F": [["A", "B", "C"], [1, 2, 3], [4, 5, 6]]})
    table = read_table(rezipped(data, edit=shrink), "f.xlsx")
    assert table.headers == ["A", "B", "C"]
    assert list(table.rows()) == [(2, [1, 2, 3]), (3, [4, 5, 6])]


def test_stopping_early_closes_the_workbook_without_warning():
    table = read_table(report_workbook(), "rapport.xlsx")
    rows = table.rows()
    assert next(rows)[0] == 4
    del rows
    gc.collect()  # a workbook left open would warn here, and warnings fail the run


# XLSX safety ----------------------------------------------------------------------------------


def test_zip_bomb_is_refused_before_it_is_opened():
    out = io.BytesIO()
    zeros = bytes(1024 * 1024)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            for _ in range(300):
                member.write(zeros)
    data = out.getvalue()
    assert len(data) < 5 * 1024 * 1024  # small on the wire, 300 MB once inflated
    assert unreadable_message(data, "f.xlsx") == "Fichier compressé suspect (bombe zip) : refusé."


def test_member_compressed_more_than_a_hundred_times_is_refused():
    data = rezipped(simple_workbook(), add={"xl/media/image1.png": bytes(5 * 1024 * 1024)})
    assert unreadable_message(data, "f.xlsx") == "Fichier compressé suspect (bombe zip) : refusé."


def test_members_inflating_to_twenty_times_the_limit_are_refused():
    small_members = {f"xl/media/image{n}.bin": bytes(900 * 1024) for n in range(30)}
    data = rezipped(simple_workbook(), add=small_members)
    assert len(data) < 1024 * 1024
    message = unreadable_message(data, "f.xlsx", max_bytes=1024 * 1024)
    assert message == "Fichier compressé suspect (bombe zip) : refusé."
    assert read_table(data, "f.xlsx").headers == ["Date", "Commune"]  # under 50 Mo: 20 × 50 Mo


def test_workbook_with_macros_is_refused():
    data = rezipped(simple_workbook(), add={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0 macro"})
    message = unreadable_message(data, "f.xlsm")
    assert message == (
        "Les fichiers avec macros ne sont pas acceptés : enregistrez-le en .xlsx sans macro."
    )


def test_workbook_declaring_a_macro_enabled_type_is_refused():
    def macro_type(name, body):
        if name != "[Content_Types].xml":
            return body
        return body.replace(
            b"spreadsheetml.sheet.main+xml", b"ms-excel.sheet.macroEnabled.main+xml"
        )

    data = rezipped(simple_workbook(), edit=macro_type)
    assert unreadable_message(data, "f.xlsx").startswith("Les fichiers avec macros")


def test_workbook_with_links_to_other_workbooks_is_refused():
    link = b'<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>'
    data = rezipped(simple_workbook(), add={"xl/externalLinks/externalLink1.xml": link})
    message = unreadable_message(data, "f.xlsx")
    assert message.startswith("Le fichier contient des liaisons vers d'autres classeurs : ")


def test_damaged_zip_is_unreadable():
    data = simple_workbook()
    message = unreadable_message(data[: len(data) // 2], "f.xlsx")
    assert message.startswith("Fichier XLSX endommagé")


def test_zip_that_is_not_a_workbook_is_unreadable():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("notes.txt", "Date;Commune")
    assert unreadable_message(out.getvalue(), "f.xlsx").startswith("Fichier XLSX illisible")


def test_opendocument_spreadsheet_is_refused_with_its_own_message():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
    assert unreadable_message(out.getvalue(), "f.ods").startswith("Les fichiers OpenDocument")


# Errors file ----------------------------------------------------------------------------------


def test_errors_file_keeps_windows_1252_and_semicolons():
    text = (
        "Rapport 2025\n"
        "Date d'intervention;Commune;Logement\n"
        "03/02/2025;Vénissieux;privé\n"
        '04/02/2025;"Lyon; 8e";inconnu\n'
        "31/02/2025;Écully;social\n"
    )
    data = text.encode("cp1252")
    table = read_table(data, "f.csv", known_headers=known)
    errors = {4: "Logement : valeur inconnue « inconnu »", 5: "Date impossible, coût 0 €"}
    body = errors_file(table, data, errors, "erreur")
    lines = list(csv.reader(io.StringIO(body.decode("cp1252"), newline=""), delimiter=";"))
    assert lines == [
        ["Date d'intervention", "Commune", "Logement", "erreur"],
        ["04/02/2025", "Lyon; 8e", "inconnu", "Logement : valeur inconnue « inconnu »"],
        ["31/02/2025", "Écully", "social", "Date impossible, coût 0 €"],
    ]


def test_errors_file_replaces_what_its_encoding_cannot_hold():
    data = "Date\tCommune\n03/02/2025\tBron\x81\n".encode("latin-1")
    table = read_table(data, "f.tsv")
    body = errors_file(table, data, {2: "coût 5 €"}, "erreur")
    assert body == "Date\tCommune\terreur\r\n03/02/2025\tBron\x81\tcoût 5 ?\r\n".encode("latin-1")


def test_errors_file_keeps_the_bom_and_aligns_short_and_long_rows():
    data = codecs.BOM_UTF8 + b"Date,Commune\n01/02/2025\n02/02/2025,Bron,en trop\n"
    table = read_table(data, "f.csv")
    body = errors_file(table, data, {2: "commune manquante", 3: "colonne en trop"}, "erreur")
    assert body.startswith(codecs.BOM_UTF8)
    lines = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert lines == [
        ["Date", "Commune", "", "erreur"],
        ["01/02/2025", "", "", "commune manquante"],
        ["02/02/2025", "Bron", "en trop", "colonne en trop"],
    ]


def test_errors_file_of_a_workbook_is_a_utf8_csv_with_bom_and_semicolons():
    data = report_workbook()
    table = read_table(data, "rapport.xlsx", known_headers=known)
    body = errors_file(table, data, {6: "Coût trop bas", 99: "absente"}, "erreur")
    assert body.startswith(codecs.BOM_UTF8)
    lines = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert lines == [
        ["Date d'intervention", "Commune", "Logement", "Ménage", "Coût", "erreur"],
        ["2025-02-04 14:30:00", "Bron", "privé", "2", "80", "Coût trop bas"],
    ]


def test_errors_file_writes_workbook_dates_booleans_and_blanks_as_the_import_reads_them():
    rows = [["Date", "Suivi", "Note"], [dt.datetime(2025, 2, 3), True, None]]
    data = workbook_bytes({"F": rows})
    table = read_table(data, "f.xlsx")
    body = errors_file(table, data, {2: "à revoir"}, "erreur")
    assert body.decode("utf-8-sig").splitlines()[1] == "2025-02-03;oui;;à revoir"


# Describing how a file was read ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (
            "Date;Commune\n01/02/2025;Vénissieux\n".encode("cp1252"),
            "CSV, encodage Windows-1252, séparateur point-virgule, en-têtes ligne 1",
        ),
        (
            codecs.BOM_UTF8 + b"Titre\nDate,Commune\n01/02/2025,Bron\n",
            "CSV, encodage UTF-8 avec BOM, séparateur virgule, en-têtes ligne 2",
        ),
        (
            b"Date\tCommune\n01/02/2025\tBron\n",
            "CSV, encodage UTF-8, séparateur tabulation, en-têtes ligne 1",
        ),
    ],
)
def test_describe_says_how_a_csv_was_read(data, text):
    assert read_table(data, "f.csv").describe() == text


def test_describe_says_which_sheet_and_row_of_a_workbook():
    table = read_table(report_workbook(), "rapport.xlsx", known_headers=known)
    assert table.describe() == "XLSX, feuille « Interventions », en-têtes ligne 3"


# Large files ----------------------------------------------------------------------------------


def test_hundred_thousand_csv_rows_are_read_without_holding_them():
    line = "03/02/2025;Vénissieux;social;4;120,50;Une note un peu longue sur l'intervention\n"
    data = ("Date;Commune;Logement;Ménage;Coût;Notes\n" + line * 100_000).encode("cp1252")
    table = read_table(data, "gros.csv")
    tracemalloc.start()
    try:
        count = sum(1 for _row in table.rows())
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 100_000
    assert peak < 2 * 1024 * 1024  # the rows as a list would take tens of megabytes


def workbook_of_identical_rows(count: int) -> bytes:
    """A workbook of `count` data rows, its XML written out directly: openpyxl takes long to
    write so many. Its size is declared at the top, as Excel does."""
    header = ["Date", "Commune", "Logement", "Ménage", "Coût"]
    sample = [dt.datetime(2025, 2, 3), "Bron", "social", 4, 120.5]
    data = workbook_bytes({"Interventions": [header, sample]})

    def repeat(name, body):
        if name != "xl/worksheets/sheet1.xml":
            return body
        start = body.index(b'<row r="2"')
        end = body.index(b"</row>", start) + len(b"</row>")
        template = re.sub(r'r="([A-Z]*)2"', r'r="\1{n}"', body[start:end].decode())
        rows = "".join(template.format(n=n) for n in range(2, count + 2))
        body = body[:start] + rows.encode() + body[end:]
        declared = b'<dimension ref="A1:E%d"/>' % (count + 1)
        return re.sub(rb'<dimension ref="A1:E2" ?/>', declared, body, count=1)

    return rezipped(data, edit=repeat)


def test_twenty_thousand_xlsx_rows_are_all_read():
    table = read_table(workbook_of_identical_rows(20_000), "gros.xlsx")
    rows = list(islice(table.rows(), 3))
    count = len(rows) + sum(1 for _row in islice(table.rows(), 3, None))
    assert count == 20_000
    assert rows[2] == (4, [dt.datetime(2025, 2, 3), "Bron", "social", 4, 120.5])
    # Memory is traced over the first rows only, openpyxl being slow to trace: a reading that
    # gathered the rows first would reach its peak, tens of megabytes, before the first one
    tracemalloc.start()
    try:
        assert sum(1 for _row in islice(table.rows(), 5_000)) == 5_000
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * 1024 * 1024
