"""The phone form (/saisie), the structure's reports and their follow-up, the service worker."""

import hashlib
import uuid
from pathlib import Path

import marshmallow as ma
from flask import (
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from ..auth import current_actor, requires
from ..cadence import period_words
from ..errors import Conflict, DomainError, Invalid, Stale
from ..models import Report
from ..permissions import Actor, Scope
from ..schemas import ReportCreateSchema, ReportUpdateSchema
from ..usecases import pipeline, reports
from ..vocabulary import (
    ACTIONS,
    BUILDING_TYPES,
    CONFIRMATIONS,
    COST_PAYERS,
    HOUSING,
    INFESTATION_LEVELS,
    STATUSES,
    VULNERABILITIES,
)
from . import bp
from .report_form import (
    DETAIL_FIELDS,
    FORM_FIELDS,
    aria_helper,
    commune_label,
    communes,
    default_values,
    errors_by_field,
    general_errors,
    payload_from_form,
    schema_errors,
    today,
    writable_structures,
)

RECENT_REPORTS = 50
# What the service worker keeps for offline use, besides the form page itself.
OFFLINE_ASSETS = (
    "css/app.css",
    "js/report-form.js",
    "js/outbox.js",
    "vendor/leaflet/leaflet.css",
    "vendor/leaflet/leaflet.js",
    "vendor/leaflet/images/marker-icon.png",
    "vendor/leaflet/images/marker-icon-2x.png",
    "vendor/leaflet/images/marker-shadow.png",
)
NO_CACHE = {"Cache-Control": "no-cache"}


# The form -------------------------------------------------------------------------------------


@bp.route("/saisie", methods=["GET", "POST"])
@requires("report.create")
def new_report():
    actor = current_actor()
    places = communes()
    if request.method == "GET":
        values = default_values(actor.user, uuid.uuid4())
        return render_form(actor, places, values, {}, saved_report())
    outcome = save_posted_report(actor, places)
    if isinstance(outcome, Report):
        return redirect(url_for("web.new_report", enregistre=outcome.id))
    errors, values = outcome, request.form.copy()
    if "id" in errors:  # this form was already sent with other content: start a new report
        values["id"] = str(uuid.uuid4())
    return render_form(actor, places, values, errors), 422


def save_posted_report(actor: Actor, places) -> Report | dict:
    """The report stored from a plain POST (no JavaScript), or the errors by field."""
    data, errors = payload_from_form(request.form, places)
    if errors:
        return errors
    try:
        report, _created = reports.create_report(actor, ReportCreateSchema().load(data), "form")
    except ma.ValidationError as error:
        return schema_errors(error.messages)
    except DomainError as error:
        return errors_by_field(error.field_errors())
    return report


def saved_report() -> Report | None:
    """The report just saved by a plain POST, to confirm it (and flag a known dwelling)."""
    try:
        report_id = uuid.UUID(request.args.get("enregistre", ""))
    except ValueError:
        return None
    return reports.find_report(current_actor(), report_id)


def render_form(actor: Actor, places, values, errors, saved=None):
    details_open = any(name in errors or values.get(name) for name in DETAIL_FIELDS)
    # Who may report for structures other than their own picks the structure.
    for_others = actor.check("report.create") is not Scope.STRUCTURE
    shown = FORM_FIELDS if for_others else FORM_FIELDS[1:]
    return render_template(
        "web/new_report.html",
        values=values,
        errors=errors,
        general_errors=general_errors(errors, shown),
        aria=aria_helper(errors, shown),
        details_open=details_open or values.get("status", "ongoing") != "ongoing",
        structures=writable_structures(actor) if for_others else None,
        communes=[(code, commune_label(code, name)) for code, name in places],
        saved=saved,
        saved_dwelling_reports=reports.dwelling_reports(saved) if saved else 0,
        vocabularies=VOCABULARIES,
        messages=client_messages(),
        nothing_to_report=None if for_others else _declarable(actor),
    )


def _declarable(actor: Actor):
    """The period the agent's structure may declare "rien à signaler" for, if any."""
    if not actor.may("reporting.declare") or actor.structure_id is None:
        return None
    return pipeline.declarable_period(
        pipeline.record(actor, actor.structure_id, "reporting.declare")
    )


@bp.post("/saisie/rien-a-signaler")
@requires("reporting.declare")
def declare_nothing_to_report():
    """The form's "rien à signaler" button: the period offered is declared, not a report."""
    actor = current_actor()
    try:
        made = pipeline.declare_nothing_to_report(
            actor, actor.structure_id, request.form.get("period") or None
        )
    except DomainError as error:
        flash(error.message(), "error")
    else:
        flash(
            _(
                "C'est noté : rien à signaler pour %(period)s. La période est renseignée.",
                period=period_words(made.period, in_sentence=True),
            ),
            "success",
        )
    return redirect(url_for("web.new_report"))


VOCABULARIES = {
    "housing": HOUSING,
    "building_type": BUILDING_TYPES,
    "vulnerabilities": VULNERABILITIES,
    "infestation_level": INFESTATION_LEVELS,
    "confirmation": CONFIRMATIONS,
    "actions": ACTIONS,
    "cost_payer": COST_PAYERS,
    "status": STATUSES,
}


def client_messages() -> dict[str, str]:
    """What the page's script says, translated here like the rest of the page."""
    return {
        "required": _("Champ obligatoire."),
        "place_required": _("Indiquez un point ou une commune."),
        "unknown_commune": _("Commune inconnue : choisissez-la dans la liste."),
        "summary": _("Le signalement n'est pas enregistré : corrigez les champs signalés."),
        "sending": _("Envoi en cours…"),
        "saved": _("Signalement enregistré."),
        "kept_offline": _(
            "Pas de réseau : le signalement est gardé sur ce téléphone "
            "et partira tout seul dès que possible."
        ),
        "kept_signin": _(
            "Le signalement est gardé sur ce téléphone : reconnectez-vous pour l'envoyer."
        ),
        "all_sent": _("Aucun signalement en attente d'envoi."),
        "waiting_one": _("1 signalement en attente d'envoi."),
        "waiting_many": _("%(count)s signalements en attente d'envoi.", count="{count}"),
        "attention_one": _("1 signalement à corriger :"),
        "attention_many": _("%(count)s signalements à corriger :", count="{count}"),
        "other_account": _(
            "%(count)s signalement(s) d'un autre compte attendent sa connexion.",
            count="{count}",
        ),
        "last_sent": _("Dernier envoi : %(when)s.", when="{when}"),
        "signin": _("Votre session a expiré : reconnectez-vous pour envoyer les signalements."),
        "fix": _("Corriger"),
        "discard": _("Abandonner"),
        "discard_confirm": _("Abandonner définitivement ce signalement ?"),
        "report_of": _("Intervention du %(date)s", date="{date}"),
        "fixing": _("Correction d'un signalement gardé sur ce téléphone."),
        "gps_locating": _("Recherche de la position…"),
        "gps_denied": _(
            "Position refusée : autorisez-la dans le navigateur, ou choisissez une commune."
        ),
        "gps_failed": _("Position introuvable : choisissez sur la carte ou une commune."),
        "gps_unsupported": _("Ce navigateur ne donne pas la position : choisissez une commune."),
        "point": _("Point choisi : %(lat)s, %(lon)s", lat="{lat}", lon="{lon}"),
        "accuracy": _("(à %(meters)s m près)", meters="{meters}"),
        "map_failed": _(
            "La carte ne peut pas s'afficher : utilisez le GPS ou la liste des communes."
        ),
        "tiles_failed": _(
            "Le fond de carte ne se charge pas : touchez tout de même l'endroit, "
            "ou utilisez le GPS ou la liste des communes."
        ),
        "dwelling": _(
            "Votre structure a déjà signalé ce logement "
            "(%(count)s signalements, celui-ci compris). "
            "Si un dossier est en cours, suivez-le ; s'il était résolu, marquez-le « Réinfesté ».",
            count="{count}",
        ),
        "dwelling_link": _("Voir les signalements de ce logement"),
    }


@bp.get("/saisie/jeton")
def form_token():
    """A fresh CSRF token for the outbox, whose cached page may hold a stale one."""
    if not current_user.is_authenticated:
        return jsonify(error="unauthenticated"), 401, {"Cache-Control": "no-store"}
    return jsonify(csrf_token=generate_csrf()), 200, {"Cache-Control": "no-store"}


# The structure's reports ------------------------------------------------------------------------


@bp.get("/mes-signalements")
@requires("report.read")
def my_reports():
    return render_reports(current_actor(), updated=request.args.get("fait"))


def render_reports(actor: Actor, updated=None, problem=None):
    """The most recent reports the actor may read; `updated` and `problem` speak in their card."""
    dwelling_of = dwelling_filter()
    found = reports.recent_reports(actor, RECENT_REPORTS, dwelling_of)
    return render_template(
        "web/my_reports.html",
        reports=found,
        dwelling_counts=reports.dwelling_counts(found),
        dwelling_of=dwelling_of,
        vocabularies=VOCABULARIES,
        show_structure=actor.check("report.read") is not Scope.STRUCTURE,
        today=today().isoformat(),
        limit=RECENT_REPORTS,
        updated=updated,
        problem=problem,
    )


def dwelling_filter() -> Report | None:
    """The report whose dwelling ?logement= asks for, if it has a dwelling key."""
    try:
        report_id = uuid.UUID(request.args.get("logement", ""))
    except ValueError:
        return None
    report = reports.find_report(current_actor(), report_id)
    return report if report is not None and report.dwelling_key else None


@bp.post("/mes-signalements/<uuid:report_id>/suivi")
@requires("report.update")
def follow_up(report_id):
    """Mark a report resolved (with its date), re-infested, lost or ongoing again."""
    actor = current_actor()
    version = request.form.get("version", "")  # the form's If-Match
    try:
        data = ReportUpdateSchema().load(follow_up_data(request.form))
        readable = version.isascii() and version.isdigit() and len(version) < 10
        expected = int(version) if readable else 0  # 0: no report has it (stale)
        reports.update_report(actor, report_id, data, expected)
    except ma.ValidationError as error:
        messages = [m for ms in schema_errors(error.messages).values() for m in ms]
        return render_reports(actor, problem=(str(report_id), " ".join(messages))), 422
    except Stale as error:
        return render_reports(actor, problem=(str(report_id), error.message())), 409
    except (Invalid, Conflict) as error:
        return render_reports(actor, problem=(str(report_id), error.message())), 422
    logement = request.args.get("logement")
    return redirect(
        url_for("web.my_reports", logement=logement, fait=report_id) + f"#r-{report_id}"
    )


def follow_up_data(form) -> dict:
    status = form.get("status", "")
    data = {"status": status}
    if status == "resolved":
        data["resolved_on"] = form.get("resolved_on") or today().isoformat()
    return data


# The service worker ---------------------------------------------------------------------------


@bp.get("/sw.js")
def service_worker():
    """Served from the root so that its scope covers the whole site."""
    assets = [url_for("static", filename=name) for name in OFFLINE_ASSETS]
    body = render_template(
        "web/sw.js",
        version=assets_version(),
        page=url_for("web.new_report"),
        assets=assets,
    )
    response = make_response(body)
    response.mimetype = "text/javascript"
    response.headers.update({**NO_CACHE, "Service-Worker-Allowed": "/"})
    return response


def assets_version() -> str:
    """A digest of the offline assets: a new release gets a new cache."""
    cached = current_app.extensions.get("ohpunaises_assets_version")
    if cached:
        return cached
    digest = hashlib.sha256()
    for name in OFFLINE_ASSETS:
        digest.update((Path(current_app.static_folder) / name).read_bytes())
    version = digest.hexdigest()[:12]
    current_app.extensions["ohpunaises_assets_version"] = version
    return version
