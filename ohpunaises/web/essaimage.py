"""The coordinators' essaimage workspace (`/essaimage`): the partners' funnel, the silent and
late partners to call (with a one-click "Noter un appel" and their CSV), and the map of the
communes where the programme has an active partner, only prospects, or nobody."""

import datetime as dt

from flask import flash, redirect, render_template, request, url_for
from flask_babel import format_decimal, format_percent, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..api.exports import csv_response
from ..auth import current_actor, requires
from ..cadence import period_of
from ..map.builders import RenderedMap, classes_map
from ..usecases import activities, essaimage
from ..usecases.completeness import completeness
from ..usecases.essaimage import Median
from ..vocabulary import ACTIVITY_KINDS, STAGES, STRUCTURE_KINDS
from . import bp
from .forms import deployment_asked

# Blue and orange tell the classes apart with every common colour blindness; grey is "none".
STATE_COLOURS = {"active": "#2166ac", "prospect": "#f4a582", "none": "#f2f2f2"}
STATE_LABELS = {
    "active": _l("Au moins un partenaire actif"),
    "prospect": _l("Seulement des prospects (avant la convention)"),
    "none": _l("Aucun partenaire actif"),
}


@bp.get("/essaimage", endpoint="essaimage")
@requires("partner.list")
def essaimage_page():
    """The funnel, the silent and late partners and the communes' map, for the actor's
    deployments or the one chosen (`?deploiement=<id>`)."""
    actor = current_actor()
    chosen = deployment_asked(request.args)
    found = essaimage.overview(actor, chosen)
    # The last four quarters ended: the current one, partial, would read as a drop.
    last = period_of("quarterly", found.today).previous()
    start, end = last.previous().previous().previous().start, last.end
    breakdowns = [
        (
            _("Par trimestre, sur les quatre derniers trimestres achevés"),
            _("Trimestre"),
            completeness(actor, "quarter", start, end, chosen),
        ),
        (
            _("Par type de structure, sur les mêmes trimestres"),
            _("Type"),
            completeness(actor, "kind", start, end, chosen),
        ),
    ]
    return render_template(
        "web/essaimage.html",
        overview=found,
        stages=STAGES,
        kinds=STRUCTURE_KINDS,
        activity_kinds=ACTIVITY_KINDS,
        state_labels=STATE_LABELS,
        commune_counts={
            state: sum(c.state == state for c in found.communes) for state in STATE_COLOURS
        },
        map=commune_map(found.communes),
        may_record=actor.may("activity.record"),
        days_text=days_text,
        share_text=share_text,
        completeness=breakdowns,
        percent_text=percent_text,
    )


@bp.get("/essaimage/silencieuses.csv")
@requires("partner.list")
def essaimage_csv():
    """The silent and late partners as CSV (UTF-8 with BOM, `;`), audited."""
    body = essaimage.silent_csv(current_actor(), deployment_asked(request.args))
    return csv_response(body, f"silencieuses-{dt.date.today().isoformat()}.csv")


@bp.post("/essaimage/structures/<int:structure_id>/appel")
@requires("activity.record")
def essaimage_call(structure_id):
    """Note a call made today with the structure, then open its follow-up to complete it."""
    activity = activities.record_activity(current_actor(), structure_id, {})
    flash(
        _(
            "Appel noté avec « %(name)s ». Ajoutez une note ou une prochaine étape si besoin.",
            name=activity.structure.name,
        ),
        "success",
    )
    return redirect(url_for("web.structure", structure_id=structure_id) + "#suivi")


# Inside ---------------------------------------------------------------------------------------


def percent_text(rate: float | None) -> str:
    """A rate in % as "85 %", or a dash when nothing was expected."""
    return "—" if rate is None else format_percent(rate / 100)


def days_text(median: Median) -> str:
    """A median of days in words, or a dash when nothing was measured."""
    if median.days is None:
        return "—"
    days = format_decimal(median.days, "#,##0.#")
    return ngettext("%(days)s jour", "%(days)s jours", int(median.days), days=days)


def share_text(part: int, whole: int) -> str:
    """ "2 sur 8 (25 %)", or a dash when the whole is empty."""
    if not whole:
        return "—"
    percent = format_percent(part / whole)
    return _("%(part)d sur %(whole)d (%(percent)s)", part=part, whole=whole, percent=percent)


def commune_map(communes) -> RenderedMap | None:
    """The communes' outlines coloured by what the programme has there, with a legend; None
    when the deployments hold no commune."""
    states = {commune.territory_id: commune.state for commune in communes}
    return classes_map(
        states, STATE_COLOURS, STATE_LABELS, _("Communes des déploiements"), _("Essaimage")
    )
