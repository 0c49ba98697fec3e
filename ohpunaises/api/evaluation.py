"""The evaluation protocol: evaluative questions, their judgement criteria and the indicators
that answer them with today's figures and targets, the evaluator's evidence and
recommendations; and the deployments side by side over one period."""

import datetime as dt

import marshmallow as ma

from ..auth import current_actor, requires
from ..indicators import Period
from ..ratelimits import figures_limit
from ..schemas import Schema, Text, length, within
from ..usecases import comparison, evaluation
from . import ApiBlueprint, ApiView
from .indicators import PeriodQuerySchema, SuppressionSchema, date_bound

URL = "/evaluation"
blp = ApiBlueprint(
    "evaluation", __name__, description="Évaluation : protocole, constats, déploiements comparés"
)
IDENTIFIER = within(1, 2**31 - 1)


# Schemas: what may be sent ----------------------------------------------------------------------


def _identifier(strict=True, **kwargs):
    """A record's number: strictly a JSON integer in a body, digits in a query string."""
    return ma.fields.Integer(strict=strict, validate=IDENTIFIER, **kwargs)


def _position():
    return ma.fields.Integer(
        strict=True,
        validate=within(0, evaluation.POSITION_AT_MOST),
        metadata={"description": "Ordre de lecture (après le dernier par défaut)"},
    )


def _writing(description: str):
    return Text(
        allow_none=True,
        validate=length(maximum=evaluation.WRITING_LENGTH),
        metadata={"description": description},
    )


class EvaluationQuerySchema(Schema):
    deployment = _identifier(
        strict=False,
        metadata={
            "description": "Un déploiement : ses questions et celles de tout le programme, "
            "chaque chiffre lu sur ce déploiement"
        },
    )


class QuestionUpdateSchema(Schema):
    text = Text(
        validate=length(1, evaluation.QUESTION_LENGTH),
        metadata={"description": "La question évaluative (coordination)"},
    )
    deployment_id = _identifier(
        allow_none=True,
        metadata={"description": "Déploiement ; null : tout le programme (coordination)"},
    )
    position = _position()
    recommendations = _writing("Les recommandations de l'évaluation (évaluation, coordination)")


class QuestionCreateSchema(QuestionUpdateSchema):
    text = Text(required=True, validate=length(1, evaluation.QUESTION_LENGTH))


class CriterionUpdateSchema(Schema):
    text = Text(
        validate=length(1, evaluation.CRITERION_LENGTH),
        metadata={"description": "Le critère de jugement (coordination)"},
    )
    indicators = ma.fields.List(
        Text(validate=length(1, 64)),
        validate=length(maximum=evaluation.INDICATORS_AT_MOST),
        metadata={
            "description": "Identifiants des indicateurs qui y répondent, dans l'ordre de "
            "lecture (GET /api/v1/indicators/definitions) ; la liste entière (coordination)"
        },
    )
    position = _position()
    evidence = _writing("Les constats qualitatifs de l'évaluation (évaluation, coordination)")


class CriterionCreateSchema(CriterionUpdateSchema):
    text = Text(required=True, validate=length(1, evaluation.CRITERION_LENGTH))


class ComparisonQuerySchema(PeriodQuerySchema):
    date_from = date_bound("from", "Premier jour (sans from ni to : le dernier trimestre achevé)")
    date_to = date_bound("to", "Dernier jour compris")
    ids = ma.fields.List(
        _identifier(strict=False),
        validate=length(1, comparison.COMPARED_AT_MOST),
        metadata={"description": "Les déploiements à comparer (tous ceux de votre périmètre)"},
    )


# Schemas: what is answered ----------------------------------------------------------------------


class IndicatorFigureSchema(Schema):
    id = Text(required=True)
    label = Text(required=True)
    unit = Text(required=True)
    theme = Text(required=True)
    theme_label = Text(required=True)
    shape = Text(required=True)
    period = Text(required=True, metadata={"description": "« depuis le début »"})
    value = ma.fields.Raw(
        required=True, allow_none=True, metadata={"description": "null : masquée ou sans objet"}
    )
    display = Text(required=True, metadata={"description": "La valeur, « < K », « s » ou « — »"})
    suppressed = ma.fields.Boolean(required=True)
    available = ma.fields.Boolean(required=True)
    reason = Text(
        required=True, allow_none=True, metadata={"description": "Pourquoi elle n'est pas lue"}
    )
    targets = ma.fields.List(
        ma.fields.Dict(),
        required=True,
        metadata={"description": "Les cibles de cet indicateur, comme GET /api/v1/targets"},
    )


class CriterionSchema(Schema):
    id = ma.fields.Integer(required=True)
    question_id = ma.fields.Integer(required=True)
    position = ma.fields.Integer(required=True)
    text = Text(required=True)
    indicators = ma.fields.List(ma.fields.Nested(IndicatorFigureSchema), required=True)
    evidence = Text(required=True, allow_none=True)
    updated_at = Text(required=True)
    updated_by = Text(required=True, allow_none=True)


class QuestionSchema(Schema):
    id = ma.fields.Integer(required=True)
    deployment_id = ma.fields.Integer(required=True, allow_none=True)
    deployment = Text(required=True, allow_none=True)
    position = ma.fields.Integer(required=True)
    text = Text(required=True)
    recommendations = Text(required=True, allow_none=True)
    criteria = ma.fields.List(ma.fields.Nested(CriterionSchema), required=True)
    updated_at = Text(required=True)
    updated_by = Text(required=True, allow_none=True)


class LabelledPeriodSchema(Schema):
    start = Text(required=True, allow_none=True)
    end = Text(required=True, allow_none=True)
    label = Text(required=True)


class ProtocolSchema(Schema):
    deployment_id = ma.fields.Integer(required=True, allow_none=True)
    deployment = Text(required=True, allow_none=True)
    period = ma.fields.Nested(LabelledPeriodSchema, required=True)
    computed_on = Text(required=True)
    suppression = ma.fields.Nested(SuppressionSchema, required=True)
    questions = ma.fields.List(ma.fields.Nested(QuestionSchema), required=True)


class ComparedFigureSchema(Schema):
    value = ma.fields.Raw(required=True, allow_none=True)
    display = Text(required=True)
    suppressed = ma.fields.Boolean(required=True)


class ComparedValueSchema(ComparedFigureSchema):
    indicator = Text(required=True)
    per_10000 = ma.fields.Nested(
        ComparedFigureSchema,
        required=True,
        allow_none=True,
        metadata={"description": "Effectifs : pour 10 000 habitants des communes du déploiement"},
    )


class ComparedIndicatorSchema(Schema):
    id = Text(required=True)
    label = Text(required=True)
    unit = Text(required=True)
    shape = Text(required=True)
    per_10000 = ma.fields.Boolean(required=True)


class ComparisonRowSchema(Schema):
    deployment_id = ma.fields.Integer(required=True, allow_none=True)
    name = Text(required=True)
    total = ma.fields.Boolean(required=True, metadata={"description": "Vrai pour « Ensemble »"})
    population = ma.fields.Integer(required=True, allow_none=True)
    values = ma.fields.List(ma.fields.Nested(ComparedValueSchema), required=True)


class ComparisonSchema(Schema):
    period = ma.fields.Nested(LabelledPeriodSchema, required=True)
    suppression = ma.fields.Nested(SuppressionSchema, required=True)
    indicators = ma.fields.List(ma.fields.Nested(ComparedIndicatorSchema), required=True)
    rows = ma.fields.List(ma.fields.Nested(ComparisonRowSchema), required=True)


# Views ------------------------------------------------------------------------------------------


@blp.route("")
class EvaluationProtocol(ApiView):
    @requires("evaluation.read")
    @figures_limit()
    @blp.arguments(EvaluationQuerySchema, location="query")
    @blp.response(200, ProtocolSchema)
    @blp.alt_response(404, description="Déploiement inconnu ou hors de votre périmètre")
    def get(self, query):
        """Le protocole d'évaluation : questions, critères, indicateurs et leurs chiffres

        Chaque indicateur est lu depuis le début du programme, comme votre rôle le lit
        (effectifs protégés sauf pour la coordination : une valeur masquée donne
        `available: false` et sa raison), avec les cibles fixées sur lui."""
        return evaluation.protocol(current_actor(), query.get("deployment")).as_dict()


@blp.route("/questions")
class Questions(ApiView):
    @requires("evaluation.manage")
    @blp.arguments(QuestionCreateSchema)
    @blp.response(201, QuestionSchema)
    @blp.alt_response(422, description="Données invalides")
    def post(self, data):
        """Ajoute une question évaluative (coordination)"""
        return evaluation.add_question(current_actor(), data).as_dict()


@blp.route("/questions/<int(max=2147483647):question_id>")
class QuestionItem(ApiView):
    @requires("evaluation.write")
    @blp.arguments(QuestionUpdateSchema)
    @blp.response(200, QuestionSchema)
    @blp.alt_response(403, description="L'évaluation ne modifie que les recommandations")
    @blp.alt_response(404, description="Inconnue ou hors de votre périmètre")
    @blp.alt_response(422, description="Données invalides")
    def patch(self, data, question_id):
        """Modifie une question ; l'évaluation n'écrit que `recommendations`"""
        return evaluation.update_question(current_actor(), question_id, data).as_dict()

    @requires("evaluation.manage")
    @blp.response(204)
    @blp.alt_response(404, description="Inconnue ou hors de votre périmètre")
    def delete(self, question_id):
        """Supprime une question et ses critères (coordination)"""
        evaluation.delete_question(current_actor(), question_id)


@blp.route("/questions/<int(max=2147483647):question_id>/criteria")
class QuestionCriteria(ApiView):
    @requires("evaluation.manage")
    @blp.arguments(CriterionCreateSchema)
    @blp.response(201, CriterionSchema)
    @blp.alt_response(404, description="Question inconnue ou hors de votre périmètre")
    @blp.alt_response(422, description="Données invalides (indicateur inconnu…)")
    def post(self, data, question_id):
        """Ajoute un critère de jugement et ses indicateurs à une question (coordination)"""
        return evaluation.add_criterion(current_actor(), question_id, data).as_dict()


@blp.route("/criteria/<int(max=2147483647):criterion_id>")
class CriterionItem(ApiView):
    @requires("evaluation.write")
    @blp.arguments(CriterionUpdateSchema)
    @blp.response(200, CriterionSchema)
    @blp.alt_response(403, description="L'évaluation ne modifie que les constats")
    @blp.alt_response(404, description="Inconnu ou hors de votre périmètre")
    @blp.alt_response(422, description="Données invalides (indicateur inconnu…)")
    def patch(self, data, criterion_id):
        """Modifie un critère ; l'évaluation n'écrit que `evidence`"""
        return evaluation.update_criterion(current_actor(), criterion_id, data).as_dict()

    @requires("evaluation.manage")
    @blp.response(204)
    @blp.alt_response(404, description="Inconnu ou hors de votre périmètre")
    def delete(self, criterion_id):
        """Supprime un critère (coordination)"""
        evaluation.delete_criterion(current_actor(), criterion_id)


@blp.route("/deployments")
class DeploymentsCompared(ApiView):
    @requires("evaluation.read")
    @figures_limit()
    @blp.arguments(ComparisonQuerySchema, location="query")
    @blp.response(200, ComparisonSchema)
    @blp.alt_response(422, description="Paramètres invalides, ou période hors calendrier")
    def get(self, query):
        """Les déploiements côte à côte : mêmes indicateurs, même période

        Une ligne par déploiement de votre périmètre, et « Ensemble » quand vous les
        atteignez tous ; les effectifs aussi pour 10 000 habitants des communes du
        déploiement. Sans from ni to, le dernier trimestre civil achevé. Pour tout rôle
        autre que la coordination, valeurs protégées et période d'un mois, d'un trimestre
        ou d'une année civils (422 sinon)."""
        if "date_from" in query or "date_to" in query:
            period = Period(query.get("date_from"), query.get("date_to"))
        else:
            period = comparison.last_quarter(dt.date.today())
        return comparison.compare_deployments(current_actor(), period, query.get("ids")).as_dict()
