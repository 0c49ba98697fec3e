"""The errors the use cases raise: what went wrong in the user's words, with no HTTP status.

Each surface translates them once: the API into problem+json (`api.problems`), the pages into
the page again with the message beside the field (`web.errors`), the command line into one
French line and an exit code (`cli`). The status each kind gets lives with those translators.
"""

from flask_babel import lazy_gettext as _l


class DomainError(Exception):
    """A refusal the user can act on: a title, a detail, and messages by field."""

    title = _l("Données invalides")

    def __init__(self, detail=None, errors: dict[str, str] | None = None, title=None):
        super().__init__(str(detail or title or self.title))
        self.detail, self.errors = detail, dict(errors or {})
        if title is not None:
            self.title = title

    def field_errors(self) -> list[dict]:
        """[{field, message}] as the API lists them."""
        return [{"field": field, "message": str(message)} for field, message in self.errors.items()]

    def message(self) -> str:
        """Everything the error says, in one line (for a command line or a card)."""
        said = [str(message) for message in self.errors.values()]
        return " ".join(said) or str(self.detail or self.title)


class Invalid(DomainError):
    """Data that cannot be accepted as sent."""


class OutOfPerimeter(Invalid):
    """A place outside every territory loaded."""

    title = _l("Hors périmètre")


class NotFound(DomainError):
    """Nothing the actor may reach under this identifier (whether it exists or not)."""

    title = _l("Ressource introuvable")


class Forbidden(DomainError):
    """The actor's role does not grant this action."""

    title = _l("Accès refusé")


class Conflict(DomainError):
    """The request contradicts what is stored (an identifier already used for other content)."""

    title = _l("Conflit")


class Stale(DomainError):
    """The record changed since the actor read it."""

    title = _l("Version périmée")


class TryLater(DomainError):
    """A refusal for now: the actor may try again in `retry_after` seconds."""

    def __init__(self, detail=None, retry_after: int = 5):
        super().__init__(detail)
        self.retry_after = retry_after


class Busy(TryLater):
    """The service cannot take this request now."""

    title = _l("Service indisponible")


class Throttled(TryLater):
    """Too many attempts."""

    title = _l("Trop de requêtes")


def invalid(field: str, message) -> Invalid:
    """An `Invalid` error on one field."""
    return Invalid(errors={field: message})
