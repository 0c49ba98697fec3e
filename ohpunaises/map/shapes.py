"""Territory outlines for maps: simplified once, kept in memory until the territories change.

A map draws every territory of a level on every request, so the outlines are read from the
database, simplified and rounded once per process, and read again only when a territory of
that level is loaded, changed or removed (their count and latest `updated_at` change).
"""

import threading
import time
from dataclasses import dataclass

import numpy as np
import shapely
import sqlalchemy as sa

from .. import data_version
from ..extensions import db
from ..models import Structure, Territory

# About 30 m at Lyon's latitude: invisible at the zoom a territory map is read at, and
# communes then weigh a few hundred points each instead of thousands.
TOLERANCE = 0.0003
DECIMALS = 5  # about 1 m

STAMP_AGE = 60  # seconds

_cache: dict = {}
_stamps: dict = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Shape:
    """One territory as a map draws it: simplified GeoJSON geometry and a point inside it."""

    id: int
    code: str
    name: str
    geometry: dict
    point: tuple[float, float]  # (lat, lon), on the territory's surface


def shapes(level: str) -> list[Shape]:
    """Every territory of the level, in code order, simplified; cached per process."""
    key = (str(db.engine.url), level)
    current = stamp(level)
    cached = _cache.get(key)
    if cached is not None and cached[0] == current:
        return cached[1]
    with _lock:
        built = _build(level)
        _cache[key] = (current, built)
    return built


@dataclass(frozen=True)
class Place:
    """A territory's name and a point inside it, where markers about it stand."""

    id: int
    name: str
    point: tuple[float, float]  # (lat, lon)


def commune_points() -> dict[int, Place]:
    """The communes where an active structure stands, each with a point on its surface: read
    from the database for levels too large to keep their shapes in memory."""
    holding = sa.select(Structure.commune_id).where(Structure.active)
    surface = sa.func.ST_PointOnSurface(Territory.geom)
    query = sa.select(
        Territory.id, Territory.name, sa.func.ST_Y(surface), sa.func.ST_X(surface)
    ).where(Territory.id.in_(holding))
    return {
        id_: Place(id_, name, (round(lat, DECIMALS), round(lon, DECIMALS)))
        for id_, name, lat, lon in db.session.execute(query)
    }


def bounds(found: list[Shape]) -> list[list[float]] | None:
    """[[south, west], [north, east]] around the shapes, or None when there are none."""
    if not found:
        return None
    boxes = np.array([shapely.bounds(shapely.geometry.shape(s.geometry)) for s in found])
    west, south = boxes[:, 0].min(), boxes[:, 1].min()
    east, north = boxes[:, 2].max(), boxes[:, 3].max()
    return [[float(south), float(west)], [float(north), float(east)]]


def stamp(level: str) -> tuple:
    """What moves when a territory of the level is loaded, changed or removed.

    Reading it scans the level's rows (150 ms over France's 35,000 communes), and a map view
    asks for it once per tile: on PostgreSQL it is kept while the data version stays the
    same (every write through the application moves it), and at most STAMP_AGE seconds, for
    changes made outside the application.
    """
    version = data_version.current(db.session.connection())
    key = (str(db.engine.url), level)
    kept = _stamps.get(key)
    if version is not None and kept is not None:
        kept_version, since, found = kept
        if kept_version == version and time.monotonic() - since < STAMP_AGE:
            return found
    query = sa.select(sa.func.count(), sa.func.max(Territory.updated_at)).where(
        Territory.level == level
    )
    count, latest = db.session.execute(query).one()
    found = (count, str(latest))
    if version is not None:
        _stamps[key] = (version, time.monotonic(), found)
    return found


def _build(level: str) -> list[Shape]:
    query = (
        sa.select(Territory.id, Territory.code, Territory.name, sa.func.ST_AsBinary(Territory.geom))
        .where(Territory.level == level)
        .order_by(Territory.code)
    )
    rows = db.session.execute(query).all()
    if not rows:
        return []
    geometries = simplify(shapely.from_wkb([bytes(row[3]) for row in rows]))
    return [
        Shape(row.id, row.code, row.name, shapely.geometry.mapping(geometry), _inside(geometry))
        for row, geometry in zip(rows, geometries, strict=True)
    ]


def simplify(geometries):
    """Simplified and rounded; neighbours keep a shared border where GEOS can do it."""
    try:
        simplified = shapely.coverage_simplify(geometries, TOLERANCE)
    except (
        AttributeError,
        shapely.errors.GEOSException,
        shapely.errors.UnsupportedGEOSVersionError,
    ):
        # Not a clean coverage (overlapping territories) or an old GEOS: one by one.
        simplified = shapely.simplify(geometries, TOLERANCE, preserve_topology=True)
    rounded = shapely.transform(simplified, lambda coords: np.round(coords, DECIMALS))
    return [
        geometry if shapely.is_valid(geometry) else shapely.make_valid(geometry)
        for geometry in rounded
    ]


def _inside(geometry) -> tuple[float, float]:
    point = shapely.point_on_surface(geometry)
    return round(point.y, DECIMALS), round(point.x, DECIMALS)
