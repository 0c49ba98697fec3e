"""The evaluation protocol (DESIGN §2, §5): evaluative questions, the judgement criteria that
answer them, the indicators each criterion reads with today's figure and its targets, and the
evaluator's evidence and recommendations.

The coordination writes the questions, the criteria and their indicators (`evaluation.manage`);
the evaluator writes evidence and recommendations only (`evaluation.write`). Readers attached
to deployments see the questions of their deployments and the programme-wide ones. Figures
are read over the whole history, as the reader may read them (protected for every role but
the coordination): the calendar grid then never refuses them.
"""

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import audit, privacy
from ..errors import Forbidden, Invalid, NotFound, invalid
from ..extensions import db
from ..indicators import INDICATORS, Period, Result, compute, suppression_of
from ..indicators.definitions import THEMES
from ..indicators.results import Figure, Suppression
from ..models import Deployment, EvaluationCriterion, EvaluationQuestion, User
from ..permissions import Actor, deployments_within
from ..schemas import encodable
from . import transaction
from .deployments import set_for
from .indicators import read_indicators
from .targets import TargetView, list_targets

QUESTION_LENGTH = 500  # the columns' sizes
CRITERION_LENGTH = 500
WRITING_LENGTH = 10_000  # evidence, recommendations
INDICATORS_AT_MOST = 12
POSITION_AT_MOST = 9999
QUESTION_FIELDS = ("text", "deployment_id", "position", "recommendations")
CRITERION_FIELDS = ("text", "indicators", "position", "evidence")


# What the protocol reads ------------------------------------------------------------------------


@dataclass(frozen=True)
class IndicatorFigure:
    """An indicator a criterion reads: today's figure over the whole history, as the reader
    may read it, why it is not shown when it is not, and the targets set on it."""

    id: str
    label: str
    unit: str
    theme: str
    theme_label: str
    shape: str
    value: int | float | str | None
    display: str
    suppressed: bool
    reason: str | None
    targets: tuple[TargetView, ...]

    @property
    def available(self) -> bool:
        return not self.suppressed and self.value is not None

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "label": self.label,
            "unit": self.unit,
            "theme": self.theme,
            "theme_label": self.theme_label,
            "shape": self.shape,
            "period": str(SINCE_THE_START),
            "value": self.value,
            "display": self.display,
            "suppressed": self.suppressed,
            "available": self.available,
            "reason": self.reason,
            "targets": [target.as_dict() for target in self.targets],
        }


@dataclass(frozen=True)
class Criterion:
    """A judgement criterion with its indicators and the evaluator's evidence."""

    id: int
    question_id: int
    position: int
    text: str
    indicators: tuple[IndicatorFigure, ...]
    evidence: str | None
    updated_at: dt.datetime
    updated_by: str | None

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "question_id": self.question_id,
            "position": self.position,
            "text": self.text,
            "indicators": [indicator.as_dict() for indicator in self.indicators],
            "evidence": self.evidence,
            "updated_at": self.updated_at.isoformat(),
            "updated_by": self.updated_by,
        }


@dataclass(frozen=True)
class Question:
    """An evaluative question (of one deployment, or of the whole programme), its criteria
    in order, and the evaluator's recommendations."""

    id: int
    deployment_id: int | None
    deployment: str | None
    position: int
    text: str
    recommendations: str | None
    criteria: tuple[Criterion, ...]
    updated_at: dt.datetime
    updated_by: str | None

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "deployment_id": self.deployment_id,
            "deployment": self.deployment,
            "position": self.position,
            "text": self.text,
            "recommendations": self.recommendations,
            "criteria": [criterion.as_dict() for criterion in self.criteria],
            "updated_at": self.updated_at.isoformat(),
            "updated_by": self.updated_by,
        }


@dataclass(frozen=True)
class Protocol:
    """The questions one reader sees, in order, with today's figures."""

    deployment_id: int | None  # the deployment chosen, None for every one the reader reaches
    deployment: str | None
    computed_on: dt.date
    suppression: Suppression
    questions: tuple[Question, ...]

    @property
    def period_label(self) -> str:
        return str(SINCE_THE_START)

    def as_dict(self) -> dict:
        return {
            "deployment_id": self.deployment_id,
            "deployment": self.deployment,
            "period": {"start": None, "end": None, "label": self.period_label},
            "computed_on": self.computed_on.isoformat(),
            "suppression": {
                "applied": self.suppression.applied,
                "k": self.suppression.k,
                "perturbation": self.suppression.perturbation,
            },
            "questions": [question.as_dict() for question in self.questions],
        }


SINCE_THE_START = _l("depuis le début")


# Reading ----------------------------------------------------------------------------------------


def protocol(actor: Actor, deployment_id: int | None = None) -> Protocol:
    """The questions `actor` reaches, in order, each criterion with its indicators' figures.

    With `deployment_id`, that deployment's questions and the programme-wide ones, every
    figure read over that deployment; without, the figures of a programme-wide question are
    read over the reader's deployments (every one for who is attached to none)."""
    actor.check("evaluation.read")
    chosen = _reached_deployment(actor, deployment_id) if deployment_id is not None else None
    query = sa.select(EvaluationQuestion).where(_visible(actor))
    if chosen is not None:
        query = query.where(
            sa.or_(
                EvaluationQuestion.deployment_id == chosen.id,
                EvaluationQuestion.deployment_id.is_(None),
            )
        )
    questions = db.session.scalars(
        query.order_by(EvaluationQuestion.position, EvaluationQuestion.id)
    ).all()
    reader = _Reader(actor, chosen.id if chosen else None)
    views = tuple(reader.question(question) for question in questions)
    return Protocol(
        deployment_id=chosen.id if chosen else None,
        deployment=chosen.name if chosen else None,
        computed_on=dt.date.today(),
        suppression=reader.suppression(),
        questions=views,
    )


def reachable_deployments(actor: Actor) -> list[Deployment]:
    """The deployments whose protocol the actor reads, by name."""
    actor.check("evaluation.read")
    return db.session.scalars(
        sa.select(Deployment)
        .where(deployments_within(actor, "evaluation.read"))
        .order_by(Deployment.name)
    ).all()


def indicator_choices() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(theme, its label, [(indicator id, label)]) for the criteria's indicator picker."""
    themes = {}
    for indicator in INDICATORS.values():
        themes.setdefault(indicator.theme, []).append((indicator.id, str(indicator.label)))
    return [(theme, str(THEMES[theme]), items) for theme, items in themes.items()]


class _Reader:
    """Builds the views of one reading, each scope's figures and the targets computed once."""

    def __init__(self, actor: Actor, chosen: int | None):
        self.actor, self.chosen = actor, chosen
        self.results: dict[tuple[int, ...] | None, Result] = {}
        self.targets = None
        self.authors: dict[int, str] = {}

    def question(self, question: EvaluationQuestion) -> Question:
        deployment_id = self.chosen or question.deployment_id
        criteria = tuple(
            self.criterion(criterion, deployment_id) for criterion in question.criteria
        )
        return Question(
            id=question.id,
            deployment_id=question.deployment_id,
            deployment=self.deployment_name(question.deployment_id),
            position=question.position,
            text=question.text,
            recommendations=question.recommendations,
            criteria=criteria,
            updated_at=question.updated_at,
            updated_by=self.author(question.updated_by_id),
        )

    def criterion(self, criterion: EvaluationCriterion, deployment_id: int | None) -> Criterion:
        ids = [id_ for id_ in criterion.indicators or () if id_ in INDICATORS]
        indicators = tuple(
            self.indicator(id_, self.result(deployment_id).indicator(id_).whole, deployment_id)
            for id_ in ids
        )
        return Criterion(
            id=criterion.id,
            question_id=criterion.question_id,
            position=criterion.position,
            text=criterion.text,
            indicators=indicators,
            evidence=criterion.evidence,
            updated_at=criterion.updated_at,
            updated_by=self.author(criterion.updated_by_id),
        )

    def result(self, deployment_id: int | None) -> Result:
        """Every indicator over one scope, computed once per reading (and cached beyond it)."""
        scope = (deployment_id,) if deployment_id is not None else None
        if scope not in self.results:
            if scope is None:
                # The reader's own scope: what the dashboard shows them, over the whole history.
                found = read_indicators(self.actor, Period(), action="evaluation.read")
            else:
                found = compute(Period(), viewer_role=self.actor.role, deployments=scope)
            self.results[scope] = found
        return self.results[scope]

    def indicator(self, id_: str, whole: Figure, deployment_id: int | None) -> IndicatorFigure:
        definition = INDICATORS[id_]
        return IndicatorFigure(
            id=id_,
            label=str(definition.label),
            unit=str(definition.unit),
            theme=definition.theme,
            theme_label=str(THEMES[definition.theme]),
            shape=definition.shape,
            value=None if whole.suppressed else whole.value,
            display=whole.display,
            suppressed=whole.suppressed,
            reason=hidden_reason(whole, self.suppression().k),
            targets=self.targets_of(id_, deployment_id),
        )

    def targets_of(self, id_: str, deployment_id: int | None) -> tuple[TargetView, ...]:
        """The targets on this indicator: of the deployment, or every one the reader sees."""
        if self.targets is None:
            may = self.actor.may("target.read")
            self.targets = list_targets(self.actor, deployment_id=self.chosen) if may else []
        return tuple(
            target
            for target in self.targets
            if target.indicator == id_
            and (deployment_id is None or target.deployment_id == deployment_id)
        )

    def suppression(self) -> Suppression:
        """How the reader's figures are protected (the same in every scope)."""
        return suppression_of(privacy.Policy.for_role(self.actor.role))

    def deployment_name(self, deployment_id: int | None) -> str | None:
        # By its id: the relationship may still name the deployment a change replaced.
        deployment = db.session.get(Deployment, deployment_id) if deployment_id else None
        return deployment.name if deployment else None

    def author(self, user_id: int | None) -> str | None:
        if user_id is None:
            return None
        if user_id not in self.authors:
            user = db.session.get(User, user_id)
            self.authors[user_id] = (user.display_name or user.email) if user else None
        return self.authors[user_id]


def hidden_reason(figure: Figure, k: int) -> str | None:
    """Why a figure is not shown, in words; None when it is."""
    if figure.suppressed and figure.display.startswith("<"):
        return _(
            "Effectif de 1 à %(last)d : masqué pour qu'aucun ménage ne puisse être reconnu.",
            last=k - 1,
        )
    if figure.suppressed:
        return _("Secret statistique : la valeur repose sur un effectif masqué.")
    if figure.value is None:
        return _("Aucune donnée pour la calculer.")
    return None


def _visible(actor: Actor):
    """A condition on `EvaluationQuestion`: the reader's deployments', and the programme's."""
    deployments = actor.deployment_ids
    if deployments is None:
        return sa.true()
    return sa.or_(
        EvaluationQuestion.deployment_id.in_(deployments),
        EvaluationQuestion.deployment_id.is_(None),
    )


def _reached_deployment(actor: Actor, deployment_id: int) -> Deployment:
    deployment = db.session.scalar(
        sa.select(Deployment).where(
            Deployment.id == deployment_id, deployments_within(actor, "evaluation.read")
        )
    )
    if deployment is None:
        raise NotFound(_("Déploiement inconnu ou hors de votre périmètre."))
    return deployment


# Changing ---------------------------------------------------------------------------------------

MANAGED_BY_THE_COORDINATION = _l(
    "L'évaluation écrit les constats et les recommandations ; les questions, les critères et "
    "leurs indicateurs sont tenus par la coordination."
)


def add_question(actor: Actor, data: dict) -> Question:
    """A new question: `text`, `deployment_id` (None: the whole programme), `position` (after
    the last by default), `recommendations`."""
    _check_manage(actor)
    with transaction() as session:
        question = EvaluationQuestion(
            text=_text(data, "text", QUESTION_LENGTH, required=True),
            deployment_id=_deployment(actor, data.get("deployment_id")),
            position=_position(data, _next_position(EvaluationQuestion, None)),
            recommendations=_text(data, "recommendations", WRITING_LENGTH),
            updated_by_id=actor.user_id,
        )
        session.add(question)
        session.flush()
        audit.record(
            actor, "evaluation.question.create", _target(question), _question_audit(question)
        )
    return _view_of_question(actor, question)


def update_question(actor: Actor, question_id: int, data: dict) -> Question:
    """The question with the fields of `data` changed; an evaluator changes only its
    recommendations."""
    fields = _fields(data, QUESTION_FIELDS)
    _check_fields(actor, fields, "recommendations")
    question = _find_question(actor, question_id)
    with transaction():
        before = _question_audit(question)
        if "text" in fields:
            question.text = _text(data, "text", QUESTION_LENGTH, required=True)
        if "deployment_id" in fields:
            question.deployment_id = _deployment(actor, data["deployment_id"])
        if "position" in fields:
            question.position = _position(data, question.position)
        if "recommendations" in fields:
            question.recommendations = _text(data, "recommendations", WRITING_LENGTH)
        question.updated_by_id = actor.user_id
        action = (
            "evaluation.recommendations.write"
            if fields == {"recommendations"}
            else "evaluation.question.update"
        )
        details = {"before": before, **_question_audit(question)}
        audit.record(actor, action, _target(question), details)
    return _view_of_question(actor, question)


def write_recommendations(actor: Actor, question_id: int, text: str | None) -> Question:
    """The evaluator's recommendations on a question (empty: none)."""
    return update_question(actor, question_id, {"recommendations": text})


def delete_question(actor: Actor, question_id: int) -> None:
    """The question removed with its criteria; the audit keeps what they were."""
    _check_manage(actor)
    question = _find_question(actor, question_id)
    with transaction() as session:
        details = {
            **_question_audit(question),
            "criteria": [_criterion_audit(c) for c in question.criteria],
        }
        audit.record(actor, "evaluation.question.delete", _target(question), details)
        session.delete(question)


def add_criterion(actor: Actor, question_id: int, data: dict) -> Criterion:
    """A new criterion of the question: `text`, `indicators` (ids), `position` (after the
    last by default), `evidence`."""
    _check_manage(actor)
    question = _find_question(actor, question_id)
    with transaction() as session:
        # Every value before the record: made with its question, it would be flushed early.
        values = {
            "text": _text(data, "text", CRITERION_LENGTH, required=True),
            "indicators": _indicators(data.get("indicators")),
            "position": _position(data, _next_position(EvaluationCriterion, question.id)),
            "evidence": _text(data, "evidence", WRITING_LENGTH),
        }
        criterion = EvaluationCriterion(question=question, updated_by_id=actor.user_id, **values)
        session.add(criterion)
        session.flush()
        audit.record(
            actor, "evaluation.criterion.create", _target(criterion), _criterion_audit(criterion)
        )
    return _view_of_criterion(actor, criterion)


def update_criterion(actor: Actor, criterion_id: int, data: dict) -> Criterion:
    """The criterion with the fields of `data` changed; an evaluator changes only its
    evidence."""
    fields = _fields(data, CRITERION_FIELDS)
    _check_fields(actor, fields, "evidence")
    criterion = _find_criterion(actor, criterion_id)
    with transaction():
        before = _criterion_audit(criterion)
        if "text" in fields:
            criterion.text = _text(data, "text", CRITERION_LENGTH, required=True)
        if "indicators" in fields:
            criterion.indicators = _indicators(data["indicators"])
        if "position" in fields:
            criterion.position = _position(data, criterion.position)
        if "evidence" in fields:
            criterion.evidence = _text(data, "evidence", WRITING_LENGTH)
        criterion.updated_by_id = actor.user_id
        action = (
            "evaluation.evidence.write" if fields == {"evidence"} else "evaluation.criterion.update"
        )
        details = {"before": before, **_criterion_audit(criterion)}
        audit.record(actor, action, _target(criterion), details)
    return _view_of_criterion(actor, criterion)


def write_evidence(actor: Actor, criterion_id: int, text: str | None) -> Criterion:
    """The evaluator's qualitative evidence on a criterion (empty: none)."""
    return update_criterion(actor, criterion_id, {"evidence": text})


def delete_criterion(actor: Actor, criterion_id: int) -> None:
    """The criterion removed; the audit keeps what it was."""
    _check_manage(actor)
    criterion = _find_criterion(actor, criterion_id)
    with transaction() as session:
        audit.record(
            actor, "evaluation.criterion.delete", _target(criterion), _criterion_audit(criterion)
        )
        session.delete(criterion)


# Inside -----------------------------------------------------------------------------------------


def _check_manage(actor: Actor) -> None:
    """`evaluation.manage`; the evaluator is told what is theirs to write."""
    if actor.may("evaluation.manage"):
        return
    if actor.may("evaluation.write"):
        raise Forbidden(MANAGED_BY_THE_COORDINATION)
    actor.check("evaluation.manage")


def _check_fields(actor: Actor, fields: set[str], written: str) -> None:
    """`evaluation.write` for the evaluator's own field, `evaluation.manage` for the rest."""
    if fields - {written}:
        _check_manage(actor)
    else:
        actor.check("evaluation.write")


def _fields(data: dict, known: tuple[str, ...]) -> set[str]:
    fields = set(data) & set(known)
    if not fields:
        raise Invalid(_("Rien à modifier : envoyez au moins un champ."))
    return fields


def _find_question(actor: Actor, question_id: int) -> EvaluationQuestion:
    question = db.session.scalar(
        sa.select(EvaluationQuestion).where(EvaluationQuestion.id == question_id, _visible(actor))
    )
    if question is None:
        raise NotFound(_("Aucune question n° %(id)s.", id=question_id))
    _check_reach(actor, question)
    return question


def _find_criterion(actor: Actor, criterion_id: int) -> EvaluationCriterion:
    criterion = db.session.scalar(
        sa.select(EvaluationCriterion)
        .join(EvaluationQuestion)
        .where(EvaluationCriterion.id == criterion_id, _visible(actor))
    )
    if criterion is None:
        raise NotFound(_("Aucun critère n° %(id)s.", id=criterion_id))
    _check_reach(actor, criterion.question)
    return criterion


def _check_reach(actor: Actor, question: EvaluationQuestion) -> None:
    """A programme-wide question is changed only by who reaches every deployment: its
    readers, in every deployment, would read what one deployment's team wrote."""
    if question.deployment_id is None and actor.deployment_ids is not None:
        raise Forbidden(
            _(
                "Cette question porte sur tout le programme : seules les personnes rattachées "
                "à aucun déploiement la modifient."
            )
        )


def _text(data: dict, field: str, maximum: int, required: bool = False) -> str | None:
    """A trimmed text (None when empty), refused when too long, not text, or required."""
    value = data.get(field)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise invalid(field, _("Texte attendu."))
    value = value.strip()
    if "\x00" in value or not encodable(value):
        raise invalid(field, _("Caractère interdit (nul ou invalide)."))
    if len(value) > maximum:
        raise invalid(
            field,
            _("%(n)d caractères au plus (il y en a %(count)d).", n=maximum, count=len(value)),
        )
    if required and not value:
        raise invalid(field, _("Champ obligatoire."))
    return value or None


def _indicators(value) -> list[str]:
    """Known indicator ids, each once, in the order given."""
    if value is None:
        return []
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise invalid("indicators", _("Liste d'identifiants d'indicateurs attendue."))
    unknown = [id_ for id_ in value if id_ not in INDICATORS]
    if unknown:
        raise invalid(
            "indicators",
            _("Indicateur inconnu : %(ids)s.", ids=", ".join(unknown[:5])),
        )
    ids = list(dict.fromkeys(value))
    if len(ids) > INDICATORS_AT_MOST:
        raise invalid(
            "indicators", _("%(n)d indicateurs au plus par critère.", n=INDICATORS_AT_MOST)
        )
    return ids


def _position(data: dict, default: int) -> int:
    value = data.get("position")
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid("position", _("Nombre entier attendu."))
    if not 0 <= value <= POSITION_AT_MOST:
        raise invalid("position", _("Position entre 0 et %(most)d.", most=POSITION_AT_MOST))
    return value


def _next_position(model, question_id: int | None) -> int:
    """After the last question (or the last criterion of the question)."""
    query = sa.select(sa.func.max(model.position))
    if question_id is not None:
        query = query.where(model.question_id == question_id)
    last = db.session.scalar(query)
    return min(POSITION_AT_MOST, (last or 0) + 1)


def _deployment(actor: Actor, deployment_id) -> int | None:
    """One of the actor's deployments, or the whole programme for who reaches every one."""
    deployment = set_for(actor, deployment_id, "evaluation.manage")
    return deployment.id if deployment else None


def _view_of_question(actor: Actor, question: EvaluationQuestion) -> Question:
    return _Reader(actor, None).question(question)


def _view_of_criterion(actor: Actor, criterion: EvaluationCriterion) -> Criterion:
    return _Reader(actor, None).criterion(criterion, criterion.question.deployment_id)


def _target(record) -> str:
    kind = "question" if isinstance(record, EvaluationQuestion) else "criterion"
    return f"evaluation_{kind}:{record.id}"


def _question_audit(question: EvaluationQuestion) -> dict:
    return {
        "text": question.text,
        "deployment_id": question.deployment_id,
        "position": question.position,
        "recommendations": question.recommendations,
    }


def _criterion_audit(criterion: EvaluationCriterion) -> dict:
    return {
        "question_id": criterion.question_id,
        "text": criterion.text,
        "indicators": list(criterion.indicators or ()),
        "position": criterion.position,
        "evidence": criterion.evidence,
    }
