"""Training and awareness sessions (/formations): the list the actor reaches, and the form
that records one (a plain POST, no JavaScript needed)."""

import marshmallow as ma
from flask import flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from ..auth import current_actor, requires
from ..errors import Invalid
from ..permissions import Actor, Scope
from ..schemas import EARLIEST_DATE, TrainingCreateSchema
from ..usecases import structures, trainings
from ..vocabulary import TRAINING_KINDS
from . import bp
from .report_form import (
    aria_helper,
    commune_label,
    communes,
    errors_by_field,
    general_errors,
    schema_errors,
    today,
)

TEXT_FIELDS = ("held_on", "territory", "kind", "notes")
NUMBER_FIELDS = ("structure_id", "participants")
# Every field of the form, in page order: the first one in error takes the focus.
FORM_FIELDS = ("structure_id", "held_on", "territory", "kind", "participants", "notes")


# The list -----------------------------------------------------------------------------------------


@bp.get("/formations", endpoint="trainings")
@requires("training.read")
def trainings_page():
    """The sessions the actor reaches, the most recent first, filtered by year (and structure)."""
    actor = current_actor()
    found = trainings.list_trainings(actor)
    years = sorted({training.held_on.year for training in found}, reverse=True)
    year = chosen(request.args.get("annee"), years)
    show_structure = reaches_others(actor, "training.read")
    choices = structures.list_structures(actor) if show_structure else []
    structure_id = chosen(request.args.get("structure"), [s.id for s in choices])
    shown = [
        training
        for training in found
        if year in (None, training.held_on.year) and structure_id in (None, training.structure_id)
    ]
    return render_template(
        "web/trainings.html",
        trainings=shown,
        participants=sum(training.participants for training in shown),
        years=years,
        year=year,
        show_structure=show_structure,
        structures=choices,
        structure_id=structure_id,
        filtered=year is not None or structure_id is not None,
        may_record=actor.may("training.create"),
        kinds=TRAINING_KINDS,
    )


def chosen(text: str | None, allowed: list[int]) -> int | None:
    """The number a filter asks for, if it is one of those offered; None (all) otherwise."""
    text = (text or "").strip()
    if not (text.isascii() and text.isdigit() and len(text) < 10):
        return None
    return int(text) if int(text) in allowed else None


def reaches_others(actor: Actor, action: str) -> bool:
    """Whether `action` reaches beyond the actor's own structure (a structure to pick)."""
    return actor.check(action) is not Scope.STRUCTURE


# The form -----------------------------------------------------------------------------------------


@bp.route("/formations/nouvelle", methods=["GET", "POST"])
@requires("training.create")
def new_training():
    actor = current_actor()
    if request.method == "GET":
        return render_form(actor, default_values(actor), {})
    data, errors = training_from_form(request.form, reaches_others(actor, "training.create"))
    if not errors:
        try:
            training = trainings.create_training(actor, data)
        except Invalid as error:
            errors = errors_by_field(error.field_errors())
        else:
            flash(saved_message(training), "success")
            return redirect(url_for("web.trainings"))
    return render_form(actor, request.form, errors), 422


def default_values(actor: Actor) -> MultiDict:
    """A blank form: today, and the home commune of the actor's own structure."""
    values = MultiDict({"held_on": today().isoformat()})
    structure = actor.user.structure if actor.user is not None else None
    if structure is not None and not reaches_others(actor, "training.create"):
        values["territory"] = structure.commune.code
    return values


def training_from_form(form: MultiDict, picks_structure: bool) -> tuple[dict, dict]:
    """The session as the API would receive it, and the errors by field (none: valid)."""
    raw = {name: value for name in TEXT_FIELDS if (value := form.get(name, "").strip())}
    for name in NUMBER_FIELDS:
        if value := form.get(name, "").strip():
            raw[name] = whole_number(value)
    if not picks_structure:
        raw.pop("structure_id", None)  # theirs, whatever the form says
    try:
        data, errors = TrainingCreateSchema().load(raw), {}
    except ma.ValidationError as error:
        data, errors = error.valid_data or {}, schema_errors(error.messages)
    if picks_structure and "structure_id" not in raw:
        errors.setdefault("structure_id", []).append(_("Choisissez la structure."))
    held_on = data.get("held_on")
    if held_on is not None and held_on > today() and "held_on" not in errors:
        errors["held_on"] = [_("La date ne peut pas être dans le futur.")]
    return data, errors


def whole_number(text: str):
    """ASCII digits as a number; anything else stays text, which the schema refuses ("²" is a
    digit to Python, and thousands of digits overflow the database's integers)."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else text


def render_form(actor: Actor, values, errors: dict):
    picks_structure = reaches_others(actor, "training.create")
    shown = FORM_FIELDS if picks_structure else FORM_FIELDS[1:]
    own = actor.user.structure if actor.user is not None else None
    return render_template(
        "web/training_form.html",
        values=values,
        errors=errors,
        general_errors=general_errors(errors, shown),
        aria=aria_helper(errors, shown),
        structures=structures.list_structures(actor) if picks_structure else None,
        own_structure=own,
        communes=[(code, commune_label(code, name)) for code, name in communes()],
        kinds=TRAINING_KINDS,
        earliest=EARLIEST_DATE.isoformat(),
        today=today().isoformat(),
    )


def saved_message(training) -> str:
    return _(
        "Session du %(date)s enregistrée : %(kind)s, %(participants)d participant(s).",
        date=format_date(training.held_on, "long"),
        kind=TRAINING_KINDS[training.kind],
        participants=training.participants,
    )
