"""The application factory."""

import logging
import os
import secrets
from urllib.parse import unquote_to_bytes

import sqlalchemy as sa
from flask import (
    Flask,
    abort,
    current_app,
    g,
    has_request_context,
    jsonify,
    redirect,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from . import cli, data_version, logs, web
from .api import PREFIX as API_PREFIX
from .api import problems, register_api
from .api import unauthorized as api_unauthorized
from .cadence import period_words
from .config import load_settings
from .database import configure_engine, database_is_reachable
from .errors import Busy, DomainError
from .extensions import babel, csrf, db, limiter, login_manager, migrate
from .indicators import cache as figure_cache
from .map import bp as map_blueprint
from .usecases import imports
from .web.errors import error_page

MIGRATIONS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations")
LOCALES = ("fr", "en")


def create_app(environ: dict | None = None) -> Flask:
    """Build the application from the environment; `environ` overrides some of its variables."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.update(load_settings(app.instance_path, {**os.environ, **(environ or {})}))
    app.json.sort_keys = False
    logs.init_app(app)  # first, so that every request has its id, refused ones included
    # Before the extensions' hooks: CSRFProtect's reads the form, which must be checked first.
    app.before_request(check_request_body)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.jinja_env.filters["period_words"] = period_words
    app.after_request(harden)
    cli.register_commands(app)
    return app


def select_locale():
    if not has_request_context():
        return LOCALES[0]
    return request.accept_languages.best_match(LOCALES) or LOCALES[0]


def register_extensions(app):
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS, render_as_batch=True)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    figure_cache.init_app(app)
    with app.app_context():
        configure_engine(app)
        data_version.init_app(app)


FORM_TYPE = "application/x-www-form-urlencoded"
UPLOAD_TYPE = "multipart/form-data"
# The views that receive a file: their bodies may reach the import's limit, in multipart form.
UPLOAD_ENDPOINTS = frozenset({"imports.Imports", "web.import_send"})


def check_request_body():
    """Bodies the views can trust: within the size limit, and for pages, their forms' own.

    A chunked body has no Content-Length: werkzeug then stops reading at the limit without
    a word, so a body that reaches it is refused here (413). The pages' forms post
    URL-encoded UTF-8 and nothing else (415, 400): werkzeug would read another body as an
    empty form, and keep invalid UTF-8 as "%FF" text. The API's parser checks its JSON.
    """
    if request.method in ("GET", "HEAD", "OPTIONS") or request.endpoint is None:
        return
    upload = request.endpoint in UPLOAD_ENDPOINTS
    if upload:
        request.max_content_length = imports.upload_limit()
    size = request.content_length
    if size is not None and size > (request.max_content_length or size):
        abort(413)  # refused before a byte of it is read
    if size is None and request.environ.get("wsgi.input_terminated"):
        size = len(request.get_data())
        if request.max_content_length is not None and size >= request.max_content_length:
            abort(413)
    if is_api_request():
        return
    if upload and request.mimetype == UPLOAD_TYPE:
        return
    if size and request.mimetype != FORM_TYPE:
        abort(415, _("Envoyez le formulaire de la page (Content-Type: %(type)s).", type=FORM_TYPE))
    try:
        unquote_to_bytes(request.get_data().replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        abort(400, _("Le formulaire contient des octets qui ne sont pas du texte UTF-8."))


def csp_nonce() -> str:
    """This response's script nonce: every inline <script> of a page carries it."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def content_security_policy(nonce: str, frame_ancestors, tile_origin: str | None) -> str:
    """The policy of an HTML page: its own scripts and the nonced inline ones, nothing else."""
    images = ["'self'", "data:", *([tile_origin] if tile_origin else [])]  # tiles: the maps'
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", f"'nonce-{nonce}'"],
        # Styles may be inline: Leaflet, folium and the legend set style attributes and
        # <style> blocks. Scripts may not: no 'unsafe-inline', no 'unsafe-eval' for them.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": images,
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": list(frame_ancestors),
    }
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


HSTS = "max-age=31536000; includeSubDomains"


def for_an_account() -> bool:
    """Whether the response was made for a signed-in account (not a file, not a public page)."""
    user = g.get("_login_user")  # only if the request loaded it
    if user is None or not user.is_authenticated or request.endpoint in (None, "static"):
        return False
    view = current_app.view_functions.get(request.endpoint)
    return getattr(view, "audience", None) != "public"


# Data (JSON, CSV) is never a document: it runs nothing, loads nothing, is framed nowhere.
DATA_POLICY = "default-src 'none'; frame-ancestors 'none'"


def harden(response):
    """Headers every response carries, and the Content-Security-Policy of pages and data.

    Pages may be framed by no site unless their view widens `g.frame_ancestors` (the
    embedded map); the policy is written here only, so that a page sends one policy.
    """
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if current_app.config["ENV_NAME"] == "production":
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if for_an_account():
        # What an account reads is for it alone: no cache, shared or the browser's, keeps it.
        response.headers["Cache-Control"] = "no-store"
    if response.mimetype == "text/html":
        frame_ancestors = g.get("frame_ancestors", ("'none'",))
        tiles = current_app.config["TILE_ORIGIN"]
        policy = content_security_policy(csp_nonce(), frame_ancestors, tiles)
        response.headers["Content-Security-Policy"] = policy
        if frame_ancestors == ("'none'",):
            response.headers.setdefault("X-Frame-Options", "DENY")
    elif response.is_json or response.mimetype == "text/csv":
        response.headers.setdefault("Content-Security-Policy", DATA_POLICY)
    return response


def register_blueprints(app):
    register_api(app)
    app.register_blueprint(web.bp)
    app.register_blueprint(map_blueprint)

    @app.get("/healthz")
    def healthz():
        if database_is_reachable():
            return jsonify(status="ok", database="ok")
        return jsonify(status="error", database="unreachable"), 503


# Errors -----------------------------------------------------------------------------------------


def is_api_request() -> bool:
    """Whether the request came to the JSON API (it answers problem+json, never a page)."""
    return request.path.startswith(API_PREFIX)


def answer_error(error):
    """Every error on its way out, to the translator of the surface the request came to."""
    return problems.answer(error) if is_api_request() else error_page(error)


def unauthorized():
    """No account: 401 on the API, the sign-in page (and back here after) elsewhere."""
    if is_api_request():
        return api_unauthorized()
    return redirect(url_for("web.login", next=request.full_path.rstrip("?")))


def database_unavailable(error):
    """The database out of reach, busy, or a statement past its time: 503, and try again."""
    logs.event("database.unavailable", logging.WARNING, error=type(error.orig).__name__)
    return answer_error(Busy(DATABASE_BUSY, retry_after=5))


DATABASE_BUSY = _l(
    "La base de données ne répond pas, ou la demande a pris trop de temps : réessayez dans un "
    "instant."
)


def register_errorhandlers(app):
    app.register_error_handler(HTTPException, answer_error)
    app.register_error_handler(DomainError, answer_error)
    app.register_error_handler(sa.exc.OperationalError, database_unavailable)
    login_manager.unauthorized_handler(unauthorized)
