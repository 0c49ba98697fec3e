"""A partner's spreadsheet read as it comes: CSV in the usual encodings and separators, or
XLSX, with title rows above its header.

A line number is the row a spreadsheet shows: for CSV, one per record, so a quoted cell
written over several lines stays in one row, as Excel and LibreOffice show it; for XLSX,
the sheet's row. Rows are read afresh from the bytes each time they are asked for, so a
large file never becomes one big list. An XLSX file is checked as a zip before it is opened:
no zip bomb, no macros, no links to other workbooks.
"""

import codecs
import csv
import datetime as dt
import io
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from itertools import islice

import openpyxl
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

MB = 1024 * 1024
ZIP_SIGNATURE = b"PK\x03\x04"
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0"  # old .xls, and any password-protected Office file
ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
MARKUP = (b"<?xml", b"<!doctype", b"<html", b"<table")  # web pages and XML saved as .xls
CONTROL_BYTES = bytes(set(range(32)) - set(b"\t\n\r\x0b\x0c"))
DELIMITERS = (";", "\t", ",")  # in the order that breaks a tie
SNIFF_LINES = 20
HEADER_SCAN = 20
DECODE_CHUNK = MB
MAX_CELL = 128 * 1024  # characters: csv's default limit, which a cell of a real file never nears
MAX_EXPANDED = 200 * MB
MAX_RATIO = 100
RATIO_FLOOR = MB  # small members compress as they like: only a large one can be a bomb
CONTENT_TYPES_READ = MB

ENCODING_NAMES = {
    "utf-8-sig": _l("UTF-8 avec BOM"),
    "utf-8": "UTF-8",
    "cp1252": "Windows-1252",
    "latin-1": "ISO-8859-1 (Latin-1)",
}
DELIMITER_NAMES = {";": _l("point-virgule"), ",": _l("virgule"), "\t": _l("tabulation")}


class Unreadable(ValueError):
    """The file cannot be read as a table; str(error) is a French message for the user."""


@dataclass
class Table:
    """A file read as a table: how it was read, its header, and its data rows on demand."""

    kind: str
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    sheets: list[str]
    header_line: int
    headers: list[str]
    data: bytes = field(repr=False, compare=False)

    def rows(self) -> Iterator[tuple[int, list]]:
        """(line number, cells) of each data row after the header, fully empty rows skipped."""
        return _data_rows(self, self.data)

    def describe(self) -> str:
        """How the file was read, in French, for the user."""
        if self.kind == "xlsx":
            return _(
                "XLSX, feuille « %(sheet)s », en-têtes ligne %(line)s",
                sheet=self.sheet,
                line=self.header_line,
            )
        return _(
            "CSV, encodage %(encoding)s, séparateur %(delimiter)s, en-têtes ligne %(line)s",
            encoding=ENCODING_NAMES[self.encoding],
            delimiter=DELIMITER_NAMES[self.delimiter],
            line=self.header_line,
        )


def read_table(
    data: bytes,
    filename: str,
    sheet: str | None = None,
    known_headers: Callable[[str], object] | None = None,
    max_bytes: int = 50 * MB,
) -> Table:
    """A file read as a table; its content, not its name, says whether it is CSV or XLSX."""
    if len(data) > max_bytes:
        raise Unreadable(
            _(
                "Fichier trop volumineux : %(size)s Mo, au plus %(max)s Mo.",
                size=_megabytes(len(data)),
                max=_megabytes(max_bytes),
            )
        )
    if data.startswith(ZIP_SIGNATURE):
        return _read_xlsx(data, sheet, known_headers, max_bytes)
    return _read_csv(data, known_headers)


def errors_file(table: Table, data: bytes, errors: dict[int, str], column: str) -> bytes:
    """The header and the lines in `errors`, in order, with one more column holding the
    message: for a CSV, in its own encoding and separator; for an XLSX, as a CSV in UTF-8
    with BOM and ";", which Excel opens as it is."""
    encoding, delimiter = table.encoding, table.delimiter
    if table.kind == "xlsx":
        encoding, delimiter = "utf-8-sig", ";"
    lines = [
        (cells, errors[number]) for number, cells in _data_rows(table, data) if number in errors
    ]
    width = max([len(table.headers), *(len(cells) for cells, _message in lines)])
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow([*_padded(table.headers, width), column])
    for cells, message in lines:
        writer.writerow([*_padded([_as_text(cell) for cell in cells], width), message])
    return out.getvalue().encode(encoding, errors="replace")


# Common to both kinds -------------------------------------------------------------------------


def _data_rows(table: Table, data: bytes) -> Iterator[tuple[int, list]]:
    first = table.header_line + 1
    if table.kind == "xlsx":
        records = _xlsx_records(data, table.sheet, first)
    else:
        records = _csv_records(data, table.encoding, table.delimiter)
    for number, cells in records:
        if number >= first and not _blank(cells):
            yield number, cells


def _find_header(records: Iterable, known_headers) -> tuple[int, list[str]]:
    """The first of the first rows naming two known fields, else with two filled cells."""
    scanned = [(n, [_as_header(c) for c in cells]) for n, cells in islice(records, HEADER_SCAN)]
    if known_headers is not None:
        for number, cells in scanned:
            if sum(1 for cell in cells if cell and known_headers(cell)) >= 2:
                return number, _trimmed(cells)
    for number, cells in scanned:
        if sum(1 for cell in cells if cell) >= 2:
            return number, _trimmed(cells)
    raise Unreadable(
        _(
            "Ligne d'en-têtes introuvable : aucune des %(n)s premières lignes n'a deux "
            "colonnes remplies.",
            n=HEADER_SCAN,
        )
    )


def _as_header(value) -> str:
    return "" if value is None else str(value).strip()


def _trimmed(cells: list[str]) -> list[str]:
    """Without the empty cells after the last header, as a trailing separator leaves them."""
    while cells and not cells[-1]:
        cells = cells[:-1]
    return cells


def _blank(cells: list) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)


def _padded(cells: list[str], width: int) -> list[str]:
    return cells + [""] * (width - len(cells))


def _as_text(value) -> str:
    """A cell as a CSV writes it: dates in ISO form, which the import reads back."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _megabytes(size: int) -> float | int:
    value = round(size / MB, 1)
    return int(value) if value.is_integer() else value


def _unknown_format() -> Unreadable:
    return Unreadable(_("Format non reconnu : enregistrez le fichier en CSV ou en XLSX."))


# CSV ------------------------------------------------------------------------------------------


def _read_csv(data: bytes, known_headers) -> Table:
    _refuse_binary(data)
    if not data.strip():
        raise Unreadable(_("Le fichier est vide."))
    encoding = _encoding(data)
    delimiter = _delimiter(data, encoding)
    line, headers = _find_header(_csv_records(data, encoding, delimiter), known_headers)
    return Table("csv", encoding, delimiter, None, [], line, headers, data)


def _refuse_binary(data: bytes):
    """Old .xls, password-protected workbooks, and anything else that is not text."""
    if data.startswith(OLE_SIGNATURE) and ENCRYPTED_STREAM in data:
        raise Unreadable(
            _(
                "Le fichier est protégé par un mot de passe : enregistrez-le sans mot de "
                "passe, en XLSX ou en CSV."
            )
        )
    head = data[:8192]
    controls = len(head) - len(head.translate(None, CONTROL_BYTES))
    markup = head.lstrip(codecs.BOM_UTF8 + b" \t\r\n")[:20].lower().startswith(MARKUP)
    if data.startswith(OLE_SIGNATURE) or b"\x00" in data or controls * 20 > len(head) or markup:
        raise _unknown_format()


def _encoding(data: bytes) -> str:
    """UTF-8 (with its BOM if it has one) when it decodes, else Windows-1252, else Latin-1."""
    candidates = ["utf-8", "cp1252"]
    if data.startswith(codecs.BOM_UTF8):
        candidates.insert(0, "utf-8-sig")
    for encoding in candidates:
        if _decodes(data, encoding):
            return encoding
    return "latin-1"


def _decodes(data: bytes, encoding: str) -> bool:
    """Decoded by chunks, so a large file never becomes one large string."""
    decoder = codecs.getincrementaldecoder(encoding)()
    view = memoryview(data)
    try:
        for start in range(0, len(view), DECODE_CHUNK):
            decoder.decode(view[start : start + DECODE_CHUNK])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _delimiter(data: bytes, encoding: str) -> str:
    scores = {delimiter: _consistency(data, encoding, delimiter) for delimiter in DELIMITERS}
    best = max(DELIMITERS, key=scores.__getitem__)  # the first of equals wins
    if scores[best] == 0:
        raise Unreadable(
            _(
                "Une seule colonne trouvée : les colonnes doivent être séparées par des "
                "points-virgules (;), des virgules (,) ou des tabulations."
            )
        )
    return best


def _consistency(data: bytes, encoding: str, delimiter: str) -> int:
    """How many of the first non-empty lines share the most common number (> 1) of fields."""
    counts = Counter()
    records = _csv_records(data, encoding, delimiter)
    filled = (cells for _number, cells in records if not _blank(cells))
    try:
        for cells in islice(filled, SNIFF_LINES):
            counts[len(cells)] += 1
    except Unreadable:  # a field past the csv limit, or a quote left open: judge what came
        pass
    return max((times for fields, times in counts.items() if fields > 1), default=0)


def _csv_records(data: bytes, encoding: str, delimiter: str) -> Iterator[tuple[int, list]]:
    """Every record, blank ones included, numbered from 1, decoded as it is read."""
    text = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")
    number = 0
    try:
        for number, cells in enumerate(csv.reader(text, delimiter=delimiter), start=1):
            # csv's own limit is the process's, which other libraries raise: keep ours.
            if any(len(cell) > MAX_CELL for cell in cells):
                raise _unreadable_line(number)
            yield number, cells
    except csv.Error as error:
        raise _unreadable_line(number + 1) from error


def _unreadable_line(number: int) -> Unreadable:
    return Unreadable(
        _(
            "Ligne %(line)s illisible : une cellule trop longue, ou un guillemet jamais refermé.",
            line=number,
        )
    )


# XLSX -----------------------------------------------------------------------------------------


def _read_xlsx(data: bytes, sheet: str | None, known_headers, max_bytes: int) -> Table:
    _check_zip(data, max_bytes)
    workbook = _open_workbook(data)
    try:
        sheets = [name for name in workbook.sheetnames if not _is_chart(workbook, name)]
        chosen = _chosen_sheet(sheets, sheet)
        with closing(_sheet_records(workbook, chosen, 1)) as records:
            line, headers = _find_header(records, known_headers)
    finally:
        workbook.close()
    return Table("xlsx", None, None, chosen, sheets, line, headers, data)


def _check_zip(data: bytes, max_bytes: int):
    """Refuse what openpyxl should never open: a damaged zip, a bomb, macros, links."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            _refuse_bomb(members, max_bytes)
            _refuse_other_formats(archive)
            _refuse_active_content(archive, [member.filename for member in members])
    except (zipfile.BadZipFile, EOFError, NotImplementedError, RuntimeError, zlib.error) as error:
        raise Unreadable(
            _("Fichier XLSX endommagé : enregistrez-le à nouveau depuis votre tableur.")
        ) from error


def _refuse_bomb(members: list[zipfile.ZipInfo], max_bytes: int):
    expanded = sum(member.file_size for member in members)
    inflated = any(
        member.file_size > RATIO_FLOOR
        and member.file_size > MAX_RATIO * max(member.compress_size, 1)
        for member in members
    )
    if expanded > min(MAX_EXPANDED, 20 * max_bytes) or inflated:
        raise Unreadable(_("Fichier compressé suspect (bombe zip) : refusé."))


def _refuse_other_formats(archive: zipfile.ZipFile):
    """An OpenDocument spreadsheet is a zip too, but not one openpyxl reads."""
    if "mimetype" in archive.namelist() and archive.read("mimetype").startswith(
        b"application/vnd.oasis.opendocument"
    ):
        raise Unreadable(
            _(
                "Les fichiers OpenDocument (.ods) ne sont pas lus : enregistrez-le en XLSX "
                "ou en CSV."
            )
        )


def _refuse_active_content(archive: zipfile.ZipFile, names: list[str]):
    lowered = [name.lower() for name in names]
    if any(name.endswith("vbaproject.bin") for name in lowered) or _declares_macros(archive):
        raise Unreadable(
            _("Les fichiers avec macros ne sont pas acceptés : enregistrez-le en .xlsx sans macro.")
        )
    if any(name.startswith("xl/externallinks/") for name in lowered):
        raise Unreadable(
            _(
                "Le fichier contient des liaisons vers d'autres classeurs : remplacez-les "
                "par leurs valeurs (copier, puis collage spécial « valeurs ») et "
                "enregistrez-le à nouveau."
            )
        )


def _declares_macros(archive: zipfile.ZipFile) -> bool:
    if "[Content_Types].xml" not in archive.namelist():
        return False
    with archive.open("[Content_Types].xml") as types:
        declared = types.read(CONTENT_TYPES_READ).lower()
    return b"macroenabled" in declared or b"vbaproject" in declared


def _open_workbook(data: bytes):
    try:
        return openpyxl.load_workbook(
            io.BytesIO(data), read_only=True, data_only=True, keep_links=False
        )
    except Exception as error:  # openpyxl fails in many ways on a file it cannot read
        raise Unreadable(
            _("Fichier XLSX illisible : enregistrez-le à nouveau depuis votre tableur.")
        ) from error


def _is_chart(workbook, name: str) -> bool:
    return not hasattr(workbook[name], "iter_rows")


def _chosen_sheet(sheets: list[str], sheet: str | None) -> str:
    if not sheets:
        raise Unreadable(_("Le classeur ne contient aucune feuille de données."))
    if sheet is None:
        return sheets[0]
    if sheet not in sheets:
        raise Unreadable(
            _(
                "Feuille « %(sheet)s » introuvable ; feuilles du classeur : %(sheets)s.",
                sheet=sheet,
                sheets=", ".join(f"« {name} »" for name in sheets),
            )
        )
    return sheet


def _xlsx_records(data: bytes, sheet: str, first: int) -> Iterator[tuple[int, list]]:
    workbook = _open_workbook(data)
    try:
        yield from _sheet_records(workbook, sheet, first)
    finally:
        workbook.close()


def _sheet_records(workbook, sheet: str, first: int) -> Iterator[tuple[int, list]]:
    """Every row from `first`, empty ones included, as the sheet holds it."""
    worksheet = workbook[sheet]
    worksheet.reset_dimensions()  # some writers declare a wrong size, which would cut rows
    rows = worksheet.iter_rows(min_row=first, values_only=True)
    for number, cells in enumerate(rows, start=first):
        yield number, list(cells)
