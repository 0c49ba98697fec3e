"""Errors as HTML pages, in French, for every path outside the API."""

from flask import render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .. import logs
from ..errors import DomainError
from ..httperrors import CSRF_DETAIL, DETAILS, TITLES, retry_headers, status_of


def error_page(error):
    """The error page for an HTTP exception or a domain error that reached no form."""
    if isinstance(error, DomainError):
        code = status_of(error)
        said = error.errors or error.detail
        page, code = _page(code, error.title, error.message() if said else DETAILS.get(code, ""))
        return page, code, retry_headers(error)
    code = error.code or 500
    if isinstance(error, CSRFError):
        detail = str(CSRF_DETAIL)
    else:
        detail = own_words(error) or DETAILS.get(code, error.description)
    return _page(code, TITLES.get(code, error.name), detail)


def _page(code: int, title, detail):
    reference = logs.request_id() if code >= 500 else None
    page = render_template(
        "web/error.html", code=code, error_title=title, error_detail=detail, reference=reference
    )
    return page, code


def own_words(error: HTTPException) -> str | None:
    """What a view said when it stopped with `abort(code, _("…"))`, in French like the rest.

    Only werkzeug's own exceptions raised with a description of their own: the libraries'
    (CSRF, rate limits) describe themselves in English, and get the usual detail instead.
    """
    explicit = "description" in vars(error)  # werkzeug keeps a given description on the error
    if type(error).__module__ != "werkzeug.exceptions" or not explicit:
        return None
    return error.description
