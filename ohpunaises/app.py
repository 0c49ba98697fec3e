"""The application factory."""

import os

from flask import Flask, jsonify

from . import cli
from .config import load_settings
from .database import configure_engine, database_is_reachable
from .extensions import babel, db, migrate

MIGRATIONS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations")


def create_app(environ: dict | None = None) -> Flask:
    """Build the application from the environment; `environ` overrides some of its variables."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.update(load_settings(app.instance_path, {**os.environ, **(environ or {})}))
    app.json.sort_keys = False
    register_extensions(app)
    register_blueprints(app)
    cli.register_commands(app)
    return app


def register_extensions(app):
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS, render_as_batch=True)
    babel.init_app(app)
    with app.app_context():
        configure_engine(app)


def register_blueprints(app):
    @app.get("/healthz")
    def healthz():
        if database_is_reachable():
            return jsonify(status="ok", database="ok")
        return jsonify(status="error", database="unreachable"), 503
