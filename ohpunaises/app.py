"""The application factory."""

import os

from flask import Flask, has_request_context, jsonify, request

from . import cli, web
from .api import register_api
from .config import load_settings
from .database import configure_engine, database_is_reachable
from .extensions import babel, csrf, db, limiter, login_manager, migrate
from .map import bp as map_blueprint

MIGRATIONS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations")
LOCALES = ("fr", "en")


def create_app(environ: dict | None = None) -> Flask:
    """Build the application from the environment; `environ` overrides some of its variables."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.update(load_settings(app.instance_path, {**os.environ, **(environ or {})}))
    app.json.sort_keys = False
    register_extensions(app)
    register_blueprints(app)
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
    with app.app_context():
        configure_engine(app)


def harden(response):
    """Headers every response carries; pages that may be framed say so themselves."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
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
