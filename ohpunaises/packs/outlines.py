"""Territory outlines for a printed map: read simplified from the database, projected for SVG.

A pack's map is drawn once per rendering, at A4 size, so the outlines are simplified by the
database itself (within about 20 m, far below what print shows) and projected on a flat plane:
at a metropolis' scale, longitudes scaled by the cosine of the mean latitude are true enough.
"""

import math
from dataclasses import dataclass

import numpy as np
import shapely
import sqlalchemy as sa

from ..extensions import db
from ..models import Territory

TOLERANCE = 0.0002  # degrees, about 20 m
WIDTH = 1000.0  # the drawing's width in SVG user units
DETAIL = 1 / 1500  # finer than this share of the drawing's extent is invisible once printed
KM_PER_DEGREE = 111.32  # of latitude


@dataclass(frozen=True)
class Outline:
    """One territory as SVG draws it: path data in the drawing's coordinates."""

    code: str
    name: str
    path: str


@dataclass(frozen=True)
class Drawing:
    """The outlines of the map's territories, in a `width` × `height` viewBox, where a
    kilometre is `per_km` units long."""

    outlines: tuple[Outline, ...]
    width: float
    height: float
    per_km: float = 0.0


def load(codes) -> Drawing:
    """The outlines of the territories with these codes (those not loaded are left out)."""
    codes = sorted(set(codes))
    if not codes:
        return Drawing((), WIDTH, 0.0)
    rows = db.session.execute(
        sa.select(Territory.code, Territory.name, sa.func.ST_AsBinary(_simplified()))
        .where(Territory.code.in_(codes))
        .order_by(Territory.code)
    ).all()
    if not rows:
        return Drawing((), WIDTH, 0.0)
    geometries = shapely.from_wkb([bytes(row[2]) for row in rows])
    return project([(row.code, row.name) for row in rows], geometries)


def _simplified():
    # SpatiaLite names it without the ST_ prefix; both return NULL when they cannot simplify.
    name = "SimplifyPreserveTopology" if db.engine.dialect.name == "sqlite" else None
    simplify = getattr(sa.func, name or "ST_SimplifyPreserveTopology")
    return sa.func.coalesce(simplify(Territory.geom, TOLERANCE), Territory.geom)


def project(names: list[tuple[str, str]], geometries) -> Drawing:
    """The geometries (lon/lat) flattened, scaled to the drawing's width, as SVG paths."""
    west, south, east, north = shapely.total_bounds(geometries)
    scale_x = math.cos(math.radians((south + north) / 2))
    extent = max((east - west) * scale_x, north - south) or 1.0
    geometries = shapely.simplify(geometries, extent * DETAIL, preserve_topology=True)
    factor = WIDTH / max((east - west) * scale_x, 1e-9)
    height = (north - south) * factor

    def flat(coords):
        return np.column_stack(((coords[:, 0] - west) * scale_x, north - coords[:, 1])) * factor

    flattened = shapely.transform(geometries, flat)
    outlines = tuple(
        Outline(code, name, svg_path(geometry))
        for (code, name), geometry in zip(names, flattened, strict=True)
    )
    return Drawing(outlines, WIDTH, round(float(height), 1), float(factor / KM_PER_DEGREE))


def svg_path(geometry) -> str:
    """SVG path data of a (multi)polygon, one closed subpath per ring (holes: even-odd)."""
    polygons = getattr(geometry, "geoms", [geometry])
    parts = []
    for polygon in polygons:
        if polygon.is_empty or polygon.geom_type != "Polygon":
            continue
        for ring in (polygon.exterior, *polygon.interiors):
            parts.append(_ring(np.asarray(ring.coords)))
    return "".join(part for part in parts if part)


def _ring(coords) -> str:
    rounded = np.round(coords, 1)
    kept = rounded[np.r_[True, np.any(np.diff(rounded, axis=0) != 0, axis=1)]]
    if len(kept) < 4:
        return ""
    points = " ".join(f"{x:g},{y:g}" for x, y in kept[:-1])
    return f"M{points}Z"
