"""The home page, and what every page shares: navigation and error pages."""

from flask import current_app, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..vocabulary import ROLES
from . import HOME_BY_ROLE, bp

NAVIGATION = (
    ("web.new_report", _l("Saisir"), ("agent", "partner_admin", "coordinator")),
    ("web.my_reports", _l("Signalements"), ("agent", "partner_admin", "coordinator")),
    # DESIGN §3: agents and partner admins read programme-wide indicators too, suppressed.
    (
        "web.indicators",
        _l("Indicateurs"),
        ("agent", "partner_admin", "coordinator", "institution", "evaluator"),
    ),
    (
        "map.territorial_map",
        _l("Carte"),
        ("agent", "partner_admin", "coordinator", "institution", "evaluator"),
    ),
    ("web.exports", _l("Exports"), ("partner_admin", "coordinator", "institution", "evaluator")),
    ("web.audit_log", _l("Journal"), ("coordinator",)),
)


def home_for(user) -> str:
    """The page a user lands on after signing in."""
    for endpoint in HOME_BY_ROLE.get(user.role, ()):
        if endpoint in current_app.view_functions:
            return url_for(endpoint)
    return url_for("web.home")


def navigation() -> list[tuple[str, str]]:
    """(url, label) of the pages the current user may open and that exist."""
    if not current_user.is_authenticated:
        return []
    return [
        (url_for(endpoint), label)
        for endpoint, label, roles in NAVIGATION
        if current_user.role in roles and endpoint in current_app.view_functions
    ]


@bp.app_context_processor
def inject_page_helpers():
    return {"navigation": navigation, "get_locale": get_locale}


@bp.get("/")
def home():
    if not current_user.is_authenticated:
        return redirect(url_for("web.login"))
    return render_template("web/home.html", role_label=ROLES[current_user.role])
