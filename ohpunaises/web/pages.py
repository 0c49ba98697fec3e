"""The home page, and what every page shares: the navigation."""

from flask import current_app, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..permissions import allows
from ..vocabulary import ROLES
from . import HOME_BY_ROLE, bp

# The pages of the menu; each is shown to the roles its view's permission is granted to.
NAVIGATION = (
    ("web.new_report", _l("Saisir")),
    ("web.my_reports", _l("Signalements")),
    ("web.trainings", _l("Formations")),
    ("web.indicators", _l("Indicateurs")),
    ("map.territorial_map", _l("Carte")),
    ("web.exports", _l("Exports")),
    ("web.structures_list", _l("Structures")),
    ("web.essaimage", _l("Essaimage")),
    ("web.steering", _l("Pilotage")),
    ("web.evaluation", _l("Évaluation")),
    ("web.todo", _l("À faire")),
    ("web.my_structure", _l("Ma structure")),
    ("web.people_list", _l("Personnes")),
    ("web.deployments_list", _l("Déploiements")),
    ("web.audit_log", _l("Journal")),
)
# Menu entries shown only to some of the accounts their permission is granted to: a partner
# admin's people are on their structure's page.
MENU_CONDITIONS = {
    "web.my_structure": lambda user: user.structure_id is not None,
    "web.people_list": lambda user: user.structure_id is None,
}


def may_open(role: str, endpoint: str) -> bool:
    """Whether a page exists and its view's permission is granted to `role`."""
    view = current_app.view_functions.get(endpoint)
    return view is not None and allows(role, view.permission)


def home_for(user) -> str:
    """The page a user lands on after signing in."""
    for endpoint in HOME_BY_ROLE.get(user.role, ()):
        if endpoint == "web.home" or may_open(user.role, endpoint):
            return url_for(endpoint)
    return url_for("web.home")


def navigation() -> list[tuple[str, str]]:
    """(url, label) of the pages the current user may open."""
    if not current_user.is_authenticated:
        return []
    return [
        (url_for(endpoint), label)
        for endpoint, label in NAVIGATION
        if may_open(current_user.role, endpoint)
        and MENU_CONDITIONS.get(endpoint, lambda _user: True)(current_user)
    ]


@bp.app_context_processor
def inject_page_helpers():
    return {"navigation": navigation, "get_locale": get_locale}


@bp.get("/")
def home():
    if not current_user.is_authenticated:
        return redirect(url_for("web.login"))
    return render_template("web/home.html", role_label=ROLES[current_user.role])
