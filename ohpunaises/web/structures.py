"""Partner structures in the browser: the coordinators' list and forms, and each structure's
page (its people, its API tokens, its reports and trainings) for whoever may read it."""

import datetime as dt

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth import current_actor, requires
from ..errors import DomainError, Invalid
from ..usecases import accounts, partners, people, pipeline, structures, territories
from ..usecases.activities import local_today
from ..usecases.structures import CONTACT_FIELDS, STAGES_AT_CREATION
from ..vocabulary import (
    ACTIVITY_KINDS,
    ACTIVITY_STATUSES,
    BEFORE_AGREEMENT,
    CADENCES,
    ROLES,
    STAGES,
    STRUCTURE_KINDS,
    TRAINING_KINDS,
)
from . import bp
from .forms import date, errors_of, identifier, number, text
from .pages import may_open

TOKEN_DAYS = (30, 90, 365, 730)


@bp.get("/admin")
@requires("user.read")
def administration():
    """The first administration page the account may open (who reads no account administers
    nothing)."""
    for endpoint in ("web.structures", "web.my_structure", "web.people_list"):
        if may_open(current_user.role, endpoint) and (
            endpoint != "web.my_structure" or current_user.structure_id
        ):
            return redirect(url_for(endpoint))
    abort(403)


@bp.get("/structures")
@requires("partner.list")
def structures_list():
    actor = current_actor()
    state = request.args.get("etat", "actives")
    filters = {
        "search": request.args.get("q", "")[:100],
        "deployment_id": identifier(request.args, "deploiement", {}),
        "kind": request.args.get("type") if request.args.get("type") in STRUCTURE_KINDS else None,
        "active": {"actives": True, "inactives": False}.get(state),
        "silent": request.args.get("silencieuses") == "1",
    }
    found = partners.list_partners(actor, filters)
    return render_template(
        "web/structures.html",
        partners=found,
        filters=filters,
        state=state,
        kinds=STRUCTURE_KINDS,
        deployments=people.deployment_choices(actor),
        may_create=actor.may("structure.create"),
    )


@bp.get("/ma-structure")
@requires("user.read")
def my_structure():
    if current_user.structure_id is None:
        abort(404)
    return redirect(url_for("web.structure", structure_id=current_user.structure_id))


@bp.route("/structures/nouvelle", methods=["GET", "POST"])
@requires("structure.create")
def new_structure():
    actor = current_actor()
    errors = {}
    if request.method == "POST":
        data = _structure_data(request.form, errors)
        if not errors:
            try:
                created = structures.create_structure(actor, data)
            except DomainError as error:
                errors = errors_of(error)
            else:
                flash(_("Structure créée : %(name)s.", name=created.name), "success")
                return redirect(url_for("web.structure", structure_id=created.id))
    return _form_page(request.form, errors, None)


@bp.route("/structures/<int:structure_id>/modifier", methods=["GET", "POST"])
@requires("structure.update")
def edit_structure(structure_id):
    actor = current_actor()
    structure = structures.get_structure(actor, structure_id, "structure.update")
    errors = {}
    if request.method == "POST":
        data = _structure_data(request.form, errors)
        if not errors:
            try:
                structures.update_structure(actor, structure_id, data)
            except DomainError as error:
                errors = errors_of(error)
            else:
                flash(_("Structure enregistrée."), "success")
                return redirect(url_for("web.structure", structure_id=structure_id))
        values = request.form
    else:
        values = _values_of(structure)
    return _form_page(values, errors, structure)


@bp.post("/structures/<int:structure_id>/desactiver")
@requires("structure.update")
def deactivate_structure(structure_id):
    _structure, stopped = structures.set_structure_active(current_actor(), structure_id, False)
    flash(
        _(
            "Structure désactivée ; %(n)d compte(s) désactivé(s) avec elle.",
            n=stopped,
        ),
        "success",
    )
    return redirect(url_for("web.structure", structure_id=structure_id))


@bp.post("/structures/<int:structure_id>/reactiver")
@requires("structure.update")
def reactivate_structure(structure_id):
    structures.set_structure_active(current_actor(), structure_id, True)
    flash(_("Structure réactivée ; réactivez ses comptes un par un."), "success")
    return redirect(url_for("web.structure", structure_id=structure_id))


@bp.post("/structures/<int:structure_id>/etape")
@requires("structure.update")
def record_stage(structure_id):
    """Note the stage a partner reached, from the follow-up section of its page."""
    errors = {}
    effective_on = date(request.form, "effective_on", errors)
    stage = request.form.get("stage", "")
    try:
        if errors:
            raise Invalid(errors={name: " ".join(found) for name, found in errors.items()})
        pipeline.record_stage(current_actor(), structure_id, stage, effective_on)
    except Invalid as error:
        flash(error.message(), "error")
    else:
        flash(_("Étape notée : %(stage)s.", stage=STAGES[stage]), "success")
    return redirect(url_for("web.structure", structure_id=structure_id, _anchor="etapes"))


@bp.get("/structures/<int:structure_id>")
@requires("structure.read")
def structure(structure_id):
    return _structure_page(partners.partner_page(current_actor(), structure_id))


@bp.post("/structures/<int:structure_id>/jetons")
@requires("token.create")
def create_structure_token(structure_id):
    actor = current_actor()
    errors, created = {}, None
    name = text(request.form, "name", 100, errors, required=True)
    owner_id = identifier(request.form, "owner_id", errors)
    days = number(request.form, "days", errors)
    if days not in TOKEN_DAYS:
        errors["days"] = [_("Choisissez une durée.")]
    page = partners.partner_page(actor, structure_id)
    if owner_id not in {person.id for person in page.people if person.active}:
        errors["owner_id"] = [_("Choisissez une personne active de la structure.")]
    if not errors:
        try:
            created = accounts.create_token(actor, name, days, owner_id)
        except DomainError as error:
            errors = errors_of(error)
    if created is None:
        return _structure_page(page, 422, token_errors=errors, values=request.form)
    flash(_("Jeton créé : copiez-le maintenant, il ne sera plus affiché."), "success")
    page = partners.partner_page(actor, structure_id)  # with the new token
    return _structure_page(page, 201, new_token=created)


@bp.post("/jetons/<int:token_id>/revoquer")
@requires("token.revoke")
def revoke_token(token_id):
    record = accounts.revoke_token(current_actor(), token_id)
    flash(_("Jeton révoqué : il n'ouvre plus rien."), "success")
    structure_id = record.user.structure_id
    if structure_id is None:
        return redirect(url_for("web.home"))
    return redirect(url_for("web.structure", structure_id=structure_id) + "#jetons")


# Inside ---------------------------------------------------------------------------------------


def _structure_page(page, status=200, token_errors=None, values=None, new_token=None):
    actor = current_actor()
    response = render_template(
        "web/structure.html",
        page=page,
        structure=page.partner.structure,
        kinds=STRUCTURE_KINDS,
        roles=ROLES,
        may_update=actor.may("structure.update"),
        may_invite=actor.may("user.create"),
        may_tokens=page.tokens_visible,
        owner_options=[
            (person.id, person.display_name or person.email)
            for person in page.people
            if person.active and not person.pending
        ],
        day_options=[(days, _("%(n)d jours", n=days)) for days in TOKEN_DAYS],
        training_kinds=TRAINING_KINDS,
        activity_kinds=ACTIVITY_KINDS,
        activity_statuses=ACTIVITY_STATUSES,
        may_record_activity=page.follows and actor.may("activity.record"),
        stages=STAGES,
        stage_choices=_stage_choices(page.partner.structure),
        cadences=CADENCES,
        today=local_today(),
        token_errors=token_errors or {},
        values=values or {},
        new_token=new_token,
    )
    return response, status, {"Cache-Control": "no-store"}


def _stage_choices(structure) -> list[str]:
    """The stages the team may note next: on the way in before the agreement, then a pause,
    an exit, or the agreement again (a resumption)."""
    if structure.onboarded_on is None:
        choices = [*BEFORE_AGREEMENT, "agreement"]
    else:
        choices = ["paused", "left", "agreement"]
    return [stage for stage in choices if stage != structure.stage]


def _form_page(values, errors, structure):
    communes = territories.list_territories(current_actor(), "commune")
    page = render_template(
        "web/structure_form.html",
        values=values,
        errors=errors,
        structure=structure,
        kinds=list(STRUCTURE_KINDS.items()),
        stage_options=[(stage, STAGES[stage]) for stage in STAGES_AT_CREATION],
        cadence_options=list(CADENCES.items()),
        today=dt.date.today().isoformat(),
        communes=sorted(((c.code, f"{c.name} ({c.code})") for c in communes), key=lambda c: c[1]),
    )
    return page, 422 if errors else 200


def _values_of(structure) -> dict:
    values = {
        "name": structure.name,
        "kind": structure.kind,
        "commune": structure.commune.code,
        "onboarded_on": structure.onboarded_on.isoformat() if structure.onboarded_on else "",
        "trained_on": structure.trained_on.isoformat() if structure.trained_on else "",
        "reporting_cadence": structure.reporting_cadence,
        "reminders_opted_out": "1" if structure.reminders_opted_out else "",
    }
    values.update({name: getattr(structure, name) or "" for name in CONTACT_FIELDS})
    return values


def _structure_data(form, errors) -> dict:
    data = {
        "name": text(form, "name", 200, errors, required=True),
        "kind": form.get("kind"),
        "commune": text(form, "commune", 20, errors, required=True),
        "onboarded_on": date(form, "onboarded_on", errors),
        "trained_on": date(form, "trained_on", errors),
        "reporting_cadence": form.get("reporting_cadence") or "monthly",
        "reminders_opted_out": form.get("reminders_opted_out") == "1",
        "contact_name": text(form, "contact_name", 120, errors),
        "contact_function": text(form, "contact_function", 120, errors),
        "contact_email": text(form, "contact_email", 254, errors),
        "contact_phone": text(form, "contact_phone", 40, errors),
    }
    if "stage" in form:
        data["stage"] = form.get("stage")
    if data["onboarded_on"] is None:
        del data["onboarded_on"]  # not yet (a prospect), or unchanged
    if data["kind"] not in STRUCTURE_KINDS:
        errors["kind"] = [_("Choisissez un type de structure.")]
    if data["reporting_cadence"] not in CADENCES:
        errors["reporting_cadence"] = [_("Choisissez un rythme de déclaration.")]
    email = data["contact_email"]
    if email and ("@" not in email or " " in email):
        errors["contact_email"] = [_("Adresse e-mail invalide.")]
    phone = data["contact_phone"]
    if phone and not all(char.isdigit() or char in " +.-()" for char in phone):
        errors["contact_phone"] = [_("Numéro de téléphone invalide.")]
    return data
