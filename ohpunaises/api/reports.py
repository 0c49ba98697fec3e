"""Reports: creation safe to retry, batch push, filtered listing, follow-up."""

import marshmallow as ma
import sqlalchemy as sa
from flask import request, url_for
from flask_babel import gettext as _

from .. import reports as service
from ..auth import REPORT_READERS, REPORT_WRITERS, require_role
from ..extensions import db
from ..schemas import (
    BatchResponseSchema,
    BatchSchema,
    ReportCreateSchema,
    ReportPageSchema,
    ReportQuerySchema,
    ReportSchema,
    ReportUpdateSchema,
)
from . import ApiBlueprint, ApiView
from .problems import flatten, problem

URL = "/reports"
blp = ApiBlueprint("reports", __name__, description="Signalements d'intervention")


def report_error(error: service.ReportError):
    return problem(error.status, title=error.title, errors=error.field_errors())


def report_response(report, status, headers=None):
    view = service.report_view(report, with_dwelling=True)
    return view, status, {"ETag": service.etag(report), **(headers or {})}


def source_of_request() -> str:
    return "form" if request.headers.get("X-Ohpunaises-Source") == "form" else "api"


@blp.route("")
class Reports(ApiView):
    @blp.arguments(ReportQuerySchema, location="query")
    @blp.response(200, ReportPageSchema)
    @blp.alt_response(422, description="Filtre invalide")
    def get(self, filters):
        """Liste les signalements visibles, du plus ancien au plus récent, par pages (curseur)"""
        user = require_role(*REPORT_READERS)
        try:
            query = service.filtered_reports(user, filters)
            items, cursor = service.page(query, filters["limit"], filters.get("cursor"))
        except service.ReportError as error:
            return report_error(error)
        return {"items": [service.report_view(r) for r in items], "next_cursor": cursor}

    @blp.arguments(ReportCreateSchema)
    @blp.response(201, ReportSchema, headers={"Location": {"schema": {"type": "string"}}})
    @blp.alt_response(
        200, schema=ReportSchema, description="Déjà enregistré (même UUID, même contenu)"
    )
    @blp.alt_response(409, description="Même UUID, autre contenu")
    @blp.alt_response(422, description="Données invalides ou hors périmètre")
    def post(self, data):
        """Enregistre un signalement ; rejouer la même requête renvoie le même signalement"""
        user = require_role(*REPORT_WRITERS)
        try:
            report, created = service.store_report(data, user, source_of_request())
        except service.ReportError as error:
            db.session.rollback()
            return report_error(error)
        # Written before the commit, from the objects at hand: after it they would be reloaded.
        if created:
            location = url_for("reports.ReportItem", report_id=report.id)
            response = report_response(report, 201, {"Location": location})
        else:
            response = report_response(report, 200)
        db.session.commit()
        return response


@blp.route("/batch")
class ReportBatch(ApiView):
    @blp.arguments(BatchSchema)
    @blp.response(200, BatchResponseSchema)
    def post(self, data):
        """Envoie jusqu'à 500 signalements ; chacun est accepté ou refusé seul, dans l'ordre"""
        user = require_role(*REPORT_WRITERS)
        results = [batch_item(index, item, user) for index, item in enumerate(data["reports"])]
        db.session.commit()
        return {"results": results}


def batch_item(index: int, item: dict, user) -> dict:
    try:
        data = ReportCreateSchema().load(item)
    except ma.ValidationError as error:
        return {
            "index": index,
            "status": 422,
            "title": _("Données invalides"),
            "errors": flatten(error.messages),
        }
    try:
        report, created = batch_create(data, user)
    except service.ReportError as error:
        return {
            "index": index,
            "status": error.status,
            "title": error.title,
            "errors": error.field_errors(),
        }
    view = service.report_view(report)
    return {"index": index, "status": 201 if created else 200, "id": report.id, "report": view}


def batch_create(data: dict, user):
    """One item in its own savepoint; a concurrent twin of its UUID is replayed."""
    try:
        with db.session.begin_nested():
            return service.create_report(data, user, source_of_request())
    except sa.exc.IntegrityError:
        with db.session.begin_nested():
            return service.create_report(data, user, source_of_request())


@blp.route("/<uuid:report_id>")
class ReportItem(ApiView):
    @blp.response(200, ReportSchema)
    @blp.alt_response(404, description="Inconnu ou hors de votre périmètre")
    def get(self, report_id):
        """Lit un signalement (avec son historique de suivi et son ETag)"""
        user = require_role(*REPORT_READERS)
        report = service.visible_report(report_id, user)
        if report is None:
            return problem(404)
        return report_response(report, 200)

    @blp.arguments(ReportUpdateSchema)
    @blp.response(200, ReportSchema)
    @blp.alt_response(404, description="Inconnu ou hors de votre périmètre")
    @blp.alt_response(412, description="Le signalement a changé depuis votre lecture")
    @blp.alt_response(422, description="Données invalides")
    @blp.alt_response(428, description="En-tête If-Match manquant")
    @blp.doc(
        parameters=[
            {
                "in": "header",
                "name": "If-Match",
                "required": True,
                "schema": {"type": "string"},
                "description": "ETag lu par GET",
            }
        ]
    )
    def patch(self, data, report_id):
        """Suivi : statut, date de résolution, coûts, notes… (exige If-Match)"""
        user = require_role(*REPORT_WRITERS)
        report = service.visible_report(report_id, user)
        if report is None:
            return problem(404)
        if_match = request.headers.get("If-Match")
        if not if_match:
            return problem(428, _("Relisez le signalement et renvoyez son ETag dans If-Match."))
        if if_match != service.etag(report):
            return problem(412, _("Le signalement a changé : relisez-le avant de le modifier."))
        try:
            service.update_report(report, data, user)
            db.session.commit()
        except service.ReportError as error:
            db.session.rollback()
            return report_error(error)
        return report_response(report, 200)
