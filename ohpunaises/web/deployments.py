"""Deployments in the browser: the coordinators' list, the form that opens or edits one over
the territories loaded, and each deployment's page with the people attached to it.

The territory picker works without JavaScript: the filters (level, parent commune, search)
are sent with the form, which comes back with the territories chosen so far still checked.
"""

import datetime as dt
from dataclasses import dataclass

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..auth import current_actor, requires
from ..errors import DomainError
from ..httperrors import status_of
from ..usecases import deployments
from ..vocabulary import ROLES, TERRITORY_LEVELS
from . import bp
from .forms import date, errors_of, text

SHOWN_AT_MOST = 300  # territories listed at once; the filters narrow the rest
CHOSEN_AT_MOST = 5000  # codes read from one form
FILTER_ACTIONS = ("filter", "add_shown", "remove_shown")
ONE = "/deploiements/<int(max=2147483647):deployment_id>"


@dataclass
class Picker:
    """The territory picker as the page shows it: its filters, the territories chosen, and
    those the filters find."""

    level: str
    parent: str
    search: str
    chosen: list
    found: list

    @property
    def shown(self) -> list:
        """The territories found that are not chosen yet, the first ones only."""
        codes = {choice.code for choice in self.chosen}
        return [choice for choice in self.found if choice.code not in codes][:SHOWN_AT_MOST]


@bp.get("/deploiements")
@requires("deployment.read")
def deployments_list():
    actor = current_actor()
    return render_template(
        "web/deployments.html",
        deployments=deployments.list_deployments(actor),
        may_manage=actor.may("deployment.manage"),
    )


@bp.route("/deploiements/nouveau", methods=["GET", "POST"])
@requires("deployment.manage")
def new_deployment():
    return _form(None)


@bp.get(ONE)
@requires("deployment.read")
def deployment(deployment_id):
    return _deployment_page(deployment_id)


@bp.route(f"{ONE}/modifier", methods=["GET", "POST"])
@requires("deployment.manage")
def edit_deployment(deployment_id):
    record = deployments.get_deployment(current_actor(), deployment_id, "deployment.manage")
    if request.method == "GET" and "action" not in request.args:
        values = {"name": record.name, "started_on": record.started_on.isoformat()}
        codes = [t.code for t in deployments.deployment_territories_of(record)]
        return _form_page(values, codes, {}, 200, record)
    return _form(record)


@bp.post(f"{ONE}/personnes")
@requires("deployment.manage")
def attach_people(deployment_id):
    raw = request.form.getlist("user_ids")[:100]
    user_ids = [int(value) for value in raw if value.isdigit() and len(value) < 10]
    if len(user_ids) != len(raw):
        errors = {"user_ids": [_("Choix invalide.")]}
        return _deployment_page(deployment_id, 422, errors)
    try:
        attached = deployments.attach_people(current_actor(), deployment_id, user_ids)
    except DomainError as error:
        return _deployment_page(deployment_id, status_of(error), _people_errors(error))
    flash(
        _("Rattaché(s) : %(emails)s.", emails=", ".join(user.email for user in attached))
        if attached
        else _("Ces comptes étaient déjà rattachés."),
        "success",
    )
    return redirect(url_for("web.deployment", deployment_id=deployment_id) + "#personnes")


@bp.post(f"{ONE}/personnes/<int(max=2147483647):user_id>/detacher")
@requires("deployment.manage")
def detach_person(deployment_id, user_id):
    try:
        user = deployments.detach_person(current_actor(), deployment_id, user_id)
    except DomainError as error:
        return _deployment_page(deployment_id, status_of(error), _people_errors(error))
    flash(_("Détaché : %(email)s.", email=user.email), "success")
    return redirect(url_for("web.deployment", deployment_id=deployment_id) + "#personnes")


# Inside ---------------------------------------------------------------------------------------


def _form(record):
    """The form, opening a deployment (`record` None) or editing one: filtered again when a
    filter button sent it, saved otherwise; refused, it comes back with the messages."""
    source = request.form if request.method == "POST" else request.args
    codes = _codes(source)
    if request.method == "GET" or source.get("action") in FILTER_ACTIONS:
        return _form_page(source, codes, {}, 200, record)
    errors = {}
    data = _deployment_data(source, errors)
    if errors:
        return _form_page(source, codes, errors, 422, record)
    actor = current_actor()
    try:
        if record is None:
            record = deployments.create_deployment(actor, data["name"], codes, data["started_on"])
            flash(_("Déploiement ouvert : %(name)s.", name=record.name), "success")
        else:
            deployments.update_deployment(actor, record.id, {**data, "territories": codes})
            flash(_("Déploiement enregistré."), "success")
    except DomainError as error:
        return _form_page(source, codes, errors_of(error), status_of(error), record)
    return redirect(url_for("web.deployment", deployment_id=record.id))


def _deployment_page(deployment_id, status=200, people_errors=None):
    actor = current_actor()
    record = deployments.get_deployment(actor, deployment_id)
    may_manage = actor.may("deployment.manage")
    page = render_template(
        "web/deployment.html",
        deployment=record,
        territories=deployments.deployment_territories_of(record),
        structures=deployments.deployment_structures(record),
        people=deployments.attached_people(record),
        attachable=deployments.attachable_people(actor, record) if may_manage else [],
        may_manage=may_manage,
        levels=TERRITORY_LEVELS,
        roles=ROLES,
        people_errors=people_errors or {},
    )
    return page, status, {"Cache-Control": "no-store"}


def _people_errors(error: DomainError) -> dict:
    """A refusal about people, under the attach form's field."""
    return {"user_ids": [error.message()]}


def _form_page(source, codes, errors, status, record):
    picker = _picker(source, codes, record)
    page = render_template(
        "web/deployment_form.html",
        values=source,
        errors=errors,
        deployment=record,
        picker=picker,
        levels=[(level, TERRITORY_LEVELS[level]) for level in deployments.loaded_levels()],
        level_names=TERRITORY_LEVELS,
        parents=[(code, f"{name} ({code})") for code, name in deployments.parent_choices()],
        shown_at_most=SHOWN_AT_MOST,
        today=dt.date.today().isoformat(),
    )
    return page, status, {"Cache-Control": "no-store"}


def _picker(source, codes, record) -> Picker:
    """The picker after the action asked: the territories found by the filters are checked
    (add_shown) or unchecked (remove_shown) all at once."""
    level = source.get("niveau", "") if source.get("niveau") in TERRITORY_LEVELS else ""
    parent = (source.get("parent") or "").strip()[:20]
    search = (source.get("q") or "").strip()[:100]
    editing = record.id if record is not None else None
    found = deployments.choosable_territories(level, parent, search, editing=editing)
    action = source.get("action")
    if action == "add_shown":
        codes = list(dict.fromkeys([*codes, *(choice.code for choice in found)]))
    elif action == "remove_shown":
        removed = {choice.code for choice in found}
        codes = [code for code in codes if code not in removed]
    wanted = set(codes)
    every = found if not (level or parent or search) else None
    if every is None:
        every = deployments.choosable_territories(editing=editing)
    by_code = {choice.code: choice for choice in every if choice.code in wanted}
    chosen = [by_code[code] for code in codes if code in by_code]
    return Picker(level, parent, search, chosen, found)


def _codes(source) -> list[str]:
    """The territory codes checked in the form, once each, in their order."""
    codes = (code.strip() for code in source.getlist("territories")[:CHOSEN_AT_MOST])
    return list(dict.fromkeys(code[:20] for code in codes if code))


def _deployment_data(form, errors) -> dict:
    return {
        "name": text(form, "name", deployments.NAME_LENGTH, errors, required=True),
        "started_on": date(form, "started_on", errors, required=True),
    }
