"""Territory outlines cut into web map tiles, for levels with too many territories for a page.

A tile is the usual square of a web map: zoom z, column x, row y of Web Mercator, 256 CSS
pixels a side. Its outlines are clipped to the tile (with a small margin, so that borders
meet), simplified to what the zoom shows, and written in tile units: integers from 0 to
EXTENT, y downwards, as a canvas draws them, nested as GeoJSON's MultiPolygon coordinates
(polygons, their rings, their [x, y] points). A territory smaller than a unit may vanish at low
zooms, as on any web map; it comes back when zooming in.

PostGIS cuts the tiles itself (`ST_AsMVTGeom`, the function vector tile servers use), so a
worker never holds a level's geometries. SpatiaLite has no such function: the outlines of
the level are read once per process, projected and indexed (`shapely.STRtree`), which suits
the embedded database's scale, a metropolis. Both give the same outlines up to rounding
(`tests/test_map_tiles.py` compares them).

Outlines are kept per tile in a bounded cache until a territory of the level changes; the
figures are joined to them on every request (`builders.territory_tile`), so that a tile never
holds a figure from another data version or another reader. What is sent is compressed once
per distinct tile text (`gzipped`): the same view asked again costs a hash, not a gzip.
"""

import gzip
import hashlib
import json
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import shapely
import sqlalchemy as sa

from ..extensions import db
from ..models import Territory
from .shapes import stamp

EXTENT = 512  # tile units a side: half a CSS pixel
BUFFER = 8  # units drawn past the tile's edge, so that strokes meet across tiles
MAX_ZOOM = 18
EARTH = 6378137.0  # Web Mercator's sphere, in metres
ORIGIN = math.pi * EARTH  # half the world's width, in metres
CACHE_CHARACTERS = 64_000_000  # outlines kept per process, about 64 MB of JSON text
GZIPPED_BYTES = 16_000_000  # compressed tiles kept per process: ten views of France

_levels: dict = {}
_lock = threading.Lock()


class _Kept:
    """Values kept by key up to a total size, the least recently used dropped first (at
    least one is always kept). `bound` is read at each insertion."""

    def __init__(self, bound):
        self._bound, self._entries, self._size = bound, OrderedDict(), 0
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found[0]
        return None

    def put(self, key, value, size: int):
        with self._lock:
            if key not in self._entries:
                self._entries[key] = (value, size)
                self._size += size
            while self._size > self._bound() and len(self._entries) > 1:
                _key, (_value, dropped) = self._entries.popitem(last=False)
                self._size -= dropped


_tiles = _Kept(lambda: CACHE_CHARACTERS)
_gzipped = _Kept(lambda: GZIPPED_BYTES)


@dataclass(frozen=True)
class Outline:
    """One territory in one tile: its id and its polygons as JSON text, MultiPolygon
    coordinates in tile units (text: compact to keep, and written out as it is)."""

    territory_id: int
    polygons: str


def valid_tile(z: int, x: int, y: int) -> bool:
    return 0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z


def outlines(level: str, z: int, x: int, y: int) -> list[Outline]:
    """The territories of `level` that tile z/x/y shows, in code order; cached per process,
    the least recently used tiles dropped first beyond CACHE_CHARACTERS."""
    key = (str(db.engine.url), level, stamp(level), z, x, y)
    found = _tiles.get(key)
    if found is not None:
        return found
    if db.engine.dialect.name == "postgresql":
        found = _postgis_outlines(level, z, x, y)
    else:
        found = _shapely_outlines(level, key[2], z, x, y)
    _tiles.put(key, found, sum(len(outline.polygons) for outline in found))
    return found


def gzipped(body: bytes) -> bytes:
    """A tile's text compressed (gzip level 6), kept by its digest: a tile of France's
    communes is half a megabyte of JSON, 20 ms to compress and 1 ms to hash. The digest
    names the text itself, so what is served is never another reader's or another data
    version's."""
    key = hashlib.blake2b(body, digest_size=32).digest()
    compressed = _gzipped.get(key)
    if compressed is None:
        compressed = gzip.compress(body, compresslevel=6)
        _gzipped.put(key, compressed, len(compressed))
    return compressed


def level_bounds(level: str) -> list[list[float]] | None:
    """[[south, west], [north, east]] around every territory of the level, or None."""
    if db.engine.dialect.name == "postgresql":
        box = sa.func.ST_Extent(Territory.geom)
        query = sa.select(
            sa.func.ST_YMin(box), sa.func.ST_XMin(box), sa.func.ST_YMax(box), sa.func.ST_XMax(box)
        )
    else:
        box = sa.func.Extent(Territory.geom)
        query = sa.select(
            sa.func.MbrMinY(box), sa.func.MbrMinX(box), sa.func.MbrMaxY(box), sa.func.MbrMaxX(box)
        )
    south, west, north, east = db.session.execute(query.where(Territory.level == level)).one()
    if south is None:
        return None
    return [[float(south), float(west)], [float(north), float(east)]]


def territory_count(level: str) -> int:
    return stamp(level)[0]


# PostGIS ------------------------------------------------------------------------------------

_POSTGIS_TILE = sa.text(
    """
    SELECT id, ST_AsGeoJSON(ST_Multi(
        ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope(:z, :x, :y), :extent, :buffer)
    ), 0)::json ->> 'coordinates' AS outline
    FROM territories
    WHERE level = :level
      AND geom && ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => :margin), 4326)
    ORDER BY code, id
    """
)


def _postgis_outlines(level: str, z: int, x: int, y: int) -> list[Outline]:
    rows = db.session.execute(
        _POSTGIS_TILE,
        {
            "level": level,
            "z": z,
            "x": x,
            "y": y,
            "extent": EXTENT,
            "buffer": BUFFER,
            "margin": BUFFER / EXTENT,
        },
    )
    # Null when clipped away or smaller than a unit.
    return [Outline(territory_id, text) for territory_id, text in rows if text not in (None, "[]")]


# SpatiaLite (and any database): shapely ------------------------------------------------------


def _shapely_outlines(level: str, level_stamp: tuple, z: int, x: int, y: int) -> list[Outline]:
    ids, geometries, tree = _projected(level, level_stamp)
    size = 2 * ORIGIN / 2**z  # the tile's side, in metres
    west, north = -ORIGIN + x * size, ORIGIN - y * size
    margin = size * BUFFER / EXTENT
    box = (west - margin, north - size - margin, west + size + margin, north + margin)
    found = []
    for index in sorted(tree.query(shapely.box(*box), predicate="intersects")):
        clipped = shapely.clip_by_rect(geometries[index], *box)
        in_units = shapely.transform(
            clipped,
            lambda coords, west=west, north=north, size=size: np.column_stack(
                ((coords[:, 0] - west) / size * EXTENT, (north - coords[:, 1]) / size * EXTENT)
            ),
        )
        polygons = _polygons(shapely.simplify(in_units, 1.0, preserve_topology=False))
        if polygons:
            found.append(Outline(ids[index], json.dumps(polygons, separators=(",", ":"))))
    return found


def _polygons(geometry) -> list:
    """MultiPolygon coordinates in whole units, without the rings that round to nothing."""
    polygons = []
    # Clipping may give a collection of polygons, multipolygons and lines: flattened twice.
    for polygon in shapely.get_parts(shapely.get_parts(geometry)):
        if polygon.geom_type != "Polygon" or polygon.is_empty:
            continue
        rings = [_whole(ring) for ring in (polygon.exterior, *polygon.interiors)]
        if rings[0]:  # holes without their outline are nothing
            polygons.append([ring for ring in rings if ring])
    return polygons


def _whole(ring) -> list | None:
    """A ring's points in whole units, or None when fewer than three distinct points stay."""
    points = np.round(np.asarray(ring.coords)).astype(int)
    points = points[np.r_[True, np.any(np.diff(points, axis=0) != 0, axis=1)]]
    return points.tolist() if len(points) >= 4 else None


def _projected(level: str, level_stamp: tuple):
    """The level's territories in Web Mercator, with a spatial index; cached per process."""
    key = (str(db.engine.url), level)
    cached = _levels.get(key)
    if cached is not None and cached[0] == level_stamp:
        return cached[1]
    query = (
        sa.select(Territory.id, sa.func.ST_AsBinary(Territory.geom))
        .where(Territory.level == level)
        .order_by(Territory.code, Territory.id)
    )
    rows = db.session.execute(query).all()
    geometries = (
        shapely.transform(shapely.from_wkb([bytes(row[1]) for row in rows]), _mercator)
        if rows
        else np.array([])
    )
    built = ([row[0] for row in rows], geometries, shapely.STRtree(geometries))
    with _lock:
        _levels[key] = (level_stamp, built)
    return built


def _mercator(coords):
    """Longitude and latitude in degrees to Web Mercator metres."""
    lon, lat = np.radians(coords[:, 0]), np.radians(np.clip(coords[:, 1], -85.0511, 85.0511))
    return np.column_stack((EARTH * lon, EARTH * np.log(np.tan(np.pi / 4 + lat / 2))))
