"""The open-data package: the indicators per commune and calendar quarter as the public reads
them, with their Table Schema, a README, a changelog and the licence, ready for data.gouv.fr.

Figures come from the indicators (`usecases.indicators.read_indicators`) read by the public,
the most protected reader: counts are perturbed and hidden from 1 to K-1 exactly as on the
public pages, and a figure resting on a hidden count is hidden too. A hidden cell is empty
and its row says why. The CSV follows the data.gouv.fr conventions: UTF-8 without BOM, `,`
between fields, `.` as the decimal mark, ISO dates.
"""

import csv
import datetime as dt
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _

from . import privacy, tableschema
from .errors import Invalid
from .extensions import db
from .indicators import Period
from .indicators.results import Figure
from .models import Report
from .permissions import PUBLIC, Actor
from .tableschema import FIGURE_COLUMNS, HIDDEN_REASON, INDICATOR_COLUMNS, IndicatorColumn
from .usecases.indicators import read_indicators

DATA_FILE = "indicateurs-communes.csv"
SCHEMA_FILE = "schema.json"
REPORT_SCHEMA_FILE = "schema-signalements.json"
EXAMPLE_FILE = "exemple-valide.csv"
PACKAGE_FILE = "datapackage.json"
README_FILE = "README.md"
CHANGELOG_FILE = "CHANGELOG.md"
LICENCE_FILE = "LICENCE.md"
ENCODING = "utf-8"  # without BOM, as data.gouv.fr and Frictionless read it by default
LINE_END = "\n"
HIDDEN_SEPARATOR = "|"


@dataclass
class Package:
    """What was written: where, which quarters, how many rows and files."""

    directory: Path
    quarters: list[str] = field(default_factory=list)
    rows: int = 0
    files: list[str] = field(default_factory=list)


# Quarters -------------------------------------------------------------------------------------


def quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, day.month - (day.month - 1) % 3, 1)


def next_quarter(start: dt.date) -> dt.date:
    month = start.month + 3
    return dt.date(start.year + (month > 12), (month - 1) % 12 + 1, 1)


def quarter_periods(first: dt.date, today: dt.date) -> list[Period]:
    """Every calendar quarter from the one holding `first` to the last one complete on
    `today` (the quarter under way is left out: its figures still move)."""
    start, current = quarter_start(first), quarter_start(today)
    periods = []
    while start < current:
        following = next_quarter(start)
        periods.append(Period(start, following - dt.timedelta(days=1)))
        start = following
    return periods


def quarter_name(period: Period) -> str:
    """ "2026-T1" for January to March 2026."""
    return f"{period.start.year}-T{(period.start.month - 1) // 3 + 1}"


def first_report_date() -> dt.date | None:
    """The earliest intervention date of any report, or None when there is none."""
    return db.session.scalar(sa.select(sa.func.min(Report.intervention_date)))


# Rows -----------------------------------------------------------------------------------------


def commune_rows(period: Period) -> list[list[str]]:
    """One row per commune for this quarter, cells as the CSV writes them, read as the
    public reads them."""
    ids = [column.indicator for column in FIGURE_COLUMNS]
    result = read_indicators(Actor.public(), period, None, "commune", ids=ids)
    by_indicator = {
        found.id: {row.territory.code: row.figure for row in found.territories}
        for found in result.indicators
    }
    communes = [row.territory for row in result.indicator("reports").territories]
    return [_row(period, commune, by_indicator) for commune in communes]


def _row(period: Period, commune, by_indicator: dict) -> list[str]:
    figures = {c.name: by_indicator[c.indicator][commune.code] for c in FIGURE_COLUMNS}
    hidden = [name for name, figure in figures.items() if figure.suppressed]
    population = figures["signalements_pour_10000_habitants"].population
    return [
        commune.code,
        commune.name,
        quarter_name(period),
        period.start.isoformat(),
        period.end.isoformat(),
        "" if population is None else str(population),
        *(cell(column, figures[column.name]) for column in FIGURE_COLUMNS),
        HIDDEN_REASON if hidden else "",
        HIDDEN_SEPARATOR.join(hidden),
    ]


def cell(column: IndicatorColumn, figure: Figure) -> str:
    """A figure as the CSV writes it: empty when hidden or not computable."""
    if figure.suppressed or figure.value is None:
        return ""
    if column.places is None:
        return str(figure.value)
    return f"{float(figure.value):.{column.places}f}"


def data_csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=LINE_END)
    writer.writerow(column.name for column in INDICATOR_COLUMNS)
    writer.writerows(rows)
    return buffer.getvalue().encode(ENCODING)


# The package ----------------------------------------------------------------------------------


def write_package(
    directory: Path, today: dt.date | None = None, progress: Callable | None = None
) -> Package:
    """Compute the indicators of every complete quarter and write the package into
    `directory` (created if needed); `progress(quarter, rows)` after each quarter."""
    today = today or dt.date.today()
    periods = _periods(today)
    package = Package(Path(directory))
    rows = []
    with force_locale(tableschema.LANGUAGE):
        for period in periods:
            found = commune_rows(period)
            rows.extend(found)
            package.quarters.append(quarter_name(period))
            if progress:
                progress(quarter_name(period), len(found))
        package.rows = len(rows)
        files = _files(package, data_csv(rows), today)
    package.directory.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (package.directory / name).write_bytes(content)
        package.files.append(name)
    return package


def _periods(today: dt.date) -> list[Period]:
    first = first_report_date()
    periods = quarter_periods(first, today) if first else []
    if not periods:
        raise Invalid(
            _("Aucun trimestre complet à publier : aucun signalement avant ce trimestre.")
        )
    return periods


def _files(package: Package, data: bytes, today: dt.date) -> dict[str, bytes]:
    return {
        DATA_FILE: data,
        SCHEMA_FILE: as_json(tableschema.indicators_schema()),
        REPORT_SCHEMA_FILE: as_json(tableschema.report_schema("full")),
        EXAMPLE_FILE: tableschema.example_csv("full"),
        PACKAGE_FILE: as_json(package_descriptor()),
        README_FILE: readme(package, today).encode(),
        CHANGELOG_FILE: changelog().encode(),
        LICENCE_FILE: licence().encode(),
    }


def as_json(descriptor: dict) -> bytes:
    return (json.dumps(descriptor, ensure_ascii=False, indent=2) + "\n").encode()


def package_descriptor() -> dict:
    """The Frictionless data package: each CSV with its schema and how it is written."""
    schema = tableschema.indicators_schema()
    return {
        "name": "ohpunaises-indicateurs",
        "title": schema["title"],
        "description": schema["description"],
        "version": schema["version"],
        "licenses": schema["licenses"],
        "resources": [
            {
                "name": "indicateurs-communes",
                "path": DATA_FILE,
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": ENCODING,
                "schema": SCHEMA_FILE,
            },
            {
                "name": "exemple-valide",
                "path": EXAMPLE_FILE,
                "format": "csv",
                "mediatype": "text/csv",
                # The export's BOM is read as UTF-8's, and dropped.
                "encoding": "utf-8",
                "dialect": tableschema.report_dialect(),
                "schema": REPORT_SCHEMA_FILE,
            },
        ],
    }


# Texts ----------------------------------------------------------------------------------------


def readme(package: Package, today: dt.date) -> str:
    """The README, in French: what, files, columns, how figures are protected, source."""
    k = privacy.Policy.for_role(PUBLIC).k
    parts = [
        f"# {tableschema.INDICATORS_TITLE}",
        _(
            "Indicateurs du programme Oh Punaises! contre les punaises de lit à Lyon et dans sa "
            "métropole, par commune et par trimestre civil, du trimestre %(first)s au trimestre "
            "%(last)s (%(rows)d lignes), calculés le %(today)s à partir des signalements des "
            "structures partenaires.",
            first=package.quarters[0],
            last=package.quarters[-1],
            rows=package.rows,
            today=today.isoformat(),
        ),
        "## " + _("Fichiers"),
        _files_list(),
        "## " + _("Format"),
        _(
            "CSV en UTF-8 sans BOM, séparateur « , », point décimal, dates AAAA-MM-JJ, une ligne "
            "d'en-tête. Chaque ligne est une commune pendant un trimestre ; toutes les communes "
            "chargées dans la plateforme y figurent, même sans signalement."
        ),
        "## " + _("Colonnes"),
        _columns_table(),
        "## " + _("Masquage des petits effectifs"),
        _protection(k),
        "## " + _("Source"),
        _(
            "Signalements d'interventions saisis par les structures partenaires (bailleurs "
            "sociaux, associations, services sociaux, entreprises de désinsectisation…) dans la "
            "plateforme Oh Punaises!, par formulaire, par API ou par import de tableur. Chaque "
            "signalement est rattaché à sa commune par la plateforme, d'après son point ou la "
            "commune saisie, et compté au trimestre de sa date d'intervention. Populations : "
            "population municipale de l'INSEE. Les indicateurs ont les définitions de la "
            "plateforme, rappelées dans schema.json."
        ),
        "## " + _("Licence"),
        _(
            "Licence Ouverte / Open Licence version 2.0 (Etalab) : voir LICENCE.md. Mention de "
            "la source : « Oh Punaises!, indicateurs par commune et par trimestre, %(today)s ».",
            today=today.isoformat(),
        ),
    ]
    return "\n\n".join(parts) + "\n"


def _files_list() -> str:
    lines = [
        (DATA_FILE, _("les indicateurs par commune et par trimestre.")),
        (
            SCHEMA_FILE,
            _("son schéma Table Schema, version %(v)s.", v=tableschema.INDICATORS_VERSION),
        ),
        (
            REPORT_SCHEMA_FILE,
            _(
                "le schéma de l'export CSV des signalements de la plateforme, version %(v)s "
                "(les signalements eux-mêmes ne sont pas publiés).",
                v=tableschema.VERSION,
            ),
        ),
        (
            EXAMPLE_FILE,
            _(
                "quelques lignes fictives conformes à %(schema)s, écrites comme l'export : "
                "UTF-8 avec BOM, séparateur « ; », virgule décimale.",
                schema=REPORT_SCHEMA_FILE,
            ),
        ),
        (PACKAGE_FILE, _("la description Frictionless du paquet : chaque CSV et son schéma.")),
        (CHANGELOG_FILE, _("les versions des schémas.")),
        (LICENCE_FILE, _("la licence.")),
    ]
    return "\n".join(f"- `{name}` : {text}" for name, text in lines)


def _columns_table() -> str:
    schema = tableschema.indicators_schema()
    lines = [
        "| " + " | ".join((_("Colonne"), _("Libellé"), _("Type"), _("Description"))) + " |",
        "|---|---|---|---|",
    ]
    for found in schema["fields"]:
        description = found["description"].replace("|", "\\|")
        lines.append(f"| `{found['name']}` | {found['title']} | {found['type']} | {description} |")
    return "\n".join(lines)


def _protection(k: int) -> str:
    return _(
        "Les chiffres sont ceux que lit le public sur les pages de la plateforme. Chaque "
        "effectif est décalé d'un petit écart aléatoire, toujours le même pour les mêmes "
        "signalements (2 au plus dans 19 cas sur 20, %(most)d au plus) : les communes ne "
        "s'additionnent donc pas exactement. Un effectif décalé de 1 à %(last)d est masqué, "
        "ainsi que toute valeur calculée sur un effectif masqué (part, taux, moyenne). Une case "
        "masquée est vide ; la colonne motif_masquage vaut alors « %(reason)s » et la colonne "
        "valeurs_masquees nomme les colonnes masquées. Une case vide sans motif est une valeur "
        "qui ne se calcule pas : une part sans aucun signalement, par exemple.",
        most=privacy.MAX_PERTURBATION,
        last=k - 1,
        reason=HIDDEN_REASON,
    )


def changelog() -> str:
    """Both schemas' versions, newest first, in Markdown."""
    parts = ["# " + _("Historique des versions")]
    sections = (
        (SCHEMA_FILE, tableschema.INDICATORS_CHANGELOG),
        (REPORT_SCHEMA_FILE, tableschema.CHANGELOG),
    )
    for name, changes in sections:
        parts.append(f"## `{name}`")
        for change in reversed(changes):
            parts.append(f"### {change.version} ({change.date})\n\n{change.text}")
    return "\n\n".join(parts) + "\n"


def licence() -> str:
    """A summary of the Licence Ouverte 2.0, in French, with the link to its full text."""
    parts = [
        "# " + tableschema.LICENCE["title"],
        _(
            "Ces données sont publiées sous la Licence Ouverte / Open Licence version 2.0 "
            "d'Etalab. Vous êtes libre de les réutiliser : les reproduire, les copier, les "
            "publier et les transmettre ; les diffuser et les redistribuer ; les adapter, les "
            "modifier, en extraire et les transformer, notamment pour créer des informations "
            "dérivées ; les exploiter à titre commercial, par exemple en les combinant avec "
            "d'autres informations ou en les incluant dans votre propre produit."
        ),
        _(
            "À condition de mentionner leur paternité : la source (« Oh Punaises! ») et la date "
            "de leur dernière mise à jour, par exemple par un lien vers ce jeu de données."
        ),
        _("Texte complet : %(url)s", url=tableschema.LICENCE["path"]),
    ]
    return "\n\n".join(parts) + "\n"
