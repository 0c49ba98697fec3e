"""Targets: a baseline and milestones per indicator, deployment or territory, with where each
stands (the value reached is computed, never typed in)."""

import datetime as dt

import marshmallow as ma

from ..auth import current_actor, requires
from ..indicators import INDICATORS
from ..schemas import EARLIEST_DATE, Schema, Text, choice, length, within
from ..targets import TARGETABLE_SHAPES
from ..usecases import targets
from . import ApiBlueprint, ApiView

URL = "/targets"
blp = ApiBlueprint("targets", __name__, description="Cibles : référence, jalons, avancement")

LATEST_DATE = dt.date(2100, 12, 31)
TARGETABLE = [id_ for id_, indicator in INDICATORS.items() if indicator.shape in TARGETABLE_SHAPES]
VALUE_LIMIT = 1e12


def _date(**kwargs):
    return ma.fields.Date(validate=within(EARLIEST_DATE, LATEST_DATE), **kwargs)


def _value(**kwargs):
    return ma.fields.Float(allow_nan=False, validate=within(-VALUE_LIMIT, VALUE_LIMIT), **kwargs)


class MilestoneSchema(Schema):
    due_on = _date(required=True, metadata={"description": "Date du jalon"})
    value = _value(required=True, metadata={"description": "Valeur visée à cette date"})


class TargetUpdateSchema(Schema):
    indicator = choice(TARGETABLE, metadata={"description": "Identifiant de l'indicateur"})
    deployment_id = ma.fields.Integer(
        allow_none=True,
        metadata={"description": "Déploiement ; null : tout le programme (coordination globale)"},
    )
    territory = Text(
        allow_none=True,
        validate=length(1, 20),
        metadata={"description": "Code INSEE ou de QPV ; null : tout le déploiement"},
    )
    agreement = Text(
        validate=length(1, 200),
        metadata={"description": "La convention d'où vient la cible (« Convention 2026 »)"},
    )
    baseline_value = _value(metadata={"description": "Valeur de référence"})
    baseline_on = _date(
        metadata={
            "description": "Date de la valeur de référence ; le réalisé se compte de ce jour "
            "s'il commence un mois, sinon du 1er jour du mois suivant"
        }
    )
    baseline_source = Text(
        validate=length(1, 300), metadata={"description": "Source de la valeur de référence"}
    )
    on_track_percent = ma.fields.Integer(
        validate=within(1, 1000),
        metadata={"description": "« En bonne voie » à partir de cette part du chemin (100)"},
    )
    at_risk_percent = ma.fields.Integer(
        validate=within(1, 1000),
        metadata={"description": "« À surveiller » à partir de cette part du chemin (80)"},
    )
    milestones = ma.fields.List(
        ma.fields.Nested(MilestoneSchema),
        validate=length(1, targets.MILESTONES_AT_MOST),
        metadata={"description": "Jalons : la liste entière, remplacée"},
    )


class TargetCreateSchema(TargetUpdateSchema):
    indicator = choice(TARGETABLE, required=True)
    agreement = Text(required=True, validate=length(1, 200))
    baseline_value = _value(required=True)
    baseline_on = _date(required=True)
    baseline_source = Text(required=True, validate=length(1, 300))
    milestones = ma.fields.List(
        ma.fields.Nested(MilestoneSchema),
        required=True,
        validate=length(1, targets.MILESTONES_AT_MOST),
    )


class TargetQuerySchema(Schema):
    indicator = choice(INDICATORS)
    deployment = ma.fields.Integer(validate=within(1, 2**31 - 1))
    as_of = _date(
        data_key="date", metadata={"description": "Avancement à cette date (aujourd'hui)"}
    )


class BaselineSchema(Schema):
    value = ma.fields.Float()
    date = Text()
    source = Text()


class TargetMilestoneSchema(Schema):
    date = Text()
    value = ma.fields.Float()


class ThresholdsSchema(Schema):
    on_track = ma.fields.Integer()
    at_risk = ma.fields.Integer()


class TargetSchema(Schema):
    """A target and where it stands."""

    id = ma.fields.Integer()
    indicator = Text()
    indicator_label = Text()
    unit = Text()
    deployment_id = ma.fields.Integer(allow_none=True)
    deployment = Text(allow_none=True)
    territory = Text(allow_none=True)
    territory_name = Text(allow_none=True)
    agreement = Text()
    baseline = ma.fields.Nested(BaselineSchema)
    milestones = ma.fields.List(ma.fields.Nested(TargetMilestoneSchema))
    thresholds = ma.fields.Nested(ThresholdsSchema)
    as_of = Text(metadata={"description": "Fin du dernier mois complet à la date demandée"})
    counted_from = Text(metadata={"description": "Premier jour compté pour le réalisé"})
    expected = ma.fields.Float(
        allow_none=True, metadata={"description": "Valeur attendue à cette date (au prorata)"}
    )
    actual = ma.fields.Float(
        allow_none=True, metadata={"description": "Valeur réalisée (null : masquée ou sans objet)"}
    )
    actual_display = Text()
    share = ma.fields.Float(
        allow_none=True,
        metadata={"description": "Part du chemin parcouru de la référence à la valeur attendue, %"},
    )
    status = Text(
        metadata={"description": "on_track, at_risk, off_track, not_started ou unavailable"}
    )
    status_label = Text()


def _shown(view) -> dict:
    return view.as_dict()


@blp.route("")
class Targets(ApiView):
    @requires("target.read")
    @blp.arguments(TargetQuerySchema, location="query")
    @blp.response(200, TargetSchema(many=True))
    def get(self, query):
        """Les cibles de votre périmètre, chacune avec son avancement à la date demandée

        Le réalisé est l'indicateur calculé du 1er jour du mois qui suit la référence (ou du
        jour même s'il commence un mois) à la fin du
        dernier mois complet, protégé comme toute valeur pour les rôles autres que la
        coordination (une valeur masquée donne « non disponible »)."""
        return [
            _shown(view)
            for view in targets.list_targets(
                current_actor(),
                as_of=query.get("as_of"),
                indicator=query.get("indicator"),
                deployment_id=query.get("deployment"),
            )
        ]

    @requires("target.manage")
    @blp.arguments(TargetCreateSchema)
    @blp.response(201, TargetSchema)
    @blp.alt_response(422, description="Données invalides")
    def post(self, data):
        """Fixe une cible : indicateur, déploiement ou territoire, convention, référence, jalons"""
        return _shown(targets.create_target(current_actor(), data))


@blp.route("/<int(max=2147483647):target_id>")
class TargetItem(ApiView):
    @requires("target.read")
    @blp.arguments(TargetQuerySchema(only=("as_of",)), location="query")
    @blp.response(200, TargetSchema)
    @blp.alt_response(404, description="Inconnue ou hors de votre périmètre")
    def get(self, query, target_id):
        """Lit une cible et son avancement"""
        return _shown(targets.get_target(current_actor(), target_id, query.get("as_of")))

    @requires("target.manage")
    @blp.arguments(TargetUpdateSchema)
    @blp.response(200, TargetSchema)
    @blp.alt_response(404, description="Inconnue ou hors de votre périmètre")
    @blp.alt_response(422, description="Données invalides")
    def patch(self, data, target_id):
        """Modifie une cible ; les jalons envoyés remplacent les anciens"""
        return _shown(targets.update_target(current_actor(), target_id, data))

    @requires("target.manage")
    @blp.response(204)
    @blp.alt_response(404, description="Inconnue ou hors de votre périmètre")
    def delete(self, target_id):
        """Supprime une cible (le journal garde ce qu'elle était)"""
        targets.delete_target(current_actor(), target_id)
        return None
