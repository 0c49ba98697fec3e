"""People: the accounts a coordinator (their deployments') or a partner admin (their
structure's) manages — invitations by e-mail, roles, deactivation."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from ..auth import current_actor, requires
from ..errors import Conflict, DomainError
from ..models.base import utcnow
from ..usecases import people
from ..usecases.structures import list_structures
from ..vocabulary import ROLES
from . import bp
from .forms import errors_of, identifier, text

STATUS_LABELS = {
    "active": _l("Actif"),
    "pending": _l("Invitation en attente"),
    "inactive": _l("Désactivé"),
}
LANGUAGE_LABELS = {"fr": "Français", "en": "English"}


def status_of(user) -> str:
    if not user.active:
        return "inactive"
    return "pending" if user.pending else "active"


@bp.app_context_processor
def inject_people_helpers():
    return {"person_status": status_of, "pending_link": people.pending_link}


@bp.get("/utilisateurs")
@requires("user.read")
def people_list():
    actor = current_actor()
    filters = {
        "search": request.args.get("q", "")[:100],
        "role": request.args.get("role") if request.args.get("role") in ROLES else None,
        "status": request.args.get("etat") if request.args.get("etat") in people.STATUSES else None,
        "structure_id": identifier(request.args, "structure", {}),
    }
    found = people.list_people(actor, filters)
    structures = list_structures(actor) if actor.may("partner.list") else []
    return render_template(
        "web/people.html",
        people=found,
        filters=filters,
        structures=structures,
        roles=ROLES,
        statuses=STATUS_LABELS,
        may_invite=actor.may("user.create"),
    )


@bp.route("/utilisateurs/inviter", methods=["GET", "POST"])
@requires("user.create")
def invite_person():
    actor = current_actor()
    values = request.form if request.method == "POST" else request.args
    errors, sent = {}, None
    if request.method == "POST":
        data = _role_data(values, errors)
        data["email"] = text(values, "email", 254, errors, required=True) or ""
        data["display_name"] = text(values, "display_name", 120, errors) or ""
        data["language"] = values.get("language") or "fr"
        if not errors:
            try:
                sent = people.invite(actor, data, people.public_address(request.url_root))
            except DomainError as error:
                errors = errors_of(error)
        if sent is not None:
            return _sent_page(sent)
    page = render_template("web/invite.html", values=values, errors=errors, **_role_choices(actor))
    return page, 422 if errors else 200


@bp.get("/utilisateurs/<int:user_id>")
@requires("user.read")
def person(user_id):
    actor = current_actor()
    user = people.get_person(actor, user_id)
    return _person_page(actor, user, {})


@bp.post("/utilisateurs/<int:user_id>/role")
@requires("user.update")
def change_role(user_id):
    actor = current_actor()
    errors = {}
    data = _role_data(request.form, errors)
    if not errors:
        try:
            people.change_role(actor, user_id, data)
        except DomainError as error:
            errors = errors_of(error)
        else:
            flash(_("Rôle enregistré."), "success")
            return redirect(url_for("web.person", user_id=user_id))
    user = people.get_person(actor, user_id)
    return _person_page(actor, user, errors, request.form), 422


@bp.post("/utilisateurs/<int:user_id>/desactiver")
@requires("user.update")
def deactivate_person(user_id):
    return _set_active(
        user_id, False, _("Compte désactivé : ses sessions et ses jetons sont arrêtés.")
    )


@bp.post("/utilisateurs/<int:user_id>/reactiver")
@requires("user.update")
def reactivate_person(user_id):
    return _set_active(user_id, True, _("Compte réactivé."))


def _set_active(user_id: int, active: bool, done: str):
    actor = current_actor()
    try:
        people.set_active(actor, user_id, active)
    except Conflict as error:  # the last coordinator
        flash(error.message(), "error")
    else:
        flash(done, "success")
    return redirect(url_for("web.person", user_id=user_id))


@bp.post("/utilisateurs/<int:user_id>/invitation/renvoyer")
@requires("user.update")
def resend_invitation(user_id):
    actor = current_actor()
    sent = people.resend_invitation(actor, user_id, people.public_address(request.url_root))
    return _sent_page(sent)


@bp.post("/utilisateurs/<int:user_id>/invitation/retirer")
@requires("user.update")
def revoke_invitation(user_id):
    people.revoke_invitation(current_actor(), user_id)
    flash(_("Invitation retirée : son lien ne fonctionne plus."), "success")
    return redirect(url_for("web.person", user_id=user_id))


# Inside ---------------------------------------------------------------------------------------


def _sent_page(sent: people.Sent):
    """What became of an invitation: sent, or the failure, and the link when it must be
    passed on by hand. Never cached: it may show the link."""
    page = render_template("web/invitation_sent.html", sent=sent, languages=LANGUAGE_LABELS)
    return page, 200, {"Cache-Control": "no-store"}


def _person_page(actor, user, errors, values=None):
    if values is None:
        values = MultiDict({"role": user.role, "structure_id": user.structure_id or ""})
        values.setlist("deployment_ids", [str(d.id) for d in user.deployments])
    return render_template(
        "web/person.html",
        person=user,
        errors=errors,
        values=values,
        may_update=actor.may("user.update") and user.id != actor.user_id,
        may_open_structure=actor.may("structure.read"),
        statuses=STATUS_LABELS,
        role_labels=ROLES,
        languages=LANGUAGE_LABELS,
        now=utcnow(),
        **_role_choices(actor),
    )


def _role_choices(actor) -> dict:
    """The roles, structures and deployments the actor may give."""
    roles = people.assignable_roles(actor)
    if actor.may("partner.list"):
        structures = [s for s in list_structures(actor) if s.active]
    else:
        structures = [actor.user.structure] if actor.user and actor.user.structure else []
    return {
        "role_options": [(role, ROLES[role]) for role in roles],
        "structure_options": [(s.id, s.name) for s in structures],
        "deployment_options": [(d.id, d.name) for d in people.deployment_choices(actor)],
        "structure_roles": people.STRUCTURE_ROLES,
        "language_options": list(LANGUAGE_LABELS.items()),
    }


def _role_data(form, errors) -> dict:
    """The role and its structure or deployments, as posted."""
    data = {"role": form.get("role", ""), "structure_id": identifier(form, "structure_id", errors)}
    ids = [identifier({"id": raw}, "id", errors) for raw in form.getlist("deployment_ids")]
    data["deployment_ids"] = [i for i in ids if i is not None]
    return data
