"""Logs: configured once, one line per request, every error with its request id.

In production each line is a JSON object on stderr: time, level, event, the request id,
and the event's fields. A request's line gives its method, path (never the query string,
which may carry personal data, nor a link's secret), status, duration in ms, and the
account's id and role once known. Events such as a refused sign-in or an export add their
own fields, never a password, a token, an e-mail address or a note. Requests slower than
`SLOW_SECONDS` are logged as warnings. Every response carries `X-Request-ID`: the client's own
when it is a short printable one, else a new one, which the error page shows so that it can be
quoted.
"""

import datetime as dt
import json
import logging
import re
import sys
import time
import uuid

from flask import current_app, g, has_request_context, request

LOGGER = logging.getLogger("ohpunaises")
REQUEST_ID_HEADER = "X-Request-ID"
# Printable ASCII without spaces, 200 characters at most: anything else is replaced.
VALID_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,200}")
SLOW_SECONDS = 1.0
FORMATS = ("json", "text")


class JsonFormatter(logging.Formatter):
    """A record as one JSON object on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
            **_context(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """A record as a line a person reads in a terminal (development)."""

    def format(self, record: logging.LogRecord) -> str:
        fields = {**_context(), **getattr(record, "fields", {})}
        pairs = " ".join(f"{key}={value}" for key, value in fields.items())
        line = f"{record.levelname.lower():<7} {record.getMessage()} {pairs}".rstrip()
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _context() -> dict:
    if has_request_context() and "request_id" in g:
        return {"request_id": g.request_id}
    return {}


class StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is when a record comes (test runners replace it)."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def configure(log_format: str, level: str):
    """Send the application's records to stderr in `log_format`; the same handler however
    many applications the process builds."""
    handler = StderrHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    for logger in (LOGGER, logging.getLogger("flask-limiter")):
        logger.handlers = [handler]
        logger.setLevel(level)
        logger.propagate = False


def init_app(app):
    """Configure logging from the app's settings and log every request it serves."""
    configure(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])
    app.before_request(start_request)
    app.after_request(finish_request)


def event(name: str, level: int = logging.INFO, **fields):
    """Log an event with its fields (never personal data: the caller sees to it)."""
    LOGGER.log(level, name, extra={"fields": fields})


def request_id() -> str | None:
    """The current request's id."""
    return g.get("request_id") if has_request_context() else None


def logged_path() -> str:
    """The request's path, or its route's pattern when the path holds a secret (a link's
    token: views flagged `secret_path`)."""
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    if getattr(view, "secret_path", False) and request.url_rule is not None:
        return request.url_rule.rule
    return request.path


def start_request():
    given = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = given if VALID_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def finish_request(response):
    if "request_id" not in g:  # a request refused before the hooks ran
        start_request()
    response.headers[REQUEST_ID_HEADER] = g.request_id
    seconds = time.perf_counter() - g.request_started
    user = g.get("_login_user")  # only if the request loaded it: logging costs no query
    fields = {
        "method": request.method,
        "path": logged_path(),
        "status": response.status_code,
        "duration_ms": round(seconds * 1000, 1),
        "user_id": getattr(user, "id", None),
        "role": getattr(user, "role", None),
    }
    if seconds > SLOW_SECONDS:
        event("request.slow", logging.WARNING, **fields)
    else:
        event("request", **fields)
    return response
