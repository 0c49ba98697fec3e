"""Partner follow-up in the browser: the form that notes an activity with a structure (a plain
POST, no JavaScript needed), its edit form, and each coordinator's "à faire" list."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..auth import current_actor, requires
from ..errors import DomainError
from ..usecases import activities
from ..usecases.activities import LENGTHS, local_today
from ..usecases.structures import get_structure
from ..vocabulary import ACTIVITY_KINDS, ACTIVITY_STATUSES
from . import bp
from .forms import date, errors_of, identifier, text


@bp.route("/structures/<int:structure_id>/activites/nouvelle", methods=["GET", "POST"])
@requires("activity.record")
def new_activity(structure_id):
    actor = current_actor()
    structure = get_structure(actor, structure_id, "activity.record")
    errors = {}
    if request.method == "POST":
        data = _activity_data(request.form, errors)
        if not errors:
            try:
                activities.record_activity(actor, structure.id, data)
            except DomainError as error:
                errors = errors_of(error)
            else:
                flash(_("Activité notée."), "success")
                return redirect(url_for("web.structure", structure_id=structure.id) + "#suivi")
        values = request.form
    else:
        values = {"kind": "call", "status": "done", "held_on": local_today().isoformat()}
    return _form_page(values, errors, structure, None)


@bp.route("/activites/<int:activity_id>/modifier", methods=["GET", "POST"])
@requires("activity.record")
def edit_activity(activity_id):
    actor = current_actor()
    activity = activities.get_activity(actor, activity_id, "activity.record")
    errors = {}
    if request.method == "POST":
        data = _activity_data(request.form, errors)
        if data.get("next_step") is not None and data["next_step"] == activity.next_step:
            data["next_step_done"] = request.form.get("next_step_done") == "1"
        if not errors:
            try:
                activities.update_activity(actor, activity.id, data)
            except DomainError as error:
                errors = errors_of(error)
            else:
                flash(_("Activité enregistrée."), "success")
                return redirect(_structure_url(activity.structure_id))
        values = request.form
    else:
        values = _values_of(activity)
    return _form_page(values, errors, activity.structure, activity)


@bp.post("/activites/<int:activity_id>/etape-faite")
@requires("activity.record")
def complete_next_step(activity_id):
    activity = activities.complete_next_step(current_actor(), activity_id)
    flash(_("Étape faite : %(step)s", step=activity.next_step), "success")
    if request.form.get("retour") == "a-faire":
        return redirect(url_for("web.todo"))
    return redirect(_structure_url(activity.structure_id))


@bp.get("/a-faire")
@requires("activity.read")
def todo():
    """The next steps due of the signed-in coordinator: theirs, and the team's unowned ones."""
    items = activities.todo(current_actor(), local_today())
    page = render_template("web/todo.html", items=items, kinds=ACTIVITY_KINDS)
    return page, 200, {"Cache-Control": "no-store"}


# Inside ---------------------------------------------------------------------------------------


def _structure_url(structure_id: int) -> str:
    return url_for("web.structure", structure_id=structure_id) + "#suivi"


def _activity_data(form, errors) -> dict:
    """The activity as the use case takes it; what cannot be read goes to `errors`."""
    data = {
        "kind": form.get("kind"),
        "held_on": date(form, "held_on", errors, required=True),
        "status": form.get("status"),
        **{name: text(form, name, maximum, errors) for name, maximum in LENGTHS.items()},
        "next_step_due": date(form, "next_step_due", errors),
        "next_step_owner_id": identifier(form, "next_step_owner_id", errors),
    }
    if data["kind"] not in ACTIVITY_KINDS:
        errors["kind"] = [_("Choisissez le type d'activité.")]
    if data["status"] not in ACTIVITY_STATUSES:
        errors["status"] = [_("Choisissez l'état de l'activité.")]
    return data


def _values_of(activity) -> dict:
    values = {
        name: getattr(activity, name) or ""
        for name in ("kind", "status", *LENGTHS, "next_step_owner_id")
    }
    values["held_on"] = activity.held_on.isoformat()
    values["next_step_due"] = activity.next_step_due.isoformat() if activity.next_step_due else ""
    values["next_step_done"] = "1" if activity.next_step_done_at else ""
    return values


def _form_page(values, errors, structure, activity):
    page = render_template(
        "web/activity_form.html",
        values=values,
        errors=errors,
        structure=structure,
        activity=activity,
        kinds=list(ACTIVITY_KINDS.items()),
        statuses=ACTIVITY_STATUSES,
        owners=[
            (user.id, user.display_name or user.email)
            for user in activities.owner_choices(structure)
        ],
        lengths=LENGTHS,
    )
    return page, 422 if errors else 200
