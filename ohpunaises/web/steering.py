"""Steering in the browser (`/pilotage`): the targets with where each stands, the form that sets
one, the packs frozen for committees and funders, each pack's page with its approval, its
differences with today's figures and its files."""

import datetime as dt
import re

from flask import flash, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _

from .. import packs as outputs
from ..api.packs import ready_response
from ..auth import current_actor, requires
from ..errors import DomainError
from ..httperrors import status_of
from ..indicators import INDICATORS
from ..indicators.definitions import THEMES
from ..privacy import grid_periods
from ..targets import TARGETABLE_SHAPES, month_end
from ..usecases import deployments, packs, targets
from . import bp
from .forms import date, errors_of, identifier, text
from .periods import choice_of, label_of, period_of

MILESTONE_ROWS = 6  # milestone lines the form offers
NUMBER = re.compile(r"-?\d{1,13}(?:[.,]\d{1,6})?")
ONE_TARGET = "/cibles/<int(max=2147483647):target_id>"
ONE_PACK = "/packs/<int(max=2147483647):pack_id>"
NO_STORE = {"Cache-Control": "no-store"}
PACK_PERIODS_BACK = 3  # years of periods offered to freeze


@bp.get("/pilotage")
@requires("pack.read")
def steering():
    """Targets and packs, as the reader may read them; the forms for the coordination."""
    return _steering_page({}, 200)


def _steering_page(errors: dict, status: int, values=None):
    actor = current_actor()
    as_of = month_end(dt.date.today())
    found = targets.list_targets(actor, as_of=as_of) if actor.may("target.read") else []
    may_freeze = actor.may("pack.create")
    page = render_template(
        "web/steering.html",
        targets=found,
        as_of=as_of,
        packs=packs.list_packs(actor),
        may_manage_targets=actor.may("target.manage"),
        may_freeze=may_freeze,
        deployment_options=_deployment_options(actor) if may_freeze else [],
        period_options=_pack_periods() if may_freeze else [],
        errors=errors,
        values=values or {},
    )
    return page, status, NO_STORE


@bp.post("/packs")
@requires("pack.create")
def freeze_pack():
    """Freeze a pack for the deployment and the period chosen, then open it."""
    errors = {}
    form = request.form
    deployment_id = identifier(form, "deployment_id", errors)
    try:
        start, end = period_of(form.get("periode", ""))
    except DomainError as error:
        errors.update(errors_of(error))
        start = end = None
    if start is None and "periode" not in errors:
        errors["periode"] = [_("Choisissez un mois, un trimestre ou une année.")]
    if errors:
        return _steering_page(errors, 422, form)
    try:
        view = packs.freeze_pack(current_actor(), deployment_id, start, end)
    except DomainError as error:
        return _steering_page(_on_period(errors_of(error)), status_of(error), form)
    flash(
        _("Pack figé : %(title)s. Relisez-le, puis faites-le approuver.", title=view.title),
        "success",
    )
    return redirect(url_for("web.pack", pack_id=view.id))


def _on_period(errors: dict) -> dict:
    """The use case names the dates; the form has one period field."""
    moved = {key: value for key, value in errors.items() if key not in ("from", "to")}
    dates = errors.get("from", []) + errors.get("to", [])
    if dates:
        moved["periode"] = dates
    return moved


@bp.app_template_filter("number")
def number_filter(value: float) -> str:
    """A figure the French way, one decimal at most: "1 234,5"."""
    return format_decimal(value, "#,##0.#")


@bp.app_template_filter("percent")
def percent_filter(value: float) -> str:
    """A percentage already multiplied by 100: "92,6 %"."""
    return format_decimal(value, "#,##0.#") + "\u00a0%"


# Targets ----------------------------------------------------------------------------------------


@bp.route("/cibles/nouvelle", methods=["GET", "POST"])
@requires("target.manage")
def new_target():
    return _target_form(None)


@bp.route(ONE_TARGET, methods=["GET", "POST"])
@requires("target.manage")
def edit_target(target_id):
    return _target_form(targets.get_target(current_actor(), target_id))


@bp.post(f"{ONE_TARGET}/supprimer")
@requires("target.manage")
def delete_target(target_id):
    targets.delete_target(current_actor(), target_id)
    flash(_("Cible supprimée."), "success")
    return redirect(url_for("web.steering") + "#cibles")


def _target_form(view):
    """The form setting a target (`view` None) or changing one; refused, it comes back with
    the messages beside the fields."""
    actor = current_actor()
    if request.method == "GET":
        return _target_page(_values_of(view), {}, 200, view)
    errors = {}
    data = _target_data(request.form, errors)
    if errors:
        return _target_page(request.form, errors, 422, view)
    try:
        if view is None:
            targets.create_target(actor, data)
            flash(_("Cible enregistrée."), "success")
        else:
            targets.update_target(actor, view.id, data)
            flash(_("Cible modifiée."), "success")
    except DomainError as error:
        return _target_page(request.form, errors_of(error), status_of(error), view)
    return redirect(url_for("web.steering") + "#cibles")


def _target_page(values, errors, status, view):
    actor = current_actor()
    page = render_template(
        "web/target_form.html",
        target=view,
        values=values,
        milestones=_milestone_rows(values),
        errors=errors,
        indicator_groups=_indicator_groups(),
        deployment_options=_deployment_options(actor),
    )
    return page, status, NO_STORE


def _values_of(view) -> dict:
    if view is None:
        return {"on_track_percent": "100", "at_risk_percent": "80"}
    values = {
        "indicator": view.indicator,
        "deployment_id": "" if view.deployment_id is None else str(view.deployment_id),
        "territory": view.territory_code or "",
        "agreement": view.agreement,
        "baseline_value": _number_text(view.baseline.value),
        "baseline_on": view.baseline.day.isoformat(),
        "baseline_source": view.baseline_source,
        "on_track_percent": str(view.on_track_percent),
        "at_risk_percent": str(view.at_risk_percent),
    }
    for index, point in enumerate(view.milestones):
        values[f"milestone_date_{index}"] = point.day.isoformat()
        values[f"milestone_value_{index}"] = _number_text(point.value)
    return values


def _number_text(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def _milestone_rows(values) -> list[tuple[str, str]]:
    return [
        (values.get(f"milestone_date_{index}", ""), values.get(f"milestone_value_{index}", ""))
        for index in range(MILESTONE_ROWS)
    ]


def _target_data(form, errors: dict) -> dict:
    """The target as the use case takes it, from the form's fields."""
    indicator = form.get("indicator", "")
    if indicator not in INDICATORS:
        errors["indicator"] = [_("Choisissez un indicateur dans la liste.")]
    data = {
        "indicator": indicator,
        "deployment_id": identifier(form, "deployment_id", errors),
        "territory": text(form, "territory", 20, errors),
        "agreement": text(form, "agreement", 200, errors, required=True),
        "baseline_value": _decimal(form, "baseline_value", errors, required=True),
        "baseline_on": date(form, "baseline_on", errors, required=True),
        "baseline_source": text(form, "baseline_source", 300, errors, required=True),
        "on_track_percent": _percent(form, "on_track_percent", errors),
        "at_risk_percent": _percent(form, "at_risk_percent", errors),
        "milestones": [],
    }
    for index in range(MILESTONE_ROWS):
        day = date(form, f"milestone_date_{index}", errors)
        value = _decimal(form, f"milestone_value_{index}", errors)
        if day is not None and value is not None:
            data["milestones"].append({"due_on": day, "value": value})
        elif day is not None or value is not None:
            errors[f"milestone_date_{index}"] = [_("Donnez la date et la valeur de ce jalon.")]
    if not data["milestones"] and not any(key.startswith("milestone") for key in errors):
        errors["milestones"] = [_("Donnez au moins un jalon : une date et la valeur visée.")]
    return data


def _decimal(form, name: str, errors: dict, required: bool = False) -> float | None:
    """A number written the French way (12,5) or not (12.5), None when empty."""
    raw = (form.get(name) or "").strip().replace("\u00a0", "").replace(" ", "")
    if not raw:
        if required:
            errors[name] = [_("Champ obligatoire.")]
        return None
    if not NUMBER.fullmatch(raw):
        errors[name] = [_("Nombre attendu, par exemple 1200 ou 12,5.")]
        return None
    return float(raw.replace(",", "."))


def _percent(form, name: str, errors: dict) -> int:
    raw = (form.get(name) or "").strip()
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        errors[name] = [_("Pourcentage entier attendu, de 1 à 1000.")]
        return 0
    return int(raw)


def _indicator_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    """The indicators a target can follow, by theme."""
    groups = {}
    for indicator in INDICATORS.values():
        if indicator.shape in TARGETABLE_SHAPES:
            label = f"{indicator.label} ({indicator.unit})"
            groups.setdefault(indicator.theme, []).append((indicator.id, label))
    return [(str(THEMES[theme]), options) for theme, options in groups.items()]


def _deployment_options(actor) -> list[tuple[str, str]]:
    """The deployments offered; the whole programme only to a coordination attached to none."""
    options = [] if actor.deployment_ids is not None else [("", _("Tout le programme"))]
    for summary in deployments.list_deployments(actor):
        options.append((str(summary.id), summary.name))
    return options


def _pack_periods() -> list[tuple[str, str]]:
    """The months, quarters and years ended, most recent first."""
    today = dt.date.today()
    last = today.replace(day=1) - dt.timedelta(days=1)
    first = dt.date(last.year - PACK_PERIODS_BACK, 1, 1)
    return [
        (choice_of(start, end), label_of(start, end))
        for start, end in grid_periods(first, last)
        if end <= last
    ]


# Packs ------------------------------------------------------------------------------------------


@bp.get(ONE_PACK)
@requires("pack.read")
def pack(pack_id):
    """A pack as frozen, its hash checked; for the coordination, its approval and what reads
    otherwise today."""
    actor = current_actor()
    view = packs.get_pack(actor, pack_id)
    may_approve = actor.may("pack.approve") and view.status == "draft"
    page = render_template(
        "web/pack.html",
        pack=view,
        content=view.content,
        may_approve=may_approve,
        differences=packs.differences(actor, pack_id) if actor.may("pack.create") else None,
        period_words=outputs.period_words,
        moment_words=outputs.moment_words,
        day_words=outputs.day_words,
    )
    return page, 200, NO_STORE


@bp.post(f"{ONE_PACK}/approuver")
@requires("pack.approve")
def approve_pack(pack_id):
    try:
        view = packs.approve_pack(current_actor(), pack_id)
    except DomainError as error:
        flash(error.message(), "error")
    else:
        flash(
            _("Pack approuvé : les institutions et évaluateurs du déploiement le voient."),
            "success",
        )
        return redirect(url_for("web.pack", pack_id=view.id))
    return redirect(url_for("web.pack", pack_id=pack_id))


@bp.post(f"{ONE_PACK}/retirer")
@requires("pack.approve")
def withdraw_pack(pack_id):
    try:
        packs.withdraw_pack(current_actor(), pack_id)
    except DomainError as error:
        flash(error.message(), "error")
    else:
        flash(_("Pack retiré."), "success")
    return redirect(url_for("web.pack", pack_id=pack_id))


@bp.get(f"{ONE_PACK}/pack.<any(pdf, xlsx, csv, json):fmt>")
@requires("pack.read")
def pack_file(pack_id, fmt):
    """The file, or a page saying how far its preparation has got (it reloads itself)."""
    actor = current_actor()
    state = packs.pack_file(actor, pack_id, fmt)
    if state.status == "ready":
        return ready_response(state)
    page = render_template("web/pack_file.html", pack=state.pack, state=state, fmt=fmt)
    return page, 202, {**NO_STORE, "Refresh": "2"}
