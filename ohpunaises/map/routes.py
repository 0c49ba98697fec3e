"""The map pages: `/carte` for signed-in users, `/carte/embed` for institutions' sites.

The embedded map is public when `OHPUNAISES_EMBED=1` (404 otherwise): it shows what the
public may read, suppressed aggregates and no names, whoever is signed in to the site, so
that a coordinator's session can never leak raw figures into another site's frame. Which
sites may frame it is `OHPUNAISES_EMBED_ORIGINS`; `/carte` itself may be framed by none.
"""

import datetime as dt

from flask import abort, current_app, g, make_response, render_template, request, url_for
from flask_babel import gettext as _

from .. import privacy
from ..auth import current_actor, public, requires
from ..indicators import INDICATORS, Period
from ..permissions import Actor
from ..ratelimits import figures_limit, tiles_limit
from ..web.periods import choice_of, period_choices, period_of
from . import bp
from .builders import (
    LEVELS,
    MAP_INDICATORS,
    MapQuery,
    build_map,
    query_args,
    territory_tile,
)
from .tiles import gzipped, valid_tile


@bp.get("/carte")
@requires("map.read")
@figures_limit()
def territorial_map():
    query = map_query(request.args)
    actor = current_actor()
    built = build_map(query, actor)
    protected = not privacy.reads_raw(actor.role)
    page = render_template(
        "map/map.html",
        map=built,
        query=query,
        choices=period_choices(dt.date.today()) if protected else None,
        chosen=choice_of(query.period.start, query.period.end) if query.period.start else "",
        indicators=[(id_, INDICATORS[id_].label) for id_ in MAP_INDICATORS],
        levels=LEVELS.items(),
        embed_url=embed_url(query) if current_app.config["EMBED"] else None,
    )
    response = make_response(page)
    # Framed by no site: the default of every page (app.harden writes the policy).
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/carte/embed")
@public("map.read")
@figures_limit()
def embedded_map():
    if not current_app.config["EMBED"]:
        abort(404)
    query = map_query(request.args)
    built = build_map(query, Actor.public(), tile_endpoint="map.embedded_tile")
    response = make_response(render_template("map/embed.html", map=built, query=query))
    origins = current_app.config["EMBED_ORIGINS"]
    g.frame_ancestors = ("'self'", *origins)  # merged into the page's policy by app.harden
    if not origins:
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/carte/tuiles/<int:z>/<int:x>/<int:y>.json")
@requires("map.read")
@tiles_limit()
def map_tile(z: int, x: int, y: int):
    """A tile of `/carte` (map/tiles.py), for the query string of the page."""
    return tile_response(current_actor(), z, x, y, "private, max-age=60")


@bp.get("/carte/embed/tuiles/<int:z>/<int:x>/<int:y>.json")
@public("map.read")
@tiles_limit()
def embedded_tile(z: int, x: int, y: int):
    """A tile of `/carte/embed`: the public's figures, whoever is signed in."""
    if not current_app.config["EMBED"]:
        abort(404)
    return tile_response(Actor.public(), z, x, y, "public, max-age=300")


def tile_response(actor: Actor, z: int, x: int, y: int, cache_control: str):
    if not valid_tile(z, x, y):
        abort(404, _("Cette tuile est hors de la carte."))
    body = territory_tile(map_query(request.args), actor, z, x, y).encode()
    response = current_app.response_class(body, mimetype="application/json")
    # Tiles at a country's scale weigh a few hundred kilobytes of repeated JSON.
    if "gzip" in request.accept_encodings:
        response.set_data(gzipped(body))
        response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    response.headers["Cache-Control"] = cache_control
    return response


def map_query(args) -> MapQuery:
    """The indicator, level and period asked in the query string; 400 when malformed."""
    indicator = args.get("indicator") or MapQuery.indicator
    level = args.get("level") or MapQuery.level
    if indicator not in MAP_INDICATORS or level not in LEVELS:
        abort(400, _("Indicateur ou niveau de territoire inconnu."))
    if "periode" in args:  # a period of the list protected readers pick from
        return MapQuery(indicator, level, Period(*period_of(args["periode"])))
    start, end = _date(args.get("from")), _date(args.get("to"))
    if start and end and start > end:
        abort(400, _("La date de début suit la date de fin."))
    return MapQuery(indicator, level, Period(start, end))


def _date(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        abort(400, _("Date invalide : %(text)s (attendu : AAAA-MM-JJ).", text=text))


def embed_url(query: MapQuery) -> str:
    return url_for("map.embedded_map", _external=True, **query_args(query))
