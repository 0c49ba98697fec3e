"""Expected reporting (coordination): periods expected, received and on time, broken down by
structure, kind, commune, deployment or quarter."""

import marshmallow as ma
from flask_babel import gettext as _
from marshmallow import validates_schema

from ..auth import current_actor, requires
from ..schemas import EARLIEST_DATE, Schema, Text, choice, within
from ..usecases.completeness import BREAKDOWNS, completeness
from . import ApiBlueprint, ApiView
from .indicators import LATEST_DATE

URL = "/reporting"
blp = ApiBlueprint(
    "reporting", __name__, description="Suivi des partenaires : complétude des déclarations"
)


class ReportingQuerySchema(Schema):
    by = choice(
        BREAKDOWNS,
        load_default="structure",
        metadata={
            "description": "Ventilation : structure, kind (type), commune (d'implantation), "
            "deployment ou quarter (trimestre civil du dernier jour de la période)"
        },
    )
    start = ma.fields.Date(
        validate=within(EARLIEST_DATE, LATEST_DATE),
        metadata={"description": "Périodes dont le dernier jour tombe ce jour-là ou après"},
    )
    end = ma.fields.Date(
        validate=within(EARLIEST_DATE, LATEST_DATE),
        metadata={"description": "Périodes dont le dernier jour tombe ce jour-là ou avant"},
    )
    deployment_id = ma.fields.Integer(
        validate=within(1, 2**31 - 1), metadata={"description": "Un seul déploiement"}
    )

    @validates_schema
    def check_order(self, data, **kwargs):
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            raise ma.ValidationError(_("La fin de période précède son début."), "end")


class ReportingRowSchema(Schema):
    key = ma.fields.Raw(
        required=True,
        allow_none=True,
        metadata={
            "description": "Identifiant de la structure ou du déploiement, type, code INSEE de "
            "la commune ou trimestre (2025-Q1) ; null pour l'ensemble et pour les structures "
            "sans déploiement"
        },
    )
    label = Text(required=True)
    expected = ma.fields.Integer(
        required=True, metadata={"description": "Périodes attendues dont l'échéance est passée"}
    )
    received = ma.fields.Integer(
        required=True, metadata={"description": "Dont renseignées (signalement ou rien à signaler)"}
    )
    on_time = ma.fields.Integer(
        required=True, metadata={"description": "Dont renseignées au plus tard à l'échéance"}
    )
    completeness_rate = ma.fields.Float(
        required=True, allow_none=True, metadata={"description": "% renseignées ; null si aucune"}
    )
    timeliness_rate = ma.fields.Float(
        required=True, allow_none=True, metadata={"description": "% à temps ; null si aucune"}
    )
    total = ma.fields.Boolean(required=True, metadata={"description": "Vrai pour l'ensemble"})


@blp.route("")
class Reporting(ApiView):
    @requires("partner.list")
    @blp.arguments(ReportingQuerySchema, location="query")
    @blp.response(200, ReportingRowSchema(many=True))
    @blp.alt_response(422, description="Paramètres invalides")
    def get(self, query):
        """Complétude et ponctualité des déclarations, par groupe puis pour l'ensemble

        Une période (mois ou trimestre selon le rythme de la structure) est attendue quand la
        structure suivait le programme à son premier jour ; renseignée quand un signalement y
        tombe ou qu'elle a été déclarée sans rien à signaler ; à temps quand cela est arrivé au
        plus tard 10 jours après sa fin. Seules comptent les périodes dont l'échéance est
        passée. Valeurs brutes, pour la coordination.
        """
        return completeness(
            current_actor(),
            query["by"],
            query.get("start"),
            query.get("end"),
            query.get("deployment_id"),
        )
