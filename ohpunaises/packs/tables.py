"""The pack as tables: an XLSX workbook (openpyxl) and one CSV for French spreadsheets.

Numbers are written as numbers (in the CSV with a decimal comma), a hidden value as an empty
value beside its displayed text ("< 5", "s"), so that nobody mistakes a hidden cell for a
zero. Free text never becomes a formula.
"""

import csv
import datetime as dt
import io
import math
from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..exports import spreadsheet_safe
from . import (
    approval_words,
    as_date,
    as_moment,
    day_words,
    decimal,
    direction_words,
    moment_words,
    period_words,
    with_threshold,
)

STATUS_WORDS = {
    "approved": _l("approuvé"),
    "draft": _l("projet (non approuvé)"),
    "withdrawn": _l("retiré"),
}


# Values -----------------------------------------------------------------------------------------


def number(cell: dict | None):
    """A readable figure as a number (or a date); None when hidden or absent."""
    if not cell or cell.get("suppressed"):
        return None
    value = cell.get("value")
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return value if math.isfinite(value) else None
    return as_date(value)


def previous_value(indicator: dict):
    """The previous period's value as a number, else its displayed text ("< 5", "s")."""
    previous = indicator.get("previous") or {}
    value = number(previous)
    return (previous.get("display") or None) if value is None else value


def _text(value):
    return str(value) if value is not None else None


# Rows shared by both formats ------------------------------------------------------------------


def indicator_rows(content: dict, meta: dict | None = None) -> list[list]:
    """Indicateurs: one row per indicator."""
    return [
        [
            indicator.get("theme_label"),
            indicator.get("label"),
            indicator.get("id"),
            number(indicator),
            indicator.get("display"),
            previous_value(indicator),
            (indicator.get("change") or {}).get("percent"),
            direction_words((indicator.get("change") or {}).get("direction")),
            indicator.get("unit"),
            indicator.get("definition"),
        ]
        for indicator in content.get("indicators") or []
    ]


def part_rows(content: dict, meta: dict | None = None) -> list[list]:
    """Ventilations: one row per part of each breakdown."""
    return [
        [
            indicator.get("label"),
            indicator.get("id"),
            part.get("category"),
            part.get("subcategory"),
            part.get("label"),
            number(part),
            part.get("display"),
        ]
        for indicator in content.get("indicators") or []
        for part in indicator.get("parts") or []
    ]


def target_rows(content: dict, meta: dict | None = None) -> list[list]:
    """Cibles: where each target stands at the period's end."""
    rows = []
    for target in content.get("targets") or []:
        baseline = target.get("baseline") or {}
        thresholds = target.get("thresholds") or {}
        milestones = "; ".join(
            f"{decimal(m.get('value') or 0, 2)} au {day_words(m.get('date'))}"
            for m in target.get("milestones") or []
        )
        rows.append(
            [
                target.get("indicator_label"),
                target.get("indicator"),
                target.get("agreement"),
                target.get("deployment"),
                target.get("territory_name"),
                baseline.get("value"),
                as_date(baseline.get("date")),
                baseline.get("source"),
                milestones,
                as_date(target.get("as_of")),
                as_date(target.get("counted_from")),
                target.get("expected"),
                target.get("actual"),
                target.get("actual_display"),
                target.get("share"),
                thresholds.get("on_track"),
                thresholds.get("at_risk"),
                target.get("status_label"),
            ]
        )
    return rows


def territory_rows(content: dict, meta: dict | None = None) -> list[list]:
    """Territoires: the map's values by territory."""
    territories = (content.get("map") or {}).get("territories") or []
    return [
        [row.get("code"), row.get("name"), number(row), row.get("display")] for row in territories
    ]


def definition_rows(content: dict, meta: dict | None = None) -> list[list]:
    """Définitions: what each indicator means, what it rests on, how it is protected."""
    k = (content.get("suppression") or {}).get("k")
    return [
        [
            indicator.get("id"),
            indicator.get("label"),
            indicator.get("theme_label"),
            indicator.get("unit"),
            indicator.get("definition"),
            indicator.get("basis"),
            with_threshold(indicator.get("protection") or "", k),
        ]
        for indicator in content.get("indicators") or []
    ]


def summary_rows(content: dict, meta: dict) -> list[list]:
    """Synthèse: what the pack is, who froze and approved it, how to check it."""
    period = content.get("period") or {}
    previous = content.get("previous_period") or {}
    content_map = content.get("map") or {}
    return [
        [_("Titre"), content.get("title")],
        [
            _("Déploiement"),
            (content.get("deployment") or {}).get("name") or _("Ensemble du programme"),
        ],
        [_("Période"), f"{period.get('label', '')}, {period_words(period)}"],
        [_("Début de la période"), as_date(period.get("start"))],
        [_("Fin de la période"), as_date(period.get("end"))],
        [
            _("Période précédente"),
            f"{previous.get('label', '')}, {period_words(previous)}" if previous else None,
        ],
        [_("Chiffres figés le"), moment_words(content.get("frozen_at"))],
        [_("Établi par"), content.get("author")],
        [_("Statut"), str(STATUS_WORDS.get(meta.get("status"), meta.get("status")))],
        [_("Approbation"), approval_words(meta)],
        [_("Empreinte (SHA-256)"), meta.get("content_hash")],
        [_("Version des données"), _text(content.get("data_version"))],
        [_("Petits effectifs masqués"), (content.get("suppression") or {}).get("note")],
        [
            _("Carte"),
            " — ".join(filter(None, [content_map.get("label"), content_map.get("unit")])) or None,
        ],
        [_("Sources"), " ; ".join(content.get("sources") or [])],
    ]


# XLSX -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sheet:
    """A sheet of the workbook: its name, headers, column widths, wrapped columns, rows."""

    name: object
    headers: tuple
    widths: tuple[int, ...]
    wrapped: tuple[int, ...]
    rows: Callable[[dict, dict], list[list]]


SHEETS = (
    Sheet(_l("Synthèse"), (_l("Rubrique"), _l("Valeur")), (28, 90), (1,), summary_rows),
    Sheet(
        _l("Indicateurs"),
        (
            _l("Thème"),
            _l("Indicateur"),
            _l("Identifiant"),
            _l("Valeur"),
            _l("Affiché"),
            _l("Période précédente"),
            _l("Évolution (%)"),
            _l("Sens"),
            _l("Unité"),
            _l("Définition"),
        ),
        (16, 40, 30, 12, 12, 18, 14, 15, 22, 80),
        (1, 9),
        indicator_rows,
    ),
    Sheet(
        _l("Ventilations"),
        (
            _l("Indicateur"),
            _l("Identifiant"),
            _l("Catégorie"),
            _l("Sous-catégorie"),
            _l("Libellé"),
            _l("Valeur"),
            _l("Affiché"),
        ),
        (36, 30, 22, 18, 36, 12, 12),
        (0, 4),
        part_rows,
    ),
    Sheet(
        _l("Cibles"),
        (
            _l("Indicateur"),
            _l("Identifiant"),
            _l("Convention"),
            _l("Déploiement"),
            _l("Territoire"),
            _l("Valeur de départ"),
            _l("Date de départ"),
            _l("Source du départ"),
            _l("Jalons"),
            _l("Situation au"),
            _l("Compté depuis"),
            _l("Attendu"),
            _l("Atteint"),
            _l("Atteint (affiché)"),
            _l("Part du chemin (%)"),
            _l("Seuil « en bonne voie » (%)"),
            _l("Seuil « à surveiller » (%)"),
            _l("Statut"),
        ),
        (30, 24, 30, 24, 20, 14, 14, 28, 40, 14, 14, 12, 12, 14, 16, 16, 16, 18),
        (0, 2, 7, 8),
        target_rows,
    ),
    Sheet(
        _l("Territoires"),
        (_l("Code INSEE"), _l("Nom"), _l("Valeur"), _l("Affiché")),
        (12, 34, 12, 12),
        (),
        territory_rows,
    ),
    Sheet(
        _l("Définitions"),
        (
            _l("Identifiant"),
            _l("Indicateur"),
            _l("Thème"),
            _l("Unité"),
            _l("Définition"),
            _l("Données"),
            _l("Protection"),
        ),
        (30, 36, 16, 20, 70, 50, 60),
        (1, 4, 5, 6),
        definition_rows,
    ),
)


def render_xlsx(content: dict, meta: dict) -> bytes:
    """The workbook: one sheet per table, French headers, header row frozen."""
    from openpyxl import Workbook  # only for those who ask for a workbook

    book = Workbook()
    book.remove(book.active)
    for sheet in SHEETS:
        _fill(book.create_sheet(str(sheet.name)), sheet, sheet.rows(content, meta))
    book.properties.title = content.get("title")
    book.properties.creator = "Oh Punaises!"
    frozen = as_moment(content.get("frozen_at"))
    if frozen:  # the workbook dates from the figures, not from its rendering
        moment = frozen.astimezone(dt.UTC).replace(tzinfo=None)
        book.properties.created = book.properties.modified = moment
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


def _fill(worksheet, sheet: Sheet, rows: list[list]):
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    worksheet.append([str(header) for header in sheet.headers])
    for cell in worksheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(vertical="top", wrap_text=True)
    for row in rows:
        worksheet.append([_cell_value(value) for value in row])
        for cell in worksheet[worksheet.max_row]:
            if cell.data_type == "f":  # text that looks like a formula stays text
                cell.data_type = "s"
            if isinstance(cell.value, dt.date):
                cell.number_format = "DD/MM/YYYY"
            if cell.column - 1 in sheet.wrapped:
                cell.alignment = Alignment(vertical="top", wrap_text=True)
    for number, width in enumerate(sheet.widths, start=1):
        worksheet.column_dimensions[get_column_letter(number)].width = width
    worksheet.freeze_panes = "A2"


def _cell_value(value):
    if isinstance(value, str):
        return value.replace("\r\n", "\n")
    return value


# CSV --------------------------------------------------------------------------------------------

CSV_HEADERS = (
    _l("Section"),
    _l("Indicateur"),
    _l("Identifiant"),
    _l("Catégorie"),
    _l("Valeur"),
    _l("Affiché"),
    _l("Période précédente"),
    _l("Évolution (%)"),
    _l("Unité"),
    # for breakdown parts, targets and territories
    _l("Libellé"),
    _l("Attendu"),
    _l("Part du chemin (%)"),
    _l("Statut"),
    _l("Convention"),
    _l("Situation au"),
)


def render_csv(content: dict, meta: dict) -> bytes:
    """One table of every figure: UTF-8 with BOM, ";" between cells, decimal commas."""
    output = io.StringIO()
    writer = csv.writer(output, delimiter=";")
    writer.writerow([str(header) for header in CSV_HEADERS])
    for row in csv_rows(content):
        writer.writerow([_csv_cell(value) for value in row])
    return ("\ufeff" + output.getvalue()).encode("utf-8")


def csv_rows(content: dict) -> list[list]:
    """The rows of the CSV, section by section, each as long as the headers."""
    rows = []
    for indicator in content.get("indicators") or []:
        change = (indicator.get("change") or {}).get("percent")
        rows.append(
            [
                _("Indicateur"),
                indicator.get("label"),
                indicator.get("id"),
                "",
                number(indicator),
                indicator.get("display"),
                previous_value(indicator),
                change,
                indicator.get("unit"),
            ]
        )
        for part in indicator.get("parts") or []:
            label = " — ".join(filter(None, [part.get("label"), part.get("subcategory")]))
            category = "/".join(filter(None, [part.get("category"), part.get("subcategory")]))
            rows.append(
                [
                    _("Ventilation"),
                    indicator.get("label"),
                    indicator.get("id"),
                    category,
                    number(part),
                    part.get("display"),
                    None,
                    None,
                    indicator.get("unit"),
                    label,
                ]
            )
    for target in content.get("targets") or []:
        rows.append(
            [
                _("Cible"),
                target.get("indicator_label"),
                target.get("indicator"),
                target.get("territory") or "",
                target.get("actual"),
                target.get("actual_display"),
                None,
                None,
                target.get("unit"),
                target.get("territory_name") or target.get("deployment"),
                target.get("expected"),
                target.get("share"),
                target.get("status_label"),
                target.get("agreement"),
                target.get("as_of"),
            ]
        )
    content_map = content.get("map") or {}
    for row in content_map.get("territories") or []:
        rows.append(
            [
                _("Territoire"),
                content_map.get("label"),
                content_map.get("indicator"),
                row.get("code"),
                number(row),
                row.get("display"),
                None,
                None,
                content_map.get("unit"),
                row.get("name"),
            ]
        )
    return [row + [None] * (len(CSV_HEADERS) - len(row)) for row in rows]


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _decimal_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return spreadsheet_safe(str(value))


def _decimal_text(value) -> str:
    """A number with a decimal comma and no exponent: "12,5", "1234", "0,0001"."""
    if value is None:
        return ""
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    text = f"{float(value):.10f}".rstrip("0").rstrip(".")
    return text.replace(".", ",")
