"""A line of a partner's file turned into the report POST /api/v1/reports takes.

Cells come as partners write them: dates as 03/02/2025, 2025-02-03 or an Excel serial
number, decimal commas, "oui"/"non", codes or their French labels, a commune by INSEE code,
by postcode or by name. Each cell that cannot be read gives an error in the words of the
file's own header; the schema of the API then checks the report as it checks any other.
"""

import datetime as dt
import re
from dataclasses import dataclass, field

import marshmallow as ma
from flask_babel import gettext as _

from ..schemas import ReportCreateSchema
from ..vocabulary import VULNERABILITIES
from .fields import BY_NAME, CellError, UnknownWord, normalised
from .places import PlaceIndex

EXCEL_EPOCH = dt.date(1899, 12, 30)
SERIALS = range(20_000, 80_000)  # 1954 to 2119: a number in a date column is a serial there
DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d", "%Y/%m/%d", "%d/%m/%y")
TRUE = frozenset({"1", "oui", "o", "x", "vrai", "true", "yes", "y"})
FALSE = frozenset({"0", "non", "n", "faux", "false", "no"})
LIST_SEPARATORS = re.compile(r"[|;\n+]")
COMMAS_OUTSIDE_PARENTHESES = re.compile(r",(?![^(]*\))")
VULNERABILITY_FIELDS = ("vulnerabilities", *(f"vulnerability_{n}" for n in VULNERABILITIES))


@dataclass
class Line:
    """One data line: the report it describes, or why it cannot be one."""

    number: int
    data: dict | None = None
    errors: list[tuple[str, str]] = field(default_factory=list)  # (header, message)
    point: tuple[float, float] | None = None  # (longitude, latitude), for the preview
    unknown: list[tuple[str, str]] = field(default_factory=list)  # (field, word) to map
    digest: str | None = None  # the report's fingerprint, once the line is valid

    @property
    def valid(self) -> bool:
        return not self.errors


class Converter:
    """Reads the lines of one file with its column mapping and its value mapping."""

    def __init__(self, headers: list[str], columns: dict[str, str], values: dict, places):
        self.positions = {
            field_name: index
            for index, header in enumerate(headers)
            if (field_name := columns.get(header))
        }
        self.headers = {name: headers[index] for name, index in self.positions.items()}
        # Each coded field's words: the partner's own (value mapping) first, then the codes
        # and their labels, all normalised once for the whole file.
        self.words = {
            name: {**known_words(field.vocabulary), **values.get(name, {})}
            for name, field in BY_NAME.items()
            if field.vocabulary is not None
        }
        self.places: PlaceIndex = places
        self.schema = ReportCreateSchema()

    def missing(self) -> list[str]:
        """The required fields no column fills, and the place when nothing can give one."""
        absent = [f.name for f in BY_NAME.values() if f.required and f.name not in self.positions]
        if not any(name in self.positions for name in ("latitude", "commune", "postcode")):
            absent.append("commune")
        return absent

    def line(self, number: int, cells: list) -> Line:
        line = Line(number)
        raw = {}
        for name, index in self.positions.items():
            cell = cells[index] if index < len(cells) else None
            try:
                value = self.cell(name, cell)
            except CellError as error:
                line.errors.append((self.headers[name], str(error)))
                if isinstance(error, UnknownWord):
                    line.unknown.append((error.field, error.word))
                continue
            if value is not None:
                raw[name] = value
        self._place(line, raw)
        if not line.errors:
            self._load(line, raw)
        return line

    # Cells ------------------------------------------------------------------------------------

    def cell(self, name: str, value):
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        kind = BY_NAME[name].kind
        reader = READERS.get(kind)
        if reader is not None:
            return reader(value)
        if kind == "code":
            return self.code(name, value)
        if kind == "codes":
            return self.codes(name, value)
        return text(value)

    def code(self, name: str, value) -> str:
        code = self.words[name].get(normalised(value))
        if code is not None:
            return code
        raise self.unknown(name, value)

    def unknown(self, name: str, value) -> UnknownWord:
        vocabulary = BY_NAME[name].vocabulary
        allowed = ", ".join(str(label) for label in vocabulary.values())
        message = _(
            "Valeur inconnue : « %(value)s » ; valeurs permises : %(allowed)s.",
            value=text(value),
            allowed=allowed,
        )
        return UnknownWord(message, name, text(value))

    def codes(self, name: str, value) -> list[str]:
        words, codes = self.words[name], []
        for piece in pieces(text(value)):
            code = words.get(normalised(piece))
            if code is not None:
                codes.append(code)
                continue
            # "Aspiration, Diagnostic": commas too, but not inside a label's parentheses.
            codes.extend(self.code(name, p) for p in COMMAS_OUTSIDE_PARENTHESES.split(piece))
        return list(dict.fromkeys(codes))

    # Place and schema -------------------------------------------------------------------------

    def _place(self, line: Line, raw: dict):
        latitude, longitude = raw.pop("latitude", None), raw.pop("longitude", None)
        commune, postcode = raw.pop("commune", None), raw.pop("postcode", None)
        if (latitude is None) != (longitude is None):
            header = self.headers["longitude" if longitude is None else "latitude"]
            line.errors.append((header, _("Latitude et longitude vont ensemble.")))
            return
        if latitude is not None:
            line.point = (longitude, latitude)
            raw["location"] = {"type": "Point", "coordinates": [longitude, latitude]}
        if commune is None and postcode is None:
            if latitude is None:
                header = self.headers.get("commune") or self.headers.get("latitude", "")
                line.errors.append((header, _("Indiquez une commune ou un point.")))
            return
        try:
            code = self.places.resolve(commune, postcode)
        except CellError as error:
            if latitude is None:  # with a point, the point decides
                header = self.headers["commune" if commune is not None else "postcode"]
                line.errors.append((header, str(error)))
            return
        raw["commune"] = code

    def _load(self, line: Line, raw: dict):
        # Vulnerabilities come as one list, or as a yes/no column each: answered when any
        # of those cells is filled, unanswered (absent, not "none") when all are empty.
        answered = [name for name in VULNERABILITY_FIELDS if name in raw]
        chosen = set(raw.pop("vulnerabilities", []))
        for name in VULNERABILITIES:
            if raw.pop(f"vulnerability_{name}", False):
                chosen.add(name)
        if answered:
            raw["vulnerabilities"] = sorted(chosen)
        try:
            line.data = self.schema.load(raw)
        except ma.ValidationError as error:
            line.errors.extend(self._schema_errors(error.messages))

    def _schema_errors(self, messages: dict) -> list[tuple[str, str]]:
        found = []
        for name, message in messages.items():
            header = self.headers.get(name) or self._header_of_place(name) or name
            found.append((header, " ".join(flat(message))))
        return found

    def _header_of_place(self, name: str) -> str | None:
        if name == "location":
            return self.headers.get("latitude") or self.headers.get("commune")
        return None


# Readers of one kind of cell -------------------------------------------------------------------


def known_words(vocabulary: dict) -> dict[str, str]:
    """A list's codes and labels, normalised, each to its code."""
    words = {normalised(label): code for code, label in vocabulary.items()}
    words.update({normalised(code): code for code in vocabulary})
    return words


def text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())


def pieces(value: str) -> list[str]:
    return [piece.strip() for piece in LIST_SEPARATORS.split(value) if piece.strip()]


def number(value) -> float:
    if isinstance(value, bool):
        raise CellError(_("Nombre attendu."))
    if isinstance(value, int | float):
        return float(value)
    cleaned = re.sub(r"[\s\u00a0\u202f€]", "", str(value)).replace(",", ".")
    try:
        return float(cleaned)
    except ValueError:
        raise CellError(_("Nombre illisible : « %(value)s ».", value=text(value))) from None


def integer(value) -> int:
    found = number(value)
    if not found.is_integer():
        raise CellError(_("Nombre entier attendu : « %(value)s ».", value=text(value)))
    return int(found)


def date(value) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _serial(value, value)
    written = text(value).split(" ")[0]
    if written.isdigit() and int(written) in SERIALS:
        return _serial(int(written), value)
    for pattern in DATE_FORMATS:
        try:
            return dt.datetime.strptime(written, pattern).date().isoformat()
        except ValueError:
            continue
    raise CellError(
        _("Date illisible : « %(value)s » ; écrivez JJ/MM/AAAA ou AAAA-MM-JJ.", value=text(value))
    )


def _serial(serial, written) -> str:
    if int(serial) not in SERIALS:
        raise CellError(_("Date illisible : « %(value)s ».", value=text(written)))
    return (EXCEL_EPOCH + dt.timedelta(days=int(serial))).isoformat()


def boolean(value) -> bool:
    key = normalised(value) if not isinstance(value, bool) else ("1" if value else "0")
    if key in TRUE:
        return True
    if key in FALSE:
        return False
    raise CellError(_("Oui ou non attendu : « %(value)s ».", value=text(value)))


READERS = {
    "date": date,
    "decimal": number,
    "integer": integer,
    "boolean": boolean,
    "uuid": text,
    "text": text,
}


def flat(message) -> list[str]:
    if isinstance(message, dict):
        return [m for value in message.values() for m in flat(value)]
    if isinstance(message, list):
        return [m for value in message for m in flat(value)]
    return [str(message)]
