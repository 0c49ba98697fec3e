"""Importing a partner's spreadsheet in the browser (`/imports`): the file sent, its check read
(counts, errors by line, the lines on a map), the columns and values mapped, then the import
confirmed in so many words. Plain forms and a page that refreshes itself: no JavaScript."""

import math
from dataclasses import dataclass

import numpy as np
import shapely
from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from markupsafe import Markup, escape

from ..api.imports import errors_response
from ..auth import current_actor, requires
from ..errors import DomainError
from ..extensions import db
from ..httperrors import status_of
from ..imports import fields
from ..map.shapes import shapes
from ..packs.outlines import svg_path
from ..permissions import Actor
from ..usecases import imports
from . import bp
from .errors import error_page
from .forms import errors_of, identifier, text
from .pages import may_open
from .report_form import writable_structures
from .trainings import reaches_others

ONE_IMPORT = "/imports/<uuid:import_id>"
NO_STORE = {"Cache-Control": "no-store"}
ERRORS_SHOWN = 200
VALUE_ROWS = 50  # unknown values offered for mapping at once; more means a file to fix
REFRESH_SECONDS = 2

STATUS_LABELS = {
    "checking": _l("Vérification en cours"),
    "checked": _l("Vérifié : en attente de votre confirmation"),
    "importing": _l("Import en cours"),
    "imported": _l("Importé"),
    "failed": _l("Échec"),
}
# A point's state on the preview map: its colour, its mark (shape tells what colour tells)
# and its words.
POINT_STATES = {
    "valid": ("#1d6b37", "circle", _l("à importer")),
    "already": ("#0b57d0", "ring", _l("déjà importées")),
    "invalid": ("#a4161a", "square", _l("en erreur")),
    "outside": ("#8a4b00", "cross", _l("hors du programme")),
}


@bp.app_context_processor
def inject_import_link():
    return {"may_import": may_import}


def may_import() -> bool:
    """Whether the signed-in account may open the import pages (for the links to them)."""
    return current_user.is_authenticated and may_open(current_user.role, "web.imports")


# Sending ---------------------------------------------------------------------------------------


@bp.get("/imports", endpoint="imports")
@requires("report.import")
def imports_page():
    """The latest imports, and the form that sends a file."""
    return _imports_page({}, 200)


@bp.post("/imports", endpoint="import_send")
@requires("report.import")
def import_send():
    """Keep the file and start its check, then follow it on its page."""
    actor = current_actor()
    form, errors = request.form, {}
    picks_structure = reaches_others(actor, "report.import")
    structure_id = identifier(form, "structure_id", errors) if picks_structure else None
    if picks_structure and structure_id is None and "structure_id" not in errors:
        errors["structure_id"] = [_("Choisissez la structure.")]
    sheet = text(form, "sheet", 100, errors)
    mapping = text(form, "mapping", 100, errors)
    upload = request.files.get("file")
    data = upload.read() if upload else b""
    if not data:
        errors["file"] = [_("Choisissez un fichier CSV ou XLSX (celui-ci est vide ou absent).")]
    if errors:
        return _imports_page(errors, 422, form)
    try:
        job = imports.start_import(actor, structure_id, _filename(upload), data, sheet, mapping)
    except DomainError as error:
        return _imports_page(errors_of(error), status_of(error), form)
    return redirect(url_for("web.import_page", import_id=job.id), 303)


@bp.errorhandler(413)
def too_large(error):
    """A file over the limit, refused before it is read: the form again, saying the limit."""
    allowed = request.endpoint == "web.import_send" and current_user.is_authenticated
    if not allowed or not current_actor().may("report.import"):
        return error_page(error)
    size = request.content_length or imports.upload_limit()
    # The body is not read (it would be refused again): the form comes back blank.
    return _imports_page(errors_of(imports.too_large(size)), 413)


def _structures(actor: Actor) -> list[tuple[int, str]]:
    """(id, name) of the active structures the actor imports for, by name."""
    return [(s.id, s.name) for s in writable_structures(actor, "report.import")]


def _filename(upload) -> str:
    """The file's own name, without the folders some browsers send with it."""
    return (upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1] or "import.csv"


def _imports_page(errors: dict, status: int, values=None):
    actor = current_actor()
    picks_structure = reaches_others(actor, "report.import")
    page = render_template(
        "web/imports.html",
        found=imports.list_imports(actor),
        statuses=STATUS_LABELS,
        show_structure=picks_structure,
        structures=_structures(actor) if picks_structure else None,
        own_structure=actor.user.structure if actor.user is not None else None,
        mappings=imports.saved_mappings(actor),
        max_mb=imports.max_bytes() // (1024 * 1024),
        errors=errors,
        values=values or {},
        summary_of=summary_of,
    )
    return page, status, NO_STORE


def summary_of(job) -> str:
    """What an import came to, in a few words, for the list."""
    counts = job.counts or {}
    if job.status == "imported":
        stored = counts.get("stored", 0)
        return ngettext("%(num)d signalement importé", "%(num)d signalements importés", stored)
    if job.status == "checked":
        return counts_text(counts)
    if job.status == "failed":
        return job.failure or ""
    return ngettext("%(num)d ligne lue", "%(num)d lignes lues", job.rows_done or 0)


def counts_text(counts: dict) -> str:
    """ "120 lignes : 112 à importer, 5 en erreur, 3 déjà importées, 0 en conflit"."""
    rows = ngettext("%(num)d ligne", "%(num)d lignes", counts.get("rows", 0))
    return _(
        "%(rows)s : %(valid)d à importer, %(invalid)d en erreur, %(already)d déjà importée(s), "
        "%(conflicts)d en conflit",
        rows=rows,
        valid=counts.get("valid", 0),
        invalid=counts.get("invalid", 0),
        already=counts.get("already", 0),
        conflicts=counts.get("conflicts", 0),
    )


# One import ------------------------------------------------------------------------------------


@bp.get(ONE_IMPORT, endpoint="import_page")
@requires("report.import")
def import_page(import_id):
    """Where the import stands: its progress, or its check and what to do next."""
    return _import_page(imports.get_import(current_actor(), import_id), 200)


@bp.post(f"{ONE_IMPORT}/correspondance", endpoint="import_mapping")
@requires("report.import")
def import_mapping(import_id):
    """Which column fills which field and which words stand for which code: checked again."""
    actor = current_actor()
    job = imports.get_import(actor, import_id)
    form, errors = request.form, {}
    columns, values = _mapping_of(form)
    save_as = text(form, "save_as", 100, errors)
    if errors:
        return _import_page(job, 422, mapping_errors=_words(errors), posted=form)
    try:
        imports.set_mapping(actor, import_id, columns, values, save_as)
    except DomainError as error:
        db.session.rollback()
        mapping_errors = _words({k: [v] for k, v in error.errors.items()} or errors_of(error))
        return _import_page(job, status_of(error), mapping_errors=mapping_errors, posted=form)
    return redirect(url_for("web.import_page", import_id=import_id), 303)


def _mapping_of(form) -> tuple[dict, dict]:
    """The column mapping and the value mapping the form posts, as the use case takes them."""
    headers, chosen = form.getlist("header"), form.getlist("field")
    value_fields, words, codes = _value_lists(form)
    if len(headers) != len(chosen) or not len(value_fields) == len(words) == len(codes):
        abort(400, _("Formulaire incomplet : rechargez la page, puis recommencez."))
    values: dict[str, dict[str, str]] = {}
    for name, word, code in zip(value_fields, words, codes, strict=True):
        if code:
            values.setdefault(name, {})[word] = code
    return dict(zip(headers, chosen, strict=True)), values


def _value_lists(form) -> tuple[list[str], list[str], list[str]]:
    """The value rows of a posted form: their fields, the file's words, the codes chosen."""
    return tuple(form.getlist(name) for name in ("value_field", "value_text", "value_code"))


def _words(errors: dict) -> list[str]:
    """The mapping's refusals in words, each naming the column or the field it concerns."""
    said = []
    for key, messages in errors.items():
        kind, _dot, name = key.partition(".")
        if kind == "columns":
            prefix = _("Colonne « %(header)s »", header=name)
        elif kind == "values":
            prefix = _("Valeurs de « %(field)s »", field=_field_label(name))
        elif key in fields.BY_NAME:
            prefix = str(fields.BY_NAME[key].label)
        elif key == "save_as":
            prefix = _("Nom de la correspondance")
        else:
            prefix = ""
        for message in messages if isinstance(messages, list) else [messages]:
            said.append(f"{prefix} : {message}" if prefix else str(message))
    return said


def _field_label(name: str) -> str:
    return str(fields.BY_NAME[name].label) if name in fields.BY_NAME else name


@bp.post(f"{ONE_IMPORT}/importer", endpoint="import_commit")
@requires("report.import")
def import_commit(import_id):
    """Store the checked lines: all of them, or, when asked in so many words, the valid ones."""
    actor = current_actor()
    valid_only = request.form.get("valid_only") == "1"
    try:
        imports.commit_import(actor, import_id, valid_only)
    except DomainError as error:
        db.session.rollback()
        job = imports.get_import(actor, import_id)
        return _import_page(job, status_of(error), commit_error=error.message())
    return redirect(url_for("web.import_page", import_id=import_id), 303)


@bp.get(f"{ONE_IMPORT}/erreurs.csv", endpoint="import_errors")
@requires("report.import")
def import_errors(import_id):
    """The lines in error as the file wrote them, with a column saying why."""
    filename, body = imports.errors_csv(current_actor(), import_id)
    return errors_response(filename, body)


def _import_page(job, status: int, mapping_errors=(), commit_error=None, posted=None):
    running = job.status in ("checking", "importing")
    checked = job.status == "checked"
    counts = job.counts or {}
    refused = counts.get("invalid", 0) + counts.get("conflicts", 0)
    page = render_template(
        "web/import.html",
        job=job,
        status_label=STATUS_LABELS.get(job.status, job.status),
        running=running,
        refresh=REFRESH_SECONDS if running else None,
        counts=counts,
        counts_words=counts_text(counts) if counts else "",
        refused=refused,
        errors=sorted(job.errors, key=lambda error: error[0])[:ERRORS_SHOWN] if checked else [],
        more_errors=max(len(job.errors) - ERRORS_SHOWN, 0) if checked else 0,
        choices=_field_choices(),
        columns=_posted_columns(job, posted),
        value_rows=_value_rows(job, posted) if checked else [],
        vocabularies={f.name: f.vocabulary for f in fields.FIELDS if f.vocabulary},
        preview=preview_map(job.preview) if checked else None,
        mapping_errors=list(mapping_errors),
        commit_error=commit_error,
        save_as=(posted or {}).get("save_as", ""),
    )
    return page, status, NO_STORE


def _field_choices() -> list[tuple[str, str]]:
    """(name, label) of every field a column may fill; the required ones marked *."""
    return [(f.name, f"{f.label} *" if f.required else str(f.label)) for f in fields.FIELDS]


def _posted_columns(job, posted) -> list[tuple[str, str]]:
    """(header, field) of each column of the file, as posted when the form comes back."""
    if not posted:
        return list(job.columns.items())
    chosen = dict(zip(posted.getlist("header"), posted.getlist("field"), strict=True))
    return [(header, chosen.get(header, name)) for header, name in job.columns.items()]


@dataclass(frozen=True)
class ValueRow:
    """One word of the file to map to a code of a field."""

    field: str
    header: str
    word: str
    code: str


def _value_rows(job, posted) -> list[ValueRow]:
    """The words already mapped, then the unknown words the check found in coded columns."""
    header_of = {name: header for header, name in job.columns.items() if name}
    rows: dict[tuple[str, str], ValueRow] = {}
    for name, mapping in (job.values or {}).items():
        for word, code in mapping.items():
            rows[(name, word)] = ValueRow(name, header_of.get(name, ""), word, code)
    for name, words in (job.unknown_words or {}).items():
        for word in words:
            key = (name, fields.normalised(word))
            if key not in rows and len(rows) < VALUE_ROWS:
                rows[key] = ValueRow(name, header_of.get(name, ""), word, "")
    if posted:
        codes = _posted_codes(posted)
        rows = {key: _with_code(row, codes) for key, row in rows.items()}
    return list(rows.values())


def _posted_codes(posted) -> dict[tuple[str, str], str]:
    rows = zip(*_value_lists(posted), strict=True)
    return {(name, fields.normalised(word)): code for name, word, code in rows}


def _with_code(row: ValueRow, codes: dict) -> ValueRow:
    code = codes.get((row.field, fields.normalised(row.word)), row.code)
    return ValueRow(row.field, row.header, row.word, code)


# The preview map -------------------------------------------------------------------------------

MAP_WIDTH = 600.0
MARGIN = 0.05  # share of the communes' extent a point may lie beyond them and still be drawn
MARK = 7.0  # a point's radius, in the drawing's units


@dataclass(frozen=True)
class PreviewMap:
    """The located lines over the communes' outlines: the SVG, its legend, the points left
    out of the frame."""

    svg: Markup
    legend: list[tuple[Markup, str, int]]
    off_map: int


def preview_map(points: list) -> PreviewMap | None:
    """The located lines drawn over the communes (an equirectangular projection, true enough
    at a metropolis' scale); None when no line is located or no commune is loaded."""
    communes = shapes("commune")
    if not points or not communes:
        return None
    geometries = [shapely.geometry.shape(commune.geometry) for commune in communes]
    west, south, east, north = shapely.total_bounds(geometries)
    pad_x, pad_y = (east - west) * MARGIN, (north - south) * MARGIN
    west, south, east, north = west - pad_x, south - pad_y, east + pad_x, north + pad_y
    scale_x = math.cos(math.radians((south + north) / 2))
    factor = MAP_WIDTH / max((east - west) * scale_x, 1e-9)
    height = (north - south) * factor

    def flat(coords):
        return np.column_stack(((coords[:, 0] - west) * scale_x, north - coords[:, 1])) * factor

    paths = "".join(
        f'<path d="{svg_path(shapely.transform(geometry, flat))}"/>' for geometry in geometries
    )
    marks, tally, off_map = _marks(points, (west, south, east, north), flat)
    title = _("Lignes situées du fichier, sur les communes du programme")
    svg = Markup(
        f'<svg class="import-map" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 '
        f'{MAP_WIDTH:g} {height:.1f}" role="img" aria-label="{escape(title)}">'
        f'<g fill="#f4f1ee" stroke="#8a8a94" stroke-width="0.8" fill-rule="evenodd">{paths}</g>'
        f"<g>{marks}</g></svg>"
    )
    legend = [
        (_mark_svg(state), str(words), tally[state])
        for state, (_colour, _shape, words) in POINT_STATES.items()
        if tally[state]
    ]
    return PreviewMap(svg, legend, off_map)


def _marks(points: list, box: tuple, flat) -> tuple[str, dict, int]:
    """Each point's mark (one per spot and state), how many of each state, how many left
    out of the frame."""
    west, south, east, north = box
    tally = dict.fromkeys(POINT_STATES, 0)
    drawn, off_map = set(), 0
    for lon, lat, state in points:
        if state not in POINT_STATES:
            continue
        tally[state] += 1
        if not (west <= lon <= east and south <= lat <= north):
            off_map += 1
            continue
        x, y = flat(np.array([[lon, lat]]))[0]
        drawn.add((round(float(x)), round(float(y)), state))
    order = list(POINT_STATES)
    marks = "".join(
        _mark(x, y, state)
        for x, y, state in sorted(drawn, key=lambda d: (order.index(d[2]), d[0], d[1]))
    )
    return marks, tally, off_map


def _mark(x: float, y: float, state: str) -> str:
    colour, shape, _label = POINT_STATES[state]
    if shape == "circle":
        return f'<circle cx="{x}" cy="{y}" r="{MARK:g}" fill="{colour}"/>'
    if shape == "ring":
        return (
            f'<circle cx="{x}" cy="{y}" r="{MARK:g}" fill="#ffffff" stroke="{colour}" '
            'stroke-width="2"/>'
        )
    if shape == "square":
        side = MARK * 1.8
        return (
            f'<rect x="{x - side / 2:g}" y="{y - side / 2:g}" width="{side:g}" height="{side:g}" '
            f'fill="{colour}"/>'
        )
    return (
        f'<path d="M{x - MARK:g},{y - MARK:g}L{x + MARK:g},{y + MARK:g}M{x - MARK:g},'
        f'{y + MARK:g}L{x + MARK:g},{y - MARK:g}" stroke="{colour}" stroke-width="2.5"/>'
    )


def _mark_svg(state: str) -> Markup:
    """A legend's mark, drawn as on the map."""
    return Markup(
        '<svg class="import-mark" xmlns="http://www.w3.org/2000/svg" viewBox="-2 -2 16 16" '
        f'width="14" height="14" aria-hidden="true">{_mark(6, 6, state)}</svg>'
    )
