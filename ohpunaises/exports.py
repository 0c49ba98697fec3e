"""Exports: reports as streamed CSV by role, their data dictionary, territories as GeoJSON.

CSV is written for French spreadsheets: UTF-8 with a BOM, `;` between fields and `,` as the
decimal mark by default, or `,` and `.` on request, one line per row ending in LF. PostgreSQL
writes the rows itself with COPY from a SELECT that formats every cell; on SQLite they are
read in keyset chunks and written by the csv module. Either way they leave as they come, so
memory stays flat whatever the number of reports.
"""

import csv
import datetime as dt
import functools
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import aliased

from . import audit, logs, privacy
from .extensions import db
from .indicators import Result
from .models import Report, ReportAction, Structure, Territory
from .permissions import Actor, allows
from .vocabulary import (
    ACTIONS,
    BUILDING_TYPES,
    CONFIRMATIONS,
    COST_PAYERS,
    HOUSING,
    INFESTATION_LEVELS,
    SOURCES,
    STATUSES,
    STRUCTURE_KINDS,
    VULNERABILITIES,
)

SEPARATORS = {"semicolon": ";", "comma": ","}
CHUNK = 2000  # rows per keyset query (SQLite)
CHUNK_BYTES = 64 * 1024  # bytes per piece of the response (PostgreSQL)
LINE_END = "\n"  # as PostgreSQL's COPY writes it
LIST_SEPARATOR = "|"
BOM = "\ufeff"


@dataclass(frozen=True)
class Options:
    """How rows are written: field separator, date precision, location precision."""

    sep: str = "semicolon"  # or "comma"
    dates: str = "day"  # or "month"
    location: str = "point"  # the finest the role may read; or "rounded", "commune"

    @property
    def delimiter(self) -> str:
        return SEPARATORS[self.sep]

    @property
    def decimal_mark(self) -> str:
        return "," if self.delimiter == ";" else "."


@dataclass(frozen=True)
class Column:
    """One CSV column: stable name, French label, type, allowed values, who gets it."""

    name: str
    label: str
    type: str
    vocabulary: dict | None = None
    views: tuple[str, ...] = ("full", "pseudonymised")
    note: str = ""


def _vulnerability_columns():
    return [
        Column(f"vulnerability_{name}", label, "boolean", note=_l("1 : oui, 0 : non."))
        for name, label in VULNERABILITIES.items()
    ]


COLUMNS = (
    Column("report_id", _l("Identifiant du signalement (UUID)"), "uuid", views=("full",)),
    Column(
        "report_pseudonym",
        _l("Pseudonyme du signalement"),
        "text",
        views=("pseudonymised",),
        note=_l(
            "Empreinte à clé, stable d'un export à l'autre ; ne permet pas de retrouver "
            "l'identifiant."
        ),
    ),
    Column("structure_id", _l("Numéro de la structure"), "integer", views=("full",)),
    Column(
        "structure_pseudonym",
        _l("Pseudonyme de la structure"),
        "text",
        views=("pseudonymised",),
        note=_l("Empreinte à clé, stable d'un export à l'autre."),
    ),
    Column("structure_kind", _l("Type de structure"), "code", STRUCTURE_KINDS),
    Column("source", _l("Source de la saisie"), "code", SOURCES),
    Column(
        "intervention_date",
        _l("Date d'intervention"),
        "date",
        note=_l("AAAA-MM-JJ, ou AAAA-MM avec dates=month (toujours au mois si demandé)."),
    ),
    Column("commune", _l("Commune (code INSEE)"), "code"),
    Column("arrondissement", _l("Arrondissement (code INSEE)"), "code"),
    Column("qpv", _l("Quartier prioritaire (code QPV)"), "code"),
    Column(
        "latitude",
        _l("Latitude (WGS84)"),
        "decimal",
        note=_l(
            "Arrondie à 0,01° (environ 1,1 km) pour l'évaluation ; vide avec "
            "location=commune ou sans point."
        ),
    ),
    Column(
        "longitude",
        _l("Longitude (WGS84)"),
        "decimal",
        note=_l(
            "Arrondie à 0,01° (environ 0,8 km à Lyon) pour l'évaluation ; vide avec "
            "location=commune ou sans point."
        ),
    ),
    Column("housing", _l("Logement"), "code", HOUSING),
    Column("building_type", _l("Type d'habitat"), "code", BUILDING_TYPES),
    Column("household_size", _l("Taille du ménage"), "integer"),
    *_vulnerability_columns(),
    Column("infestation_level", _l("Niveau d'infestation"), "code", INFESTATION_LEVELS),
    Column("confirmation", _l("Confirmation"), "code", CONFIRMATIONS),
    Column(
        "actions",
        _l("Actions menées"),
        "codes",
        ACTIONS,
        note=_l("Liste de codes séparés par « | », par ordre alphabétique."),
    ),
    Column("cost_total", _l("Coût total (euros)"), "decimal"),
    Column("cost_payer", _l("Payeur"), "code", COST_PAYERS),
    Column("cost_household", _l("Reste à charge du ménage (euros)"), "decimal"),
    Column("status", _l("Statut"), "code", STATUSES),
    Column("resolved_on", _l("Date de résolution"), "date", note=_l("Comme intervention_date.")),
    Column(
        "dwelling_key",
        _l("Clé pseudonyme du logement"),
        "text",
        views=("full",),
        note=_l("Empreinte à clé de la référence du logement chez le partenaire."),
    ),
    Column(
        "notes",
        _l("Notes"),
        "text",
        views=("full",),
        note=_l(
            "Une note qui commence par =, +, - ou @ est précédée d'une apostrophe, pour "
            "qu'un tableur ne la prenne pas pour une formule."
        ),
    ),
    Column(
        "anonymised",
        _l("Anonymisé par la durée de conservation"),
        "boolean",
        note=_l("1 : point, clé du logement et notes effacés."),
    ),
    Column("created_at", _l("Enregistré le (UTC)"), "datetime", views=("full",)),
    Column("updated_at", _l("Modifié le (UTC)"), "datetime", views=("full",)),
)

TYPE_LABELS = {
    "uuid": _l("identifiant UUID"),
    "text": _l("texte"),
    "integer": _l("entier"),
    "decimal": _l("nombre décimal"),
    "date": _l("date"),
    "datetime": _l("date et heure ISO 8601"),
    "boolean": _l("0 ou 1"),
    "code": _l("code"),
    "codes": _l("liste de codes"),
}


def view_for(role: str) -> str:
    return "pseudonymised" if pseudonymised(role) else "full"


def columns_for(role: str) -> list[Column]:
    view = view_for(role)
    return [column for column in COLUMNS if view in column.views]


# Query ----------------------------------------------------------------------------------------


def pseudonymised(role: str | None) -> bool:
    """Whether this role exports pseudonymised rows: it may not read reports one by one."""
    return not allows(role, "report.read")


def joined_actions(dialect: str):
    """The report's actions as one `|`-joined string, aggregated in SQL."""
    if dialect == "postgresql":
        aggregate = sa.func.string_agg(
            ReportAction.action,
            aggregate_order_by(sa.literal_column(f"'{LIST_SEPARATOR}'"), ReportAction.action),
            type_=sa.String,
        )
    else:
        aggregate = sa.func.group_concat(ReportAction.action, LIST_SEPARATOR, type_=sa.String)
    return sa.select(aggregate).where(ReportAction.report_id == Report.id).scalar_subquery()


PLAIN_COLUMNS = (
    "source",
    "intervention_date",
    "housing",
    "building_type",
    "household_size",
    "infestation_level",
    "confirmation",
    "cost_total",
    "cost_payer",
    "cost_household",
    "status",
    "resolved_on",
    "dwelling_key",
    "notes",
    "created_at",
    "updated_at",
)
KEY_COLUMNS = 2  # created_at and id, last, for keyset chunks


def report_rows_query(actor: Actor, reports, dialect: str):
    """The select of the rows of `reports` (a query on reports, from `filtered_reports`)
    as the actor exports them, oldest first, one SQL column per CSV
    column in the CSV's order, then the row's key (created_at, id)."""
    commune, arrondissement, qpv = (aliased(Territory) for _ in range(3))
    sources = {
        "report_id": Report.id,
        "report_pseudonym": Report.id,
        "structure_id": Report.structure_id,
        "structure_pseudonym": Report.structure_id,
        "structure_kind": Structure.kind,
        "commune": commune.code,
        "arrondissement": arrondissement.code,
        "qpv": qpv.code,
        "latitude": sa.func.ST_Y(Report.location),
        "longitude": sa.func.ST_X(Report.location),
        "actions": joined_actions(dialect),
        "anonymised": Report.anonymised_at,
        **{name: getattr(Report, name) for name in PLAIN_COLUMNS},
        **{f"vulnerability_{n}": getattr(Report, f"vuln_{n}") for n in VULNERABILITIES},
    }
    selected = [sources[c.name].label(c.name) for c in columns_for(actor.role)]
    selected += [Report.created_at.label("key_created_at"), Report.id.label("key_id")]
    joined = (
        sa.join(Report, Structure, Report.structure_id == Structure.id)
        .join(commune, Report.commune_id == commune.id)
        .outerjoin(arrondissement, Report.arrondissement_id == arrondissement.id)
        .outerjoin(qpv, Report.qpv_id == qpv.id)
    )
    return reports.with_only_columns(*selected, maintain_column_froms=False).select_from(joined)


def count_rows(connection, reports) -> int:
    """How many reports `reports` selects."""
    query = sa.select(sa.func.count()).select_from(reports.order_by(None).subquery())
    return connection.scalar(query)


# Formatting -----------------------------------------------------------------------------------
# Each column whose text is not the database's plain text of its value has a Format: how
# Python writes it (SQLite, through the csv module, which writes None as an empty cell and
# anything else through str()) and the SQL expression that writes the same text (PostgreSQL,
# whose COPY writes the CSV itself). Both sides live here, side by side, so they cannot drift.


@dataclass(frozen=True)
class Format:
    python: Callable | None  # None: str() of the value is already right
    sql: Callable


def _decimal(mark: str, places: int):
    def write(value):
        if value is None:
            return None
        text = f"{value:.{places}f}"
        return text.replace(".", mark) if mark != "." else text

    return write


def _sql_decimal(value, places: int, mark: str):
    text = sa.cast(sa.func.round(sa.cast(value, sa.Numeric), places), sa.Text)
    return sa.func.replace(text, ".", mark) if mark != "." else text


def _month(value):
    return None if value is None else privacy.month_of(value)


def _sql_date(value, pattern: str):
    return sa.func.to_char(value, pattern)


def _isoformat(value):
    # In UTC whatever the database session's time zone, microseconds always written.
    return None if value is None else value.astimezone(dt.UTC).isoformat("T", "microseconds")


def _sql_isoformat(value):
    utc = sa.func.timezone("UTC", value)
    return sa.func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')


def _boolean(value):
    return "1" if value else "0"


def _sql_boolean(value):
    return sa.case((value.is_(True), "1"), else_="0")


def _set(value):
    return "0" if value is None else "1"


def _sql_set(value):
    return sa.case((value.is_not(None), "1"), else_="0")


FORMULA_STARTS = ("=", "+", "-", "@", "\t")
# The same patterns for Python's re and PostgreSQL's regular expressions: a carriage return
# (with the line feed that may follow it), and the other control characters.
LINE_BREAK = r"\r\n?"
CONTROL = r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]"


def spreadsheet_safe(value):
    """Free text as one harmless cell: line breaks as LF (so that the cell is quoted, by the
    csv module and by COPY alike), other control characters as spaces, and a leading
    apostrophe where a spreadsheet would run a formula."""
    if not value:
        return value
    value = re.sub(CONTROL, " ", re.sub(LINE_BREAK, "\n", value))
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _sql_spreadsheet_safe(value):
    value = sa.func.regexp_replace(value, LINE_BREAK, "\n", "g")
    value = sa.func.regexp_replace(value, CONTROL, " ", "g")
    formula = sa.func.left(value, 1).in_(FORMULA_STARTS)
    return sa.case((formula, sa.literal("'").concat(value)), else_=value)


def _coordinate(location: str, mark: str) -> Format:
    if location == "commune":
        return Format(lambda value: None, lambda value: sa.null())
    if location == "rounded":
        places = privacy.grid_places()
        write = _decimal(mark, places)
        return Format(
            lambda value: write(privacy.round_to_grid(value)),
            lambda value: _sql_decimal(privacy.sql_round_to_grid(value), places, mark),
        )
    return Format(_decimal(mark, 6), functools.partial(_sql_decimal, places=6, mark=mark))


def formats(actor: Actor, options: Options) -> dict[str, Format]:
    """The Format of each column that needs one, for this actor and these options."""
    location = options.location
    if pseudonymised(actor.role) and location == "point":
        location = "rounded"
    mark = options.decimal_mark
    money = Format(_decimal(mark, 2), functools.partial(_sql_decimal, places=2, mark=mark))
    timestamp = Format(_isoformat, _sql_isoformat)
    if options.dates == "month":
        date = Format(_month, functools.partial(_sql_date, pattern="YYYY-MM"))
    else:
        date = Format(None, functools.partial(_sql_date, pattern="YYYY-MM-DD"))
    coordinate = _coordinate(location, mark)
    by_name = {
        "latitude": coordinate,
        "longitude": coordinate,
        "cost_total": money,
        "cost_household": money,
        "intervention_date": date,
        "resolved_on": date,
        "anonymised": Format(_set, _sql_set),
        "notes": Format(spreadsheet_safe, _sql_spreadsheet_safe),
        "created_at": timestamp,
        "updated_at": timestamp,
        **{f"vulnerability_{name}": Format(_boolean, _sql_boolean) for name in VULNERABILITIES},
    }
    if pseudonymised(actor.role):
        for purpose in ("report", "structure"):
            by_name[f"{purpose}_pseudonym"] = Format(
                privacy.pseudonymiser(purpose), privacy.sql_pseudonymiser(purpose)
            )
    return by_name


def converters(actor: Actor, options: Options) -> list[tuple[int, Callable]]:
    """(position, function) for each column whose value Python must write (SQLite)."""
    by_name = {name: f.python for name, f in formats(actor, options).items() if f.python}
    by_name["actions"] = _sorted_list  # group_concat does not sort; string_agg does
    names = [column.name for column in columns_for(actor.role)]
    return [(index, by_name[name]) for index, name in enumerate(names) if name in by_name]


def _sorted_list(value):
    return value and LIST_SEPARATOR.join(sorted(value.split(LIST_SEPARATOR)))


def formatted_query(actor: Actor, reports, options: Options):
    """The rows as PostgreSQL should write them: every cell already the export's text."""
    rows = report_rows_query(actor, reports, "postgresql").order_by(None).subquery("row")
    by_name = formats(actor, options)
    cells = [
        by_name[column.name].sql(rows.c[column.name])
        if column.name in by_name
        else rows.c[column.name]
        for column in columns_for(actor.role)
    ]
    return sa.select(*cells).order_by(rows.c.key_created_at, rows.c.key_id)


class Progress:
    """What a stream has written so far, for the audit log."""

    def __init__(self):
        self.rows, self.complete = 0, False


def csv_stream(
    connection, actor: Actor, reports, options: Options, progress: Progress
) -> Iterator[bytes]:
    """The CSV export of `reports` (a query on reports, from `filtered_reports`) as chunks
    of UTF-8 bytes, read on `connection` alone: BOM and header first, then the rows."""
    buffer = io.StringIO()
    buffer.write(BOM)
    csv.writer(buffer, delimiter=options.delimiter, lineterminator=LINE_END).writerow(
        column.name for column in columns_for(actor.role)
    )
    yield _drain(buffer)
    if connection.dialect.name == "postgresql":
        yield from _copied(connection, actor, reports, options, progress)
    else:
        yield from _written(connection, actor, reports, options, progress)
    progress.complete = True


def _copied(connection, actor: Actor, reports, options: Options, progress: Progress):
    """PostgreSQL writes the rows itself (COPY … TO STDOUT): the worker only forwards bytes,
    in chunks of about CHUNK_BYTES, one row at a time as they arrive."""
    compiled = formatted_query(actor, reports, options).compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    statement = f"COPY ({compiled}) TO STDOUT WITH (FORMAT csv, DELIMITER '{options.delimiter}')"
    dbapi_connection = connection.connection.dbapi_connection
    with dbapi_connection.cursor() as cursor, cursor.copy(statement, compiled.params) as copy:
        parts, size = [], 0
        for row in copy:  # libpq hands COPY data over one row at a time
            parts.append(row)
            size += len(row)
            progress.rows += 1
            if size >= CHUNK_BYTES:
                yield b"".join(parts)
                parts, size = [], 0
        yield b"".join(parts)


def _written(connection, actor: Actor, reports, options: Options, progress: Progress):
    """Rows read in keyset chunks and written by the csv module (SQLite)."""
    query = report_rows_query(actor, reports, connection.dialect.name)
    convert = converters(actor, options)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=options.delimiter, lineterminator=LINE_END)
    last = None
    while True:
        chunk = query
        if last is not None:
            chunk = query.where(sa.tuple_(Report.created_at, Report.id) > tuple(last[-2:]))
        rows = connection.execute(chunk.limit(CHUNK)).all()
        for row in rows:
            values = list(row)
            del values[-KEY_COLUMNS:]
            for index, function in convert:
                values[index] = function(values[index])
            writer.writerow(values)
        progress.rows += len(rows)
        yield _drain(buffer)
        if len(rows) < CHUNK:
            return
        last = rows[-1]


def record_export(actor: Actor, filters: dict, options: Options, progress: Progress, target):
    """Once a stream has ended, however it ended: the export in the audit log, row count and
    all, stored in a session of its own whatever the state of the request's."""
    details = {"filters": filters, "options": options.__dict__, "view": view_for(actor.role)}
    details.update(rows=progress.rows, complete=progress.complete)
    audit.record_apart(actor, "export.reports", target, details)
    logs.event("export", kind=target, rows=progress.rows, complete=progress.complete)


def _drain(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode()
    buffer.seek(0)
    buffer.truncate()
    return data


# Dictionary -----------------------------------------------------------------------------------


def dictionary() -> list[dict]:
    """Every export column: name, French label, type, allowed values, who receives it."""
    return [
        {
            "name": column.name,
            "label": str(column.label),
            "type": column.type,
            "type_label": str(TYPE_LABELS[column.type]),
            "allowed_values": allowed_values(column),
            "views": column.views,
            "note": str(column.note),
        }
        for column in COLUMNS
    ]


def allowed_values(column: Column) -> str:
    if column.vocabulary is not None:
        return " | ".join(f"{code} = {label}" for code, label in column.vocabulary.items())
    if column.type == "boolean":
        return "0 | 1"
    return ""


VIEW_LABELS = {"full": _l("complet"), "pseudonymised": _l("pseudonymisé")}
DICTIONARY_HEADER = ("name", "label", "type", "allowed_values", "exports", "note")


def dictionary_csv(options: Options) -> bytes:
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer, delimiter=options.delimiter, lineterminator=LINE_END)
    writer.writerow(DICTIONARY_HEADER)
    for entry in dictionary():
        views = ", ".join(str(VIEW_LABELS[v]) for v in entry["views"])
        writer.writerow(
            (
                entry["name"],
                entry["label"],
                entry["type_label"],
                entry["allowed_values"],
                views,
                entry["note"],
            )
        )
    return buffer.getvalue().encode()


# Territories ----------------------------------------------------------------------------------


def territories_geojson(result: Result) -> dict:
    """The indicators of `result` per territory of its level, with the territories' outlines.

    Each indicator gives two properties: its value (null when hidden) and `<id>_display`,
    the text to show ("< 5" or "s" when hidden).
    """
    level = result.level
    properties = {}
    for indicator in result.indicators:
        for row in indicator.territories:
            place = row.territory
            shown = properties.setdefault(
                place.id,
                {"id": place.id, "code": place.code, "name": place.name, "level": place.level},
            )
            shown[indicator.id] = row.figure.value
            shown[f"{indicator.id}_display"] = row.figure.display
    outlines = db.session.execute(
        sa.select(
            Territory.id,
            Territory.code,
            Territory.name,
            Territory.level,
            sa.func.ST_AsGeoJSON(Territory.geom, 5).label("geojson"),
        )
        .where(Territory.level == level)
        .order_by(Territory.code)
    )
    features = [
        {
            "type": "Feature",
            "properties": {
                "code": row.code,
                "name": row.name,
                "level": row.level,
                **_without_id(properties.get(row.id, {})),
            },
            "geometry": json.loads(row.geojson),
        }
        for row in outlines
    ]
    return {
        "type": "FeatureCollection",
        "period": result.period.as_dict(),
        "level": level,
        "suppression": {
            "applied": result.suppression.applied,
            "k": result.suppression.k,
            "perturbation": result.suppression.perturbation,
        },
        "features": features,
    }


def _without_id(properties: dict) -> dict:
    return {key: value for key, value in properties.items() if key != "id"}
