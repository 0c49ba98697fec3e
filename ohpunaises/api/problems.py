"""Errors as application/problem+json (RFC 9457), in French unless the client asks for English."""

import marshmallow as ma
from flask import jsonify, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .. import logs
from ..errors import DomainError
from ..httperrors import CSRF_DETAIL, DETAILS, TITLES, retry_headers, status_of
from ..schemas import FieldErrorSchema

PROBLEM_TYPE = "application/problem+json"


class ProblemSchema(ma.Schema):
    """An error, as application/problem+json."""

    type = ma.fields.String()
    title = ma.fields.String()
    status = ma.fields.Integer()
    detail = ma.fields.String()
    instance = ma.fields.String()
    errors = ma.fields.List(ma.fields.Nested(FieldErrorSchema))
    request_id = ma.fields.String(metadata={"description": "Référence à citer (erreurs 5xx)"})


def flatten(messages, prefix="") -> list[dict]:
    """Turn nested marshmallow messages into a flat list of {field, message}, translated."""
    if isinstance(messages, dict):
        return [
            error
            for key, value in messages.items()
            for error in flatten(value, f"{prefix}.{key}" if prefix else str(key))
        ]
    if isinstance(messages, list | tuple):
        return [error for item in messages for error in flatten(item, prefix)]
    return [{"field": prefix, "message": _(str(messages))}]


def problem(status: int, detail=None, errors=None, headers=None, title=None):
    """A problem+json response."""
    body = {
        "type": "about:blank",
        "title": str(title or TITLES.get(status, _("Erreur"))),
        "status": status,
        "detail": str(detail or DETAILS.get(status, "")),
        "instance": request.path,
    }
    if errors:
        body["errors"] = errors
    if status >= 500:
        body["request_id"] = logs.request_id()
    response = jsonify(body)
    response.status_code = status
    response.content_type = PROBLEM_TYPE
    response.headers.update(headers or {})
    return response


def answer(error):
    """The problem response for an HTTP exception or a domain error."""
    if isinstance(error, DomainError):
        return from_domain_error(error)
    if isinstance(error, CSRFError):
        return problem(400, CSRF_DETAIL)
    return from_http_exception(error)


def from_domain_error(error: DomainError):
    status, headers = status_of(error), retry_headers(error)
    return problem(status, error.detail, error.field_errors() or None, headers, error.title)


def from_http_exception(error: HTTPException):
    """The problem response for a werkzeug HTTP exception, webargs' included."""
    data = getattr(error, "data", None) or {}
    errors = data.get("errors") or data.get("messages")
    if isinstance(errors, dict):
        # webargs nests messages under their location (json, query, headers)
        errors = flatten({k: v for loc in errors.values() for k, v in _as_dict(loc).items()})
    detail = data.get("message") or _default_detail(error)
    headers = dict(data.get("headers") or {})
    if error.code == 405 and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
    return problem(error.code or 500, detail, errors or None, headers)


def _as_dict(value):
    return value if isinstance(value, dict) else {"_schema": value}


def _default_detail(error):
    if error.code in DETAILS:
        return DETAILS[error.code]
    return error.description
