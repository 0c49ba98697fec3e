"""The exports page, the data dictionary page and the audit log (coordinators)."""

import sqlalchemy as sa
from flask import redirect, render_template, request, url_for
from flask_login import login_required

from .. import audit, exports
from ..auth import require_role, scope_structures
from ..extensions import db
from ..models import Structure, Territory
from ..vocabulary import ACTIONS, SOURCES, STATUSES, TERRITORY_LEVELS
from . import bp

EXPORTERS = tuple(dict.fromkeys((*exports.ROW_EXPORTERS, *exports.AGGREGATE_EXPORTERS)))
AUDITORS = ("coordinator",)


@bp.get("/exports", endpoint="exports")
@login_required
def exports_page():
    """Filters for the CSV of reports and the GeoJSON of territories, by role."""
    user = require_role(*EXPORTERS)
    return render_template(
        "web/exports.html",
        rows=user.role in exports.ROW_EXPORTERS,
        aggregates=user.role in exports.AGGREGATE_EXPORTERS,
        pseudonymised=user.role in exports.PSEUDONYMISED_ROLES,
        columns=exports.columns_for(user.role),
        territories=territory_options(),
        structures=structure_options(user),
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


def structure_options(user) -> list[Structure]:
    if user.role != "coordinator":
        return []
    return db.session.scalars(scope_structures(sa.select(Structure), user).order_by(Structure.name))


@bp.get("/exports/dictionnaire")
@login_required
def export_dictionary():
    """Every column of the exports, with its label, type and allowed values."""
    return render_template(
        "web/export_dictionary.html",
        entries=exports.dictionary(),
        actions=ACTIONS,
        views=exports.VIEW_LABELS,
    )


@bp.get("/journal")
@login_required
def audit_log():
    """The audit log, newest first, by pages."""
    require_role(*AUDITORS)
    number = request.args.get("page", "1")
    # ASCII digits ("²" is a digit to Python), few enough for the database's offset.
    valid = number.isascii() and number.isdigit() and len(number) < 10 and int(number) > 0
    number = int(number) if valid else 1
    events, pages = audit.page(number)
    return render_template("web/audit_log.html", events=events, page=number, pages=pages)


@bp.get("/exports/telecharger/<any(reports, territories):kind>")
@login_required
def export_download(kind):
    """The form's choices, empty fields dropped, handed to the API that streams the file."""
    require_role(*EXPORTERS)
    endpoint = "exports.ReportsCsv" if kind == "reports" else "exports.TerritoriesGeojson"
    chosen = {key: value for key, value in request.args.items() if value.strip()}
    return redirect(url_for(endpoint, **chosen))
