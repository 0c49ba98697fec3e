"""Server-rendered pages: sign-in, and the pages each role works with."""

from flask import Blueprint

bp = Blueprint("web", __name__)

HOME_BY_ROLE = {
    "agent": ("web.new_report", "web.home"),
    "partner_admin": ("web.new_report", "web.home"),
    "coordinator": ("web.indicators", "web.home"),
    "institution": ("web.indicators", "web.home"),
    "evaluator": ("web.exports", "web.home"),
}

from . import (  # noqa: E402, F401  (routes register on import)
    activities,
    deployments,
    essaimage,
    evaluation,
    exports,
    imports,
    indicators,
    links,
    pages,
    people,
    reporting,
    session,
    steering,
    structures,
    trainings,
)
