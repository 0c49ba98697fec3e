"""The tables the platform publishes, described for others: the evaluator export and the
open-data indicators as Frictionless Table Schemas (the convention of schema.data.gouv.fr),
their versions, and the import templates partners fill in.

Every description is built from the definitions the export, the import and the indicators
already use (`exports.COLUMNS`, `imports.fields.FIELDS`, `indicators.INDICATORS`), so that
the schema, the data dictionary and the files cannot disagree. A schema is always written in
French, whatever the reader's language: it is a public reference. Each schema's fields have
a fingerprint; the last entry of its changelog holds the fingerprint it was published with,
and a test fails when a definition changes without a new version.
"""

import csv
import datetime as dt
import hashlib
import io
import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation

from . import exports, privacy
from .exports import COLUMNS, TYPE_LABELS, Column
from .imports.fields import ImportField, template_fields
from .indicators import INDICATORS
from .permissions import Actor
from .schemas import MAX_COST
from .vocabulary import VULNERABILITIES

LANGUAGE = "fr"
PROFILE = "https://specs.frictionlessdata.io/schemas/table-schema.json"
LICENCE = {
    "name": "etalab-2.0",
    "title": "Licence Ouverte / Open Licence version 2.0",
    "path": "https://www.etalab.gouv.fr/licence-ouverte-open-licence",
}
CONTRIBUTORS = [{"title": "Oh Punaises!", "role": "author"}]
VIEWS = ("full", "pseudonymised")


class Change(NamedTuple):
    """One published version of a schema: its number, date, what changed (in French), and
    the fingerprint of its fields in each view."""

    version: str
    date: str
    text: str
    fingerprints: dict


# A new entry whenever a field's definition changes (name, label, type, note, allowed
# values, constraints): minor when only adding a column, major when removing or renaming.
CHANGELOG = (
    Change(
        "1.0.0",
        "2026-12-03",
        "Première version publiée : l'export des signalements, complet et pseudonymisé.",
        {
            "full": "c6a9c37e73290818c56564dcb1ff41c762a1b0e7e3c78673f834dc3f8dac6edd",
            "pseudonymised": "4a615af52ef82d2c90c78ee9ec692ea6b9f6b1f5613c4e11b052e019273e9397",
        },
    ),
)
VERSION = CHANGELOG[-1].version

INDICATORS_CHANGELOG = (
    Change(
        "1.0.0",
        "2026-12-03",
        "Première version publiée : indicateurs par commune et par trimestre.",
        {"indicators": "fceab7ed301aa42e62762943c7a18df1d0ee5f18b42629bd7dbe3b490224f009"},
    ),
)
INDICATORS_VERSION = INDICATORS_CHANGELOG[-1].version


def fingerprint(schema: dict) -> str:
    """SHA-256 of the canonical JSON of a schema's fields, examples aside (an example is not
    a definition)."""
    fields = [
        {key: value for key, value in field.items() if key != "example"}
        for field in schema["fields"]
    ]
    canonical = json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _header(name: str, title, description, changelog: tuple[Change, ...]) -> dict:
    return {
        "$schema": PROFILE,
        "name": name,
        "title": str(title),
        "description": str(description),
        "countryCode": "FR",
        "version": changelog[-1].version,
        "created": changelog[0].date,
        "lastModified": changelog[-1].date,
        "licenses": [dict(LICENCE)],
        "contributors": [dict(contributor) for contributor in CONTRIBUTORS],
        "missingValues": [""],
    }


# The evaluator export -------------------------------------------------------------------------

REPORT_NAMES = {
    "full": "ohpunaises-signalements",
    "pseudonymised": "ohpunaises-signalements-pseudonymises",
}
REPORT_TITLES = {
    "full": _l("Signalements d'interventions contre les punaises de lit"),
    "pseudonymised": _l("Signalements d'interventions contre les punaises de lit, pseudonymisés"),
}
REPORT_DESCRIPTION = _l(
    "Une ligne par intervention signalée par une structure partenaire du programme Oh "
    "Punaises! (Lyon et sa métropole), telle que l'écrit l'export CSV des signalements "
    "(GET /api/v1/exports/reports.csv) avec ses options par défaut : UTF-8 avec BOM, "
    "séparateur « ; », virgule décimale, dates au jour, une ligne d'en-tête. Avec sep=comma, "
    "le séparateur est « , » et le point est décimal ; avec dates=month, les dates sont au "
    "mois (AAAA-MM) : ces variantes ne suivent pas ce schéma. Une case vide est une valeur "
    "inconnue."
)
VIEW_DESCRIPTIONS = {
    "full": _l(
        "Export complet : coordination (son périmètre) et administrateurs de structure (leur "
        "structure)."
    ),
    "pseudonymised": _l(
        "Export pseudonymisé (évaluation) : pseudonymes à clé au lieu des identifiants, sans "
        "notes ni clé de logement, coordonnées arrondies à 0,01°."
    ),
}
PRIMARY_KEYS = {"full": "report_id", "pseudonymised": "report_pseudonym"}

# Columns the export always fills: the database holds no null for them, and booleans are
# written 0 or 1 whatever they hold.
ALWAYS_FILLED = frozenset(
    {
        "report_id",
        "report_pseudonym",
        "structure_id",
        "structure_pseudonym",
        "structure_kind",
        "source",
        "intervention_date",
        "commune",
        "housing",
        "infestation_level",
        "status",
        "anonymised",
        "created_at",
        "updated_at",
        *(f"vulnerability_{name}" for name in VULNERABILITIES),
    }
)
INSEE_CODE = "[0-9][0-9AB][0-9]{3}"
PSEUDONYM = f"[0-9a-f]{{{privacy.PSEUDONYM_LENGTH}}}"
PATTERNS = {
    "commune": INSEE_CODE,
    "arrondissement": INSEE_CODE,
    "report_pseudonym": PSEUDONYM,
    "structure_pseudonym": PSEUDONYM,
    "dwelling_key": "[0-9a-f]{64}",
}
# The bounds the API checks on entry (`schemas.ReportCreateSchema`).
BOUNDS = {
    "structure_id": (1, None),
    "household_size": (1, 30),
    "latitude": (-90, 90),
    "longitude": (-180, 180),
    "cost_total": (0, MAX_COST),
    "cost_household": (0, MAX_COST),
}
DECIMAL_NOTE = _l("Virgule décimale (point décimal avec sep=comma).")
TYPES = {
    "uuid": {"type": "string", "format": "uuid"},
    "text": {"type": "string"},
    "integer": {"type": "integer"},
    "decimal": {"type": "number", "decimalChar": ","},
    "date": {"type": "date"},
    "datetime": {"type": "datetime"},
    "boolean": {"type": "boolean", "trueValues": ["1"], "falseValues": ["0"]},
    "code": {"type": "string"},
    "codes": {"type": "string"},
}


def report_schema(view: str = "full") -> dict:
    """The Table Schema of the evaluator export in `view` ("full" or "pseudonymised")."""
    if view not in VIEWS:
        raise ValueError(f"unknown view: {view!r}")
    with force_locale(LANGUAGE):
        description = f"{REPORT_DESCRIPTION} {VIEW_DESCRIPTIONS[view]}"
        schema = _header(REPORT_NAMES[view], REPORT_TITLES[view], description, CHANGELOG)
        columns = view_columns(view)
        example = dict(zip([c.name for c in columns], example_rows(view)[0], strict=True))
        schema["fields"] = [report_field(column, example[column.name]) for column in columns]
    schema["primaryKey"] = [PRIMARY_KEYS[view]]
    return schema


def view_columns(view: str) -> list[Column]:
    return [column for column in COLUMNS if view in column.views]


def report_field(column: Column, example: str = "") -> dict:
    """One export column as a Table Schema field."""
    field = {
        "name": column.name,
        "title": str(column.label),
        "description": _field_description(column),
        **TYPES[column.type],
    }
    constraints = _constraints(column)
    if constraints:
        field["constraints"] = constraints
    if column.vocabulary is not None and column.type == "code":
        field["enumLabels"] = {code: str(label) for code, label in column.vocabulary.items()}
    # Frictionless checks an example without its decimalChar: number fields carry none.
    if example and column.type != "decimal":
        field["example"] = example
    return field


def _field_description(column: Column) -> str:
    text = str(column.note) or f"{column.label}."
    return f"{text} {DECIMAL_NOTE}" if column.type == "decimal" else text


def _constraints(column: Column) -> dict:
    constraints = {}
    if column.name in ALWAYS_FILLED:
        constraints["required"] = True
    if column.vocabulary is not None and column.type == "code":
        constraints["enum"] = list(column.vocabulary)
    if column.type == "codes":
        constraints["pattern"] = list_pattern(column.vocabulary)
    if column.name in PATTERNS:
        constraints["pattern"] = PATTERNS[column.name]
    low, high = BOUNDS.get(column.name, (None, None))
    if low is not None:
        constraints["minimum"] = low
    if high is not None:
        constraints["maximum"] = high
    return constraints


def list_pattern(vocabulary: dict) -> str:
    """Codes of `vocabulary` joined by `|` (Table Schema patterns match the whole cell)."""
    one = "(" + "|".join(vocabulary) + ")"
    return f"{one}(\\{exports.LIST_SEPARATOR}{one})*"


# Examples, written as the export writes them ---------------------------------------------------


def _vulnerable(*names: str) -> dict:
    return {f"vulnerability_{name}": name in names for name in VULNERABILITIES}


EXAMPLE_REPORTS = (
    {
        "report_id": uuid.UUID("5b0f3c1e-8a52-4c1b-9d0e-2f6a7b8c9d01"),
        "report_pseudonym": "4e1f9a0b7c2d3e8f5a61",
        "structure_id": 12,
        "structure_pseudonym": "9c3d2b1a0f8e7d6c5b4a",
        "structure_kind": "social_landlord",
        "source": "form",
        "intervention_date": dt.date(2026, 3, 17),
        "commune": "69123",
        "arrondissement": "69382",
        "qpv": None,
        "latitude": 45.76431,
        "longitude": 4.83567,
        "housing": "social",
        "building_type": "collective",
        "household_size": 3,
        **_vulnerable("young_children"),
        "infestation_level": "moderate",
        "confirmation": "visual",
        "actions": "diagnosis|chemical_treatment",
        "cost_total": Decimal("450.00"),
        "cost_payer": "landlord",
        "cost_household": Decimal("0.00"),
        "status": "resolved",
        "resolved_on": dt.date(2026, 4, 28),
        "dwelling_key": "a3c5e7f9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a5",
        "notes": "Voisins prévenus",
        "anonymised": None,
        "created_at": dt.datetime(2026, 3, 17, 14, 2, 11, 482913, tzinfo=dt.UTC),
        "updated_at": dt.datetime(2026, 4, 28, 9, 30, 0, 120000, tzinfo=dt.UTC),
    },
    {
        "report_id": uuid.UUID("c2a7d9e4-1f3b-4a6c-8e5d-7b9f0a1c2d33"),
        "report_pseudonym": "b7c8d9e0f1a2b3c4d5e6",
        "structure_id": 7,
        "structure_pseudonym": "0a1b2c3d4e5f60718293",
        "structure_kind": "association",
        "source": "api",
        "intervention_date": dt.date(2026, 6, 2),
        "commune": "69266",
        "arrondissement": None,
        "qpv": None,
        "latitude": None,
        "longitude": None,
        "housing": "private_rented",
        "building_type": None,
        "household_size": None,
        **_vulnerable("minimum_benefits", "isolated_elderly"),
        "infestation_level": "severe",
        "confirmation": None,
        "actions": "vacuuming|social_support|decluttering",
        "cost_total": None,
        "cost_payer": None,
        "cost_household": None,
        "status": "ongoing",
        "resolved_on": None,
        "dwelling_key": None,
        "notes": None,
        "anonymised": None,
        "created_at": dt.datetime(2026, 6, 2, 16, 45, 3, 5, tzinfo=dt.UTC),
        "updated_at": dt.datetime(2026, 6, 2, 16, 45, 3, 5, tzinfo=dt.UTC),
    },
    {
        "report_id": uuid.UUID("0e9d8c7b-6a59-4483-9271-605f4e3d2c1b"),
        "report_pseudonym": "1f2e3d4c5b6a79881726",
        "structure_id": 12,
        "structure_pseudonym": "9c3d2b1a0f8e7d6c5b4a",
        "structure_kind": "social_landlord",
        "source": "import",
        "intervention_date": dt.date(2020, 9, 14),
        "commune": "69259",
        "arrondissement": None,
        "qpv": None,
        "latitude": None,
        "longitude": None,
        "housing": "social",
        "building_type": "collective",
        "household_size": 5,
        **_vulnerable(),
        "infestation_level": "low",
        "confirmation": "canine_detection",
        "actions": "canine_detection|heat_treatment",
        "cost_total": Decimal("1280.50"),
        "cost_payer": "shared",
        "cost_household": Decimal("120.00"),
        "status": "reinfested",
        "resolved_on": dt.date(2020, 10, 30),
        "dwelling_key": None,
        "notes": None,
        "anonymised": dt.datetime(2025, 12, 1, 3, 0, 0, 0, tzinfo=dt.UTC),
        "created_at": dt.datetime(2020, 9, 15, 8, 12, 40, 900001, tzinfo=dt.UTC),
        "updated_at": dt.datetime(2025, 12, 1, 3, 0, 0, 0, tzinfo=dt.UTC),
    },
)
LOCATIONS = {"full": "point", "pseudonymised": "rounded"}


def example_rows(view: str) -> list[list[str]]:
    """The example reports as the export writes them in `view`, by the export's own
    converters (fixed pseudonyms aside: real ones depend on the deployment's key)."""
    actor = Actor.operator("coordinator")
    options = exports.Options(location=LOCATIONS[view])
    names = [column.name for column in exports.columns_for(actor.role)]
    convert = exports.converters(actor, options)
    rows = []
    for report in EXAMPLE_REPORTS:
        values = [report[name] for name in names]
        for index, function in convert:
            values[index] = function(values[index])
        written = {**dict(zip(names, values, strict=True)), **_pseudonyms(report)}
        rows.append([_text(written[column.name]) for column in view_columns(view)])
    return rows


def _pseudonyms(report: dict) -> dict:
    return {name: report[name] for name in ("report_pseudonym", "structure_pseudonym")}


def _text(value) -> str:
    return "" if value is None else str(value)


def example_csv(view: str = "full") -> bytes:
    """A few example rows of the export, byte for byte as it writes them."""
    buffer = io.StringIO()
    buffer.write(exports.BOM)
    writer = csv.writer(buffer, delimiter=";", lineterminator=exports.LINE_END)
    writer.writerow(column.name for column in view_columns(view))
    writer.writerows(example_rows(view))
    return buffer.getvalue().encode()


def report_dialect() -> dict:
    """How the default export is written, for the resource that points to its schema."""
    return {"delimiter": ";", "header": True}


# The open-data indicators ---------------------------------------------------------------------


@dataclass(frozen=True)
class IndicatorColumn:
    """One column of the open-data CSV; `indicator` names the indicator it reads, if any."""

    name: str
    type: str
    title: object = None
    description: object = None
    indicator: str | None = None
    places: int | None = None  # decimals written for a number
    constraints: tuple = ()

    def field(self) -> dict:
        """The column as a Table Schema field (titles and definitions of the indicators')."""
        definition = INDICATORS[self.indicator].describe() if self.indicator else None
        title = definition["label"] if definition else str(self.title)
        description = (
            _("%(definition)s Unité : %(unit)s.", **definition)
            if definition
            else str(self.description)
        )
        field = {"name": self.name, "title": title, "description": description, "type": self.type}
        if self.constraints:
            field["constraints"] = dict(self.constraints)
        return field


HIDDEN_REASON = "secret statistique"
COUNT = (("minimum", 0),)
PERCENT = (("minimum", 0), ("maximum", 100))
PLACE_COLUMNS = (
    IndicatorColumn(
        "code_insee",
        "string",
        _l("Code INSEE de la commune"),
        _l("Code officiel géographique de la commune (Lyon : 69123)."),
        constraints=(("required", True), ("pattern", INSEE_CODE)),
    ),
    IndicatorColumn(
        "commune",
        "string",
        _l("Nom de la commune"),
        _l("Nom de la commune."),
        constraints=(("required", True),),
    ),
    IndicatorColumn(
        "trimestre",
        "string",
        _l("Trimestre"),
        _l("Trimestre civil de la date d'intervention, AAAA-Tn (2026-T1 : janvier à mars)."),
        constraints=(("required", True), ("pattern", "[0-9]{4}-T[1-4]")),
    ),
    IndicatorColumn(
        "debut",
        "date",
        _l("Début du trimestre"),
        _l("Premier jour du trimestre (AAAA-MM-JJ)."),
        constraints=(("required", True),),
    ),
    IndicatorColumn(
        "fin",
        "date",
        _l("Fin du trimestre"),
        _l("Dernier jour du trimestre (AAAA-MM-JJ)."),
        constraints=(("required", True),),
    ),
    IndicatorColumn(
        "population",
        "integer",
        _l("Population municipale"),
        _l("Population municipale (INSEE) de la commune, base des taux pour 10 000 habitants."),
        constraints=COUNT,
    ),
)
FIGURE_COLUMNS = (
    IndicatorColumn("signalements", "integer", indicator="reports", constraints=COUNT),
    IndicatorColumn(
        "logements_distincts", "integer", indicator="distinct_dwellings", constraints=COUNT
    ),
    IndicatorColumn("personnes_touchees", "integer", indicator="people_reached", constraints=COUNT),
    IndicatorColumn(
        "signalements_pour_10000_habitants",
        "number",
        indicator="reports_per_10000",
        places=2,
        constraints=COUNT,
    ),
    IndicatorColumn(
        "part_menages_vulnerables",
        "number",
        indicator="share_vulnerable",
        places=1,
        constraints=PERCENT,
    ),
    IndicatorColumn(
        "part_logement_social",
        "number",
        indicator="share_social_housing",
        places=1,
        constraints=PERCENT,
    ),
    IndicatorColumn(
        "part_quartier_prioritaire",
        "number",
        indicator="share_in_qpv",
        places=1,
        constraints=PERCENT,
    ),
    IndicatorColumn(
        "taux_resolution", "number", indicator="resolution_rate", places=1, constraints=PERCENT
    ),
    IndicatorColumn(
        "cout_moyen_intervention",
        "number",
        indicator="mean_cost_total",
        places=2,
        constraints=COUNT,
    ),
    IndicatorColumn(
        "reste_a_charge_moyen",
        "number",
        indicator="mean_cost_household",
        places=2,
        constraints=COUNT,
    ),
    IndicatorColumn(
        "part_traitements_non_chimiques",
        "number",
        indicator="share_non_chemical",
        places=1,
        constraints=PERCENT,
    ),
)
HIDDEN_COLUMNS = (
    IndicatorColumn(
        "motif_masquage",
        "string",
        _l("Motif du masquage"),
        _l(
            "« secret statistique » quand une valeur de la ligne est masquée : effectif de 1 à "
            "K-1 après perturbation, ou valeur calculée sur un effectif masqué ; vide sinon."
        ),
        constraints=(("enum", [HIDDEN_REASON]),),
    ),
    IndicatorColumn(
        "valeurs_masquees",
        "string",
        _l("Valeurs masquées"),
        _l("Noms des colonnes masquées de la ligne, séparés par « | »."),
        constraints=(("pattern", list_pattern({c.name: None for c in FIGURE_COLUMNS})),),
    ),
)
INDICATOR_COLUMNS = (*PLACE_COLUMNS, *FIGURE_COLUMNS, *HIDDEN_COLUMNS)

INDICATORS_NAME = "ohpunaises-indicateurs-communes"
INDICATORS_TITLE = _l("Punaises de lit : indicateurs par commune et par trimestre")
INDICATORS_DESCRIPTION = _l(
    "Indicateurs du programme Oh Punaises! contre les punaises de lit (Lyon et sa métropole), "
    "par commune et par trimestre civil, tels que le public les lit : chaque effectif est "
    "décalé d'un petit écart aléatoire, toujours le même, et masqué de 1 à K-1 ; une valeur "
    "calculée sur un effectif masqué l'est aussi. Une case masquée est vide et la colonne "
    "motif_masquage dit pourquoi ; une case vide sans motif est une valeur qui ne se calcule "
    "pas (aucun signalement, par exemple). CSV en UTF-8 sans BOM, séparateur « , », point "
    "décimal, dates AAAA-MM-JJ."
)


def indicators_schema() -> dict:
    """The Table Schema of the open-data CSV of indicators per commune and quarter."""
    with force_locale(LANGUAGE):
        schema = _header(
            INDICATORS_NAME, INDICATORS_TITLE, INDICATORS_DESCRIPTION, INDICATORS_CHANGELOG
        )
        schema["fields"] = [column.field() for column in INDICATOR_COLUMNS]
    schema["primaryKey"] = ["code_insee", "trimestre"]
    return schema


# Import templates -----------------------------------------------------------------------------

# One valid line, by field: codes are written as their French labels, as partners write them.
TEMPLATE_EXAMPLE = {
    "intervention_date": dt.date(2026, 11, 2),
    "commune": "69123",
    "postcode": "69002",
    "housing": "social",
    "building_type": "collective",
    "household_size": 3,
    "vulnerabilities": ("young_children",),
    "infestation_level": "moderate",
    "confirmation": "visual",
    "actions": ("diagnosis", "chemical_treatment"),
    "cost_total": 450.0,
    "cost_payer": "landlord",
    "cost_household": 0.0,
    "status": "ongoing",
    "dwelling_ref": "Bât. B, appt 12",
    "notes": "Voisins prévenus",
}
TEMPLATE_LIST_SEPARATOR = " | "
TEMPLATE_ROWS = 1000  # rows of the sheet that offer the allowed values in a drop-down list


def template_headers() -> list[str]:
    return [str(field.label) for field in template_fields()]


def template_value(field: ImportField):
    """The example's cell for one field, as a spreadsheet holds it (labels for codes)."""
    value = TEMPLATE_EXAMPLE.get(field.name)
    if value is None:
        return None
    if field.kind == "codes":
        return TEMPLATE_LIST_SEPARATOR.join(str(field.vocabulary[code]) for code in value)
    if field.kind == "code" and field.vocabulary:
        return str(field.vocabulary[value])
    return value


def template_text(field: ImportField) -> str:
    """The example's cell as text, in French spreadsheet notation (CSV)."""
    value = template_value(field)
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float):
        return f"{value:.2f}".replace(".", ",")
    return str(value)


def template_csv() -> bytes:
    """The import template as CSV: UTF-8 with BOM, `;`, French labels, one example line."""
    buffer = io.StringIO()
    buffer.write(exports.BOM)
    writer = csv.writer(buffer, delimiter=";", lineterminator=exports.LINE_END)
    with force_locale(LANGUAGE):  # the import knows its headers and values in French
        writer.writerow(template_headers())
        writer.writerow(template_text(field) for field in template_fields())
    return buffer.getvalue().encode()


def template_xlsx() -> bytes:
    """The import template as XLSX: the sheet to fill in (bold, frozen header and one example
    line), the allowed values, and how to fill in each column."""
    book = Workbook()
    with force_locale(LANGUAGE):  # the import knows its headers and values in French
        sheet = book.active
        sheet.title = _("Signalements")
        allowed = book.create_sheet(_("Valeurs permises"))
        ranges = _allowed_values_sheet(allowed)
        _reports_sheet(sheet, allowed.title, ranges)
        _guide_sheet(book.create_sheet(_("Mode d'emploi")))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


BOLD = Font(bold=True)


def _bold_header(sheet, names: list[str], widths: list[int]) -> None:
    sheet.append(names)
    for cell, width in zip(sheet[1], widths, strict=True):
        cell.font = BOLD
        sheet.column_dimensions[cell.column_letter].width = width
    sheet.freeze_panes = "A2"


def _reports_sheet(sheet, allowed_title: str, ranges: dict) -> None:
    fields = template_fields()
    _bold_header(sheet, template_headers(), [max(14, len(str(f.label)) + 2) for f in fields])
    sheet.append([template_value(field) for field in fields])
    for index, field in enumerate(fields, start=1):
        cell = sheet.cell(row=2, column=index)
        if field.kind == "date":
            cell.number_format = "DD/MM/YYYY"
        elif field.kind == "decimal":
            cell.number_format = "0.00"
        if field.name in ranges and field.kind == "code":
            _drop_down(sheet, index, allowed_title, ranges[field.name])


def _drop_down(sheet, column: int, allowed_title: str, rows: tuple[int, int]) -> None:
    """The field's labels offered in a list; another value (a code) stays allowed."""
    first, last = rows
    source = f"{quote_sheetname(allowed_title)}!$C${first}:$C${last}"
    validation = DataValidation(type="list", formula1=source, allow_blank=True)
    validation.showErrorMessage = False
    letter = get_column_letter(column)
    validation.add(f"{letter}2:{letter}{TEMPLATE_ROWS}")
    sheet.add_data_validation(validation)


def _allowed_values_sheet(sheet) -> dict[str, tuple[int, int]]:
    """One line per allowed value of each coded field; the rows each field's values fill."""
    _bold_header(sheet, [_("Colonne"), _("Code"), _("Libellé")], [32, 26, 44])
    ranges = {}
    for field in template_fields():
        if not field.vocabulary:
            continue
        first = sheet.max_row + 1
        for code, label in field.vocabulary.items():
            sheet.append([str(field.label), code, str(label)])
        ranges[field.name] = (first, sheet.max_row)
    return ranges


def _guide_sheet(sheet) -> None:
    names = [_("Colonne"), _("Obligatoire"), _("Type"), _("Explication")]
    _bold_header(sheet, names, [32, 14, 20, 90])
    for field in template_fields():
        sheet.append(
            [
                str(field.label),
                _("oui") if field.required else _("non"),
                str(TYPE_LABELS[field.kind]),
                guide_note(field),
            ]
        )


# How to write each kind of cell, as the import reads it (`imports.rows`). A column the export
# shares keeps its note for the export; the import's own columns have notes for partners.
KIND_HINTS = {
    "uuid": _l(
        "Facultatif : l'identifiant UUID du signalement s'il en a déjà un ; importer deux fois "
        "le même fichier n'enregistre rien de nouveau."
    ),
    "date": _l("JJ/MM/AAAA ou AAAA-MM-JJ, ou une date du tableur."),
    "integer": _l("Nombre entier."),
    "decimal": _l("Nombre, virgule ou point décimal."),
    "boolean": _l("oui ou non (1 ou 0)."),
    "code": _l("Un code ou un libellé de la feuille « Valeurs permises »."),
    "codes": _l(
        "Un ou plusieurs codes ou libellés de la feuille « Valeurs permises », séparés par "
        "« | » ou « ; »."
    ),
    "text": "",
}
PLACE_HINT = _l(
    "La latitude et la longitude (WGS84) placent l'intervention ; sans elles, la commune."
)


def guide_note(field: ImportField) -> str:
    """How to fill in a column, as the import reads it."""
    own = not field.column.views  # a column of the import only
    parts = [str(field.column.note) if own else str(KIND_HINTS[field.kind])]
    if field.name in ("latitude", "longitude"):
        parts.append(str(PLACE_HINT))
    if field.name == "commune":
        parts.append(_("Obligatoire sans latitude ni longitude."))
    if own and field.vocabulary:
        parts.append(_("Codes ou libellés : feuille « Valeurs permises »."))
    return " ".join(part for part in parts if part)
