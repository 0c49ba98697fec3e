"""The JSON API, under /api/v1, documented by the OpenAPI document generated from its schemas."""

import http
import json
from importlib import resources

import flask_smorest
from flask import Blueprint, current_app, request, send_from_directory
from flask.views import MethodView
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest.spec import prepare_response
from webargs.flaskparser import FlaskParser, abort

from ..auth import authenticated_by_token
from ..extensions import csrf, limiter
from ..ratelimits import rate_key
from .problems import PROBLEM_TYPE, ProblemSchema, problem

PREFIX = "/api/v1"
SWAGGER_UI = resources.files("swagger_ui_bundle") / "vendor" / "swagger-ui-4.15.5"


class JSONParser(FlaskParser):
    """Reads JSON bodies, refusing other content types and malformed JSON in French."""

    def _raw_load_json(self, req):
        if not req.is_json and (req.content_length or req.get_data(cache=True)):  # or chunked
            abort(415, message=_("Envoyez un corps JSON (Content-Type: application/json)."))
        if req.method == "PATCH" and not req.get_data(cache=True):
            # A PATCH without a patch document is malformed, not an empty change.
            abort(400, message=_("Envoyez les champs à modifier dans un corps JSON."))
        try:
            return super()._raw_load_json(req)
        except RecursionError:
            abort(400, message=_("Corps JSON trop imbriqué."))
        except json.JSONDecodeError:
            raise  # webargs hands it to _handle_invalid_json_error
        except ValueError:  # Python refuses integers of thousands of digits
            abort(400, message=_("Corps JSON illisible : un nombre compte trop de chiffres."))

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        if isinstance(error.__cause__, UnicodeDecodeError):
            message = _(
                "Corps JSON illisible : octet %(position)d, ce n'est pas du texte UTF-8.",
                position=error.__cause__.start + 1,
            )
        else:
            message = _("Corps JSON illisible : %(error)s", error=error)
        abort(400, message=message)


class ApiBlueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = JSONParser()


class ProblemApi(flask_smorest.Api):
    """flask-smorest, with errors as application/problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self):
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Erreur", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)

    def handle_http_exception(self, error):
        from ..app import answer_error  # the one place that picks the error's surface

        return answer_error(error)


def require_login(view):
    """API views answer 401 without a user, and check CSRF when the session cookie is used."""

    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            return unauthorized()
        if request.method not in ("GET", "HEAD", "OPTIONS") and not authenticated_by_token():
            csrf.protect()
        return view(*args, **kwargs)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


class ApiView(MethodView):
    """Every resource requires a user; the rate limit counts per token (or address)."""

    decorators = [require_login, limiter.limit(lambda: _api_limit(), key_func=rate_key)]


def _api_limit():
    return current_app.config["RATELIMIT_API"]


api = ProblemApi()


def register_api(app):
    """Mount the API blueprints, its OpenAPI document and its self-served docs."""
    from . import (
        account,
        activities,
        completeness,
        deployments,
        evaluation,
        exports,
        imports,
        indicators,
        packs,
        people,
        reports,
        structures,
        targets,
        territories,
        trainings,
    )

    app.config.update(
        API_TITLE="Oh Punaises! API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=f"{PREFIX}/docs/assets/",
        # No badge from validator.swagger.io: the docs load nothing from another site.
        OPENAPI_SWAGGER_UI_CONFIG={"validatorUrl": None},
        API_SPEC_OPTIONS={
            "servers": [{"url": "/"}],
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearer": []}],
        },
    )
    api.init_app(app)
    modules = (
        reports,
        imports,
        territories,
        structures,
        people,
        trainings,
        deployments,
        activities,
        completeness,
        account,
        indicators,
        targets,
        packs,
        evaluation,
        exports,
    )
    for module in modules:
        api.register_blueprint(module.blp, url_prefix=f"{PREFIX}{module.URL}")
        csrf.exempt(module.blp)
    app.register_blueprint(docs_assets)


def unauthorized():
    """401 with the scheme to use."""
    return problem(401, headers={"WWW-Authenticate": 'Bearer realm="ohpunaises"'})


docs_assets = Blueprint("api_docs_assets", __name__)


@docs_assets.get(f"{PREFIX}/docs/assets/<path:filename>")
def swagger_asset(filename):
    return send_from_directory(SWAGGER_UI, filename, max_age=86400)
