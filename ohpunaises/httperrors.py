"""HTTP errors in words, and the status each kind of domain error answers with.

Every error leaving the application goes through `app.answer_error`, which hands it to the
translator of the surface the request came to: problem+json under the API (`api.problems`),
an HTML page everywhere else (`web.errors`). Both read their titles and details here.
"""

from flask_babel import lazy_gettext as _l

from .errors import (
    Busy,
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    Stale,
    Throttled,
)

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

CSRF_DETAIL = _l(
    "Jeton de sécurité (CSRF) absent ou invalide : rechargez la page, puis recommencez."
)

# The HTTP status of each kind of domain error (the most specific kind wins).
STATUSES = {
    Invalid: 422,
    NotFound: 404,
    Forbidden: 403,
    Conflict: 409,
    Stale: 412,
    Throttled: 429,
    Busy: 503,
}


def retry_headers(error: DomainError) -> dict[str, str]:
    """Retry-After, for the errors that say when to try again."""
    seconds = getattr(error, "retry_after", None)
    return {"Retry-After": str(seconds)} if seconds else {}


def status_of(error: DomainError) -> int:
    """The HTTP status a domain error answers with."""
    for kind in type(error).__mro__:
        if kind in STATUSES:
            return STATUSES[kind]
    return 422
