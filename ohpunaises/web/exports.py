"""The exports page, the data dictionary page, the import templates and the audit log
(coordinators)."""

import json

import sqlalchemy as sa
from flask import Response, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import audit, exports, tableschema
from ..api.exports import ExportQuerySchema, TerritoryExportQuerySchema
from ..auth import current_actor, requires
from ..extensions import db
from ..models import Structure, Territory
from ..permissions import Actor, Scope, grant, structures_within
from ..vocabulary import ACTIONS, SOURCES, STATUSES, TERRITORY_LEVELS
from . import bp
from .pages import may_open


@bp.get("/exports", endpoint="exports")
@requires("export.page")
def exports_page():
    """Filters for the CSV of reports and the GeoJSON of territories, as the role may export."""
    actor = current_actor()
    return render_template(
        "web/exports.html",
        rows=actor.may("export.rows"),
        aggregates=actor.may("export.aggregates"),
        pseudonymised=exports.pseudonymised(actor.role),
        columns=exports.columns_for(actor.role),
        territories=territory_options(),
        structures=structure_options(actor),
        statuses=STATUSES,
        sources=SOURCES,
        levels=TERRITORY_LEVELS,
    )


def territory_options() -> list[tuple[str, str]]:
    query = sa.select(Territory.code, Territory.name, Territory.level).order_by(
        Territory.level, Territory.code
    )
    return [
        (row.code, f"{row.name} ({TERRITORY_LEVELS[row.level]})")
        for row in db.session.execute(query)
    ]


def structure_options(actor: Actor) -> list[Structure]:
    """The structures to filter the identified rows by (a structure of its own needs none)."""
    scope = grant(actor.role, "export.rows")
    if scope in (None, Scope.STRUCTURE) or exports.pseudonymised(actor.role):
        return []
    query = sa.select(Structure).where(structures_within(actor, "export.rows"))
    return db.session.scalars(query.order_by(Structure.name))


@bp.get("/exports/dictionnaire")
@requires("export.dictionary")
def export_dictionary():
    """Every column of the exports, with its label, type and allowed values."""
    return render_template(
        "web/export_dictionary.html",
        entries=exports.dictionary(),
        actions=ACTIONS,
        views=exports.VIEW_LABELS,
    )


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.app_context_processor
def inject_template_link():
    return {"may_download_templates": may_download_templates}


def may_download_templates() -> bool:
    """Whether the signed-in account may download the import templates (for the links)."""
    return current_user.is_authenticated and may_open(current_user.role, "web.import_template_xlsx")


@bp.get("/exports/modele.xlsx", endpoint="import_template_xlsx")
@requires("report.create")
def import_template_xlsx():
    """The import template to fill in: example line, allowed values, how to fill it in."""
    return _attachment(tableschema.template_xlsx(), XLSX_TYPE, "modele-signalements.xlsx")


@bp.get("/exports/modele.csv", endpoint="import_template_csv")
@requires("report.create")
def import_template_csv():
    """The import template as CSV (UTF-8 with BOM, `;`), with one example line."""
    return _attachment(tableschema.template_csv(), "text/csv", "modele-signalements.csv")


def _attachment(body: bytes, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/journal")
@requires("audit.read")
def audit_log():
    """The audit log, newest first, by pages."""
    number = request.args.get("page", "1")
    # ASCII digits ("²" is a digit to Python), few enough for the database's offset.
    valid = number.isascii() and number.isdigit() and len(number) < 10 and int(number) > 0
    number = int(number) if valid else 1
    events, pages = audit.page(number)
    return render_template(
        "web/audit_log.html", events=events, page=number, pages=pages, details_text=details_text
    )


def details_text(details: dict) -> str:
    """An event's details as JSON a person reads (the page escapes it like any text)."""
    return json.dumps(details, ensure_ascii=False, sort_keys=True)


@bp.get("/exports/telecharger/<any(reports, territories):kind>")
@requires("export.page")
def export_download(kind):
    """The form's choices, empty fields dropped, handed to the API that streams the file."""
    endpoint = "exports.ReportsCsv" if kind == "reports" else "exports.TerritoriesGeojson"
    known = DOWNLOAD_PARAMETERS[kind]
    unknown = sorted(set(request.args) - known)
    if unknown:
        abort(400, _("Paramètre inconnu : %(names)s.", names=", ".join(unknown)[:200]))
    chosen = {key: value for key, value in request.args.items() if value.strip()}
    return redirect(url_for(endpoint, **chosen))


def _query_keys(schema) -> frozenset[str]:
    return frozenset(field.data_key or name for name, field in schema().fields.items())


DOWNLOAD_PARAMETERS = {
    "reports": _query_keys(ExportQuerySchema),
    "territories": _query_keys(TerritoryExportQuerySchema),
}
