"""The evaluation protocol in the browser (`/evaluation`): each question with its criteria, the
indicators that answer them with today's figures and targets, the evaluator's evidence and
recommendations; the coordination's forms to write the protocol, the evaluator's to write
evidence and recommendations. And the deployments side by side (`/evaluation/deploiements`).

Every form posts, then comes back to the page (POST-redirect-GET); refused, the page comes
back with the form open and the message beside its field.
"""

import datetime as dt
from dataclasses import dataclass, field

from flask import flash, redirect, render_template, request, url_for
from flask_babel import format_decimal, format_percent
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from .. import privacy
from ..auth import current_actor, requires
from ..errors import DomainError, Invalid
from ..httperrors import status_of
from ..indicators import Period
from ..ratelimits import figures_limit
from ..usecases import comparison, evaluation
from . import bp
from .forms import date, deployment_asked, errors_of, identifier, number, text
from .periods import choice_of, label_of, period_choices, period_of

QUESTION = "/evaluation/questions/<int(max=2147483647):question_id>"
CRITERION = "/evaluation/criteres/<int(max=2147483647):criterion_id>"
NO_STORE = {"Cache-Control": "no-store"}


# A sign beside each status's words, so that the badge reads without its colour.
@dataclass
class Failed:
    """The form that was refused, what it held, and the messages by field."""

    form: str | None = None
    errors: dict = field(default_factory=dict)
    values: MultiDict = field(default_factory=MultiDict)

    def values_for(self, form: str) -> MultiDict | None:
        return self.values if form == self.form else None

    def errors_for(self, form: str) -> dict:
        return self.errors if form == self.form else {}


# The protocol -----------------------------------------------------------------------------------


@bp.get("/evaluation", endpoint="evaluation")
@requires("evaluation.read")
@figures_limit()
def evaluation_page():
    """The protocol with today's figures, for the actor's deployments or the one chosen."""
    return _page(Failed())


@bp.post("/evaluation/questions")
@requires("evaluation.manage")
def add_question():
    form_id, errors = "question-new", {}
    data = _question_data(request.form, errors)
    return _saved(
        form_id,
        errors,
        lambda: evaluation.add_question(current_actor(), data),
        _("Question ajoutée."),
        lambda question: f"question-{question.id}",
    )


@bp.post(QUESTION)
@requires("evaluation.manage")
def update_question(question_id):
    form_id, errors = f"question-{question_id}", {}
    data = _question_data(request.form, errors)
    return _saved(
        form_id,
        errors,
        lambda: evaluation.update_question(current_actor(), question_id, data),
        _("Question enregistrée."),
        lambda question: f"question-{question.id}",
    )


@bp.post(f"{QUESTION}/supprimer")
@requires("evaluation.manage")
def delete_question(question_id):
    return _saved(
        f"question-{question_id}",
        {},
        lambda: evaluation.delete_question(current_actor(), question_id),
        _("Question supprimée, avec ses critères."),
        lambda _done: "protocole",
    )


@bp.post(f"{QUESTION}/recommandations")
@requires("evaluation.write")
def write_recommendations(question_id):
    form_id, errors = f"recommendations-{question_id}", {}
    written = text(request.form, "recommendations", evaluation.WRITING_LENGTH, errors)
    return _saved(
        form_id,
        errors,
        lambda: evaluation.write_recommendations(current_actor(), question_id, written),
        _("Recommandations enregistrées."),
        lambda _done: f"question-{question_id}",
    )


@bp.post(f"{QUESTION}/criteres")
@requires("evaluation.manage")
def add_criterion(question_id):
    form_id, errors = f"criterion-new-{question_id}", {}
    data = _criterion_data(request.form, errors)
    return _saved(
        form_id,
        errors,
        lambda: evaluation.add_criterion(current_actor(), question_id, data),
        _("Critère ajouté."),
        lambda criterion: f"criterion-{criterion.id}",
    )


@bp.post(CRITERION)
@requires("evaluation.manage")
def update_criterion(criterion_id):
    form_id, errors = f"criterion-{criterion_id}", {}
    data = _criterion_data(request.form, errors)
    return _saved(
        form_id,
        errors,
        lambda: evaluation.update_criterion(current_actor(), criterion_id, data),
        _("Critère enregistré."),
        lambda criterion: f"criterion-{criterion.id}",
    )


@bp.post(f"{CRITERION}/supprimer")
@requires("evaluation.manage")
def delete_criterion(criterion_id):
    return _saved(
        f"criterion-{criterion_id}",
        {},
        lambda: evaluation.delete_criterion(current_actor(), criterion_id),
        _("Critère supprimé."),
        lambda _done: "protocole",
    )


@bp.post(f"{CRITERION}/constats")
@requires("evaluation.write")
def write_evidence(criterion_id):
    form_id, errors = f"evidence-{criterion_id}", {}
    written = text(request.form, "evidence", evaluation.WRITING_LENGTH, errors)
    return _saved(
        form_id,
        errors,
        lambda: evaluation.write_evidence(current_actor(), criterion_id, written),
        _("Constats enregistrés."),
        lambda _done: f"criterion-{criterion_id}",
    )


# Deployments side by side ----------------------------------------------------------------------


@bp.get("/evaluation/deploiements", endpoint="evaluation_deployments")
@requires("evaluation.read")
@figures_limit()
def compared_deployments():
    """The deployments side by side over one period (the last complete quarter by default)."""
    actor = current_actor()
    protected = not privacy.reads_raw(actor.role)
    default = comparison.last_quarter(dt.date.today())
    errors, found = {}, None
    try:
        period = _asked_period(protected, default, errors)
        if not errors:
            found = comparison.compare_deployments(actor, period)
    except Invalid as error:
        errors.update({key: [str(message)] for key, message in error.errors.items()})
    context = {
        "comparison": found,
        "errors": errors,
        "form": request.args,
        "protected": protected,
        "default": default,
        "number_text": number_text,
        "legend_text": privacy.legend(found.suppression.k) if found else None,
    }
    if protected:
        context["choices"] = _choices(default)
        context["chosen"] = request.args.get("periode", choice_of(default.start, default.end))
    page = render_template("web/evaluation_deployments.html", **context)
    return page, 422 if errors else 200


# Inside -----------------------------------------------------------------------------------------


def _page(failed: Failed, status: int = 200):
    actor = current_actor()
    chosen = deployment_asked(request.args)
    found = evaluation.protocol(actor, chosen)
    suppression = found.suppression
    page = render_template(
        "web/evaluation.html",
        protocol=found,
        deployments=evaluation.reachable_deployments(actor),
        chosen=chosen,
        may_manage=actor.may("evaluation.manage"),
        may_write=actor.may("evaluation.write"),
        whole_allowed=actor.deployment_ids is None,
        themes=evaluation.indicator_choices(),
        failed=failed,
        number_text=number_text,
        share_text=share_text,
        legend=privacy.legend(suppression.k) if suppression.applied else None,
    )
    return page, status, NO_STORE


def _saved(form_id: str, errors: dict, change, done: str, anchor):
    """Make the change and go back to the page at `anchor(result)`; refused, the page again
    with the form's messages."""
    if errors:
        return _page(Failed(form_id, errors, request.form), 422)
    try:
        result = change()
    except DomainError as error:
        if status_of(error) in (403, 404):
            raise
        return _page(Failed(form_id, errors_of(error), request.form), status_of(error))
    flash(done, "success")
    chosen = deployment_asked(request.args)
    return redirect(url_for("web.evaluation", deploiement=chosen) + "#" + anchor(result))


def _question_data(form, errors: dict) -> dict:
    data = {
        "text": text(form, "text", evaluation.QUESTION_LENGTH, errors, required=True),
        "deployment_id": identifier(form, "deployment_id", errors),
    }
    position = number(form, "position", errors)
    if position is not None:
        data["position"] = position
    return data


def _criterion_data(form, errors: dict) -> dict:
    data = {
        "text": text(form, "text", evaluation.CRITERION_LENGTH, errors, required=True),
        "indicators": [value.strip() for value in form.getlist("indicators")[:100]],
    }
    position = number(form, "position", errors)
    if position is not None:
        data["position"] = position
    return data


def _asked_period(protected: bool, default: Period, errors: dict) -> Period:
    """A choice of the calendar list for protected figures, dates otherwise."""
    if protected:
        asked = request.args.get("periode", choice_of(default.start, default.end))
        return Period(*period_of(asked))
    start = date(request.args, "from", errors)
    end = date(request.args, "to", errors)
    if "from" not in request.args and "to" not in request.args:
        return default
    if start and end and start > end:
        errors["to"] = [_("La fin de période précède son début.")]
    return Period(start, end)


def _choices(default: Period) -> list[tuple[str, str]]:
    """The calendar periods to choose from, the default one among them."""
    choices = period_choices(dt.date.today())
    value = choice_of(default.start, default.end)
    if value not in {choice for choice, _label in choices}:
        choices.insert(1, (value, label_of(default.start, default.end)))
    return choices


def number_text(value: float | None) -> str:
    """A number as the page writes it ("1 234,5"), or a dash."""
    return "—" if value is None else format_decimal(value, "#,##0.##")


def share_text(share: float | None) -> str:
    """The share of the way travelled, as "92 %", or a dash."""
    return "—" if share is None else format_percent(share)
