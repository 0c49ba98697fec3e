"""Reports: creation safe to retry, batch push, filtered listing, follow-up."""

import marshmallow as ma
from flask import request, url_for
from flask_babel import gettext as _
from geoalchemy2.shape import to_shape

from ..auth import current_actor, requires
from ..errors import DomainError
from ..httperrors import status_of
from ..models import Report, ReportStatusChange
from ..schemas import (
    BatchResponseSchema,
    BatchSchema,
    ReportCreateSchema,
    ReportPageSchema,
    ReportQuerySchema,
    ReportSchema,
    ReportUpdateSchema,
)
from ..usecases import reports
from ..vocabulary import VULNERABILITIES
from . import ApiBlueprint, ApiView
from .problems import flatten, problem

URL = "/reports"
blp = ApiBlueprint("reports", __name__, description="Signalements d'intervention")


def report_response(report, status, headers=None):
    view = report_view(report, with_dwelling=True)
    return view, status, {"ETag": etag(report), **(headers or {})}


def source_of_request() -> str:
    return "form" if request.headers.get("X-Ohpunaises-Source") == "form" else "api"


@blp.route("")
class Reports(ApiView):
    @requires("report.read")
    @blp.arguments(ReportQuerySchema, location="query")
    @blp.response(200, ReportPageSchema)
    @blp.alt_response(422, description="Filtre invalide")
    def get(self, filters):
        """Liste les signalements visibles, du plus ancien au plus récent, par pages (curseur)"""
        limit, cursor = filters.pop("limit"), filters.pop("cursor", None)
        items, cursor = reports.list_reports(current_actor(), filters, limit, cursor)
        return {"items": [report_view(r) for r in items], "next_cursor": cursor}

    @requires("report.create")
    @blp.arguments(ReportCreateSchema)
    @blp.response(201, ReportSchema, headers={"Location": {"schema": {"type": "string"}}})
    @blp.alt_response(
        200, schema=ReportSchema, description="Déjà enregistré (même UUID, même contenu)"
    )
    @blp.alt_response(409, description="Même UUID, autre contenu")
    @blp.alt_response(422, description="Données invalides ou hors périmètre")
    def post(self, data):
        """Enregistre un signalement ; rejouer la même requête renvoie le même signalement"""
        report, created = reports.create_report(current_actor(), data, source_of_request())
        if not created:
            return report_response(report, 200)
        location = url_for("reports.ReportItem", report_id=report.id)
        return report_response(report, 201, {"Location": location})


@blp.route("/batch")
class ReportBatch(ApiView):
    @requires("report.create")
    @blp.arguments(BatchSchema)
    @blp.response(200, BatchResponseSchema)
    def post(self, data):
        """Envoie jusqu'à 500 signalements ; chacun est accepté ou refusé seul, dans l'ordre"""
        loaded = [load_item(item) for item in data["reports"]]
        valid = [item for item in loaded if isinstance(item, dict)]
        stored = iter(reports.push_reports(current_actor(), valid, source_of_request()))
        results = [
            item_result(index, next(stored) if isinstance(item, dict) else item)
            for index, item in enumerate(loaded)
        ]
        return {"results": results}


def load_item(item: dict) -> dict | ma.ValidationError:
    """One item of a batch, loaded as for POST /reports, or why it cannot be."""
    try:
        return ReportCreateSchema().load(item)
    except ma.ValidationError as error:
        return error


def item_result(index: int, outcome) -> dict:
    if isinstance(outcome, ma.ValidationError):
        title, errors = _("Données invalides"), flatten(outcome.messages)
        return {"index": index, "status": 422, "title": title, "errors": errors}
    if isinstance(outcome, DomainError):
        status, title = status_of(outcome), str(outcome.title)
        return {"index": index, "status": status, "title": title, "errors": outcome.field_errors()}
    report, created = outcome
    view = report_view(report)
    return {"index": index, "status": 201 if created else 200, "id": report.id, "report": view}


IF_MATCH_DOC = {
    "in": "header",
    "name": "If-Match",
    "required": True,
    "schema": {"type": "string"},
    "description": "ETag lu par GET, ou * pour la version courante",
}


@blp.route("/<uuid:report_id>")
class ReportItem(ApiView):
    @requires("report.read")
    @blp.response(200, ReportSchema)
    @blp.alt_response(404, description="Inconnu ou hors de votre périmètre")
    def get(self, report_id):
        """Lit un signalement (avec son historique de suivi et son ETag)"""
        return report_response(reports.get_report(current_actor(), report_id), 200)

    @requires("report.update")
    @blp.arguments(ReportUpdateSchema)
    @blp.response(200, ReportSchema)
    @blp.alt_response(404, description="Inconnu ou hors de votre périmètre")
    @blp.alt_response(412, description="Le signalement a changé depuis votre lecture")
    @blp.alt_response(422, description="Données invalides")
    @blp.alt_response(428, description="En-tête If-Match manquant")
    @blp.doc(parameters=[IF_MATCH_DOC])
    def patch(self, data, report_id):
        """Suivi : statut, date de résolution, coûts, notes… (exige If-Match)"""
        if_match = request.headers.get("If-Match")
        if not if_match:
            # Whether it exists or not, a report out of reach stays a 404.
            reports.get_report(current_actor(), report_id)
            return problem(428, _("Relisez le signalement et renvoyez son ETag dans If-Match."))
        report = reports.update_report(current_actor(), report_id, data, version_of(if_match))
        return report_response(report, 200)


def etag(report: Report) -> str:
    return f'"{report.version}"'


def version_of(if_match: str) -> int | None:
    """The version an If-Match names: None for "*" (whatever is current), 0 (which no report
    has) for a tag that is not one of ours."""
    tag = if_match.strip()
    if tag == "*":
        return None
    number = tag[1:-1] if len(tag) > 2 and tag[0] == tag[-1] == '"' else ""
    return int(number) if number.isascii() and number.isdigit() and len(number) < 10 else 0


# Presentation ---------------------------------------------------------------------------------


def report_view(report: Report, with_dwelling: bool = False) -> dict:
    """The report as the API shows it."""
    view = {
        name: getattr(report, name)
        for name in (
            "id",
            "structure_id",
            "source",
            "intervention_date",
            "housing",
            "status",
            "resolved_on",
            "actions",
            "created_at",
            "updated_at",
            "version",
            *reports.FOLLOW_UP_FIELDS,
        )
    }
    view["location"] = _point(report.location)
    view["commune"] = report.commune.code
    view["arrondissement"] = report.arrondissement.code if report.arrondissement else None
    view["qpv"] = report.qpv.code if report.qpv else None
    view["vulnerabilities"] = [n for n in VULNERABILITIES if getattr(report, f"vuln_{n}")]
    view["history"] = [_step(change) for change in report.history]
    if with_dwelling:
        view["dwelling_reports"] = reports.dwelling_reports(report)
    return view


def _point(location):
    if location is None:
        return None
    point = to_shape(location)
    return {"type": "Point", "coordinates": [point.x, point.y]}


def _step(change: ReportStatusChange) -> dict:
    author = change.changed_by
    return {
        "status": change.status,
        "resolved_on": change.resolved_on,
        "changed_at": change.changed_at,
        "changed_by": (author.display_name or author.email) if author else None,
    }
