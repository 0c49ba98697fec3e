"""What the administration pages' forms share: a refusal's messages by field, and the values
read from a posted form."""

import datetime as dt

from flask import abort
from flask_babel import gettext as _

from ..errors import DomainError
from .report_form import errors_by_field

GENERAL = "_"  # the key of the messages that belong to no field


def errors_of(error: DomainError) -> dict[str, list[str]]:
    """{field: [messages]} of a refusal; what concerns no field under GENERAL."""
    by_field = errors_by_field(error.field_errors())
    return by_field or {GENERAL: [error.message()]}


def text(form, name: str, maximum: int, errors: dict, required: bool = False) -> str | None:
    """A trimmed text field: None when empty, an error when too long or required."""
    value = (form.get(name) or "").strip()
    if "\x00" in value:
        errors[name] = [_("Caractère nul interdit.")]
    elif len(value) > maximum:
        errors[name] = [_("%(n)d caractères au plus.", n=maximum)]
    elif required and not value:
        errors[name] = [_("Champ obligatoire.")]
    return value or None


def date(form, name: str, errors: dict, required: bool = False) -> dt.date | None:
    """A date field (YYYY-MM-DD, as date inputs send it), between 2000 and next year."""
    raw = (form.get(name) or "").strip()
    if not raw:
        if required:
            errors[name] = [_("Champ obligatoire.")]
        return None
    try:
        value = dt.date.fromisoformat(raw)
    except ValueError:
        errors[name] = [_("Date invalide (jj/mm/aaaa).")]
        return None
    if not dt.date(2000, 1, 1) <= value <= dt.date.today() + dt.timedelta(days=366):
        errors[name] = [_("Date hors des limites.")]
        return None
    return value


def number(form, name: str, errors: dict) -> int | None:
    """A whole number field, None when empty."""
    raw = (form.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 9:
        errors[name] = [_("Nombre entier attendu.")]
        return None
    return int(raw)


def deployment_asked(args) -> int | None:
    """The deployment a page is asked for (`?deploiement=<id>`), None for all; 400 otherwise."""
    errors = {}
    chosen = identifier(args, "deploiement", errors)
    if errors:
        abort(400, _("Déploiement invalide : choisissez-le dans la liste."))
    return chosen


def identifier(form, name: str, errors: dict) -> int | None:
    """A record's number chosen in a list, None when empty; anything else is an error."""
    raw = (form.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 9:
        errors[name] = [_("Choix invalide.")]
        return None
    return int(raw)
