"""HTTP errors in words: the titles and details every surface shows, and the HTML page."""

from flask import render_template
from flask_babel import lazy_gettext as _l

TITLES = {
    400: _l("Requête invalide"),
    401: _l("Authentification requise"),
    403: _l("Accès refusé"),
    404: _l("Ressource introuvable"),
    405: _l("Méthode non autorisée"),
    406: _l("Format de réponse non disponible"),
    409: _l("Conflit"),
    412: _l("Version périmée"),
    413: _l("Requête trop volumineuse"),
    415: _l("Type de contenu non pris en charge"),
    422: _l("Données invalides"),
    428: _l("En-tête If-Match obligatoire"),
    429: _l("Trop de requêtes"),
    500: _l("Erreur interne"),
    503: _l("Service indisponible"),
}

DETAILS = {
    400: _l("La requête est mal formée."),
    401: _l("Fournissez un jeton (Authorization: Bearer …) ou connectez-vous."),
    403: _l("Votre rôle ne donne pas accès à cette opération."),
    404: _l("Aucune ressource à cette adresse."),
    405: _l("Cette méthode n'est pas acceptée à cette adresse."),
    413: _l("Le corps de la requête dépasse la taille autorisée."),
    415: _l("Envoyez un corps JSON (Content-Type: application/json)."),
    422: _l("Certains champs sont invalides."),
    429: _l("Trop de requêtes : réessayez dans un instant."),
    500: _l("Une erreur inattendue est survenue ; elle a été consignée."),
}


def render_error_page(error):
    """An HTML error page, in French, for every path outside the API."""
    code = error.code or 500
    title = TITLES.get(code, error.name)
    detail = own_words(error) or DETAILS.get(code, error.description)
    page = render_template("web/error.html", error=error, error_title=title, error_detail=detail)
    return page, code


def own_words(error) -> str | None:
    """What a view said when it stopped with `abort(code, _("…"))`, in French like the rest.

    Only werkzeug's own exceptions raised with a description of their own: the libraries'
    (CSRF, rate limits) describe themselves in English, and get the usual detail instead.
    """
    explicit = "description" in vars(error)  # werkzeug keeps a given description on the error
    if type(error).__module__ != "werkzeug.exceptions" or not explicit:
        return None
    return error.description
