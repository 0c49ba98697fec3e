"""Territories: loading a territory file opens its territories, and every account reads them.
Deployments, which cover them, are in `usecases.deployments`."""

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from .. import audit
from ..extensions import db
from ..models import Territory
from ..permissions import Actor
from ..territories import (
    CODE_CANDIDATES,
    MAX_FILE_MEGABYTES,
    NAME_CANDIDATES,
    PARENT_CANDIDATES,
    POPULATION_CANDIDATES,
    LoadResult,
    parse_features,
    pick_property,
    read_geojson,
    read_population_csv,
    store_territories,
)
from . import transaction


@dataclass(frozen=True)
class TerritoryFile:
    """A GeoJSON file of territories, the properties to read, and populations beside it."""

    path: Path
    level: str
    code_property: str | None = None
    name_property: str | None = None
    population_property: str | None = None
    parent_property: str | None = None
    population_csv: Path | None = None
    csv_code_column: str = "code_insee"
    csv_population_column: str = "pop_municipale_insee_cog2026"
    max_size_mb: int = MAX_FILE_MEGABYTES


def _no_progress(_total):
    return contextlib.nullcontext(None)


def load_territories(actor: Actor, source: TerritoryFile, progress=_no_progress) -> LoadResult:
    """Create or update the territories of a file, whole or not at all.

    `progress(total)` gives a context whose value has `update(n)` (a click progress bar), or
    None.
    """
    actor.check("territory.load")
    with transaction():
        features = read_geojson(source.path, source.max_size_mb)
        rows = parse_features(
            features,
            pick_property(features, source.code_property, CODE_CANDIDATES),
            pick_property(features, source.name_property, NAME_CANDIDATES),
            pick_property(features, source.population_property, POPULATION_CANDIDATES),
            pick_property(features, source.parent_property, PARENT_CANDIDATES),
        )
        populations = None
        if source.population_csv:
            populations = read_population_csv(
                source.population_csv, source.csv_code_column, source.csv_population_column
            )
        with progress(len(rows)) as bar:
            result = store_territories(rows, source.level, populations, bar and bar.update)
        details = {
            "file": Path(str(source.path)).name,
            "created": result.created,
            "updated": result.updated,
        }
        audit.record(actor, "territory.load", source.level, details)
        return result


def list_territories(actor: Actor, level: str | None = None) -> list[Territory]:
    """The territories loaded, by level and code."""
    actor.check("territory.read")
    query = sa.select(Territory).order_by(Territory.level, Territory.code)
    if level:
        query = query.where(Territory.level == level)
    return db.session.scalars(query).all()


def features(actor: Actor, level: str, simplify: float | None = None) -> list[dict]:
    """The territories of a level as GeoJSON features, simplified within `simplify` degrees."""
    actor.check("territory.read")
    geojson = sa.func.ST_AsGeoJSON(Territory.geom, 6)
    if simplify:
        simplified = sa.func.ST_SimplifyPreserveTopology(Territory.geom, simplify)
        geojson = sa.func.coalesce(sa.func.ST_AsGeoJSON(simplified, 6), geojson)
    parent = sa.orm.aliased(Territory)
    rows = db.session.execute(
        sa.select(
            Territory.code,
            Territory.name,
            Territory.level,
            Territory.population,
            parent.code.label("parent"),
            geojson.label("geojson"),
        )
        .outerjoin(parent, Territory.parent_id == parent.id)
        .where(Territory.level == level)
        .order_by(Territory.code)
    )
    return [_feature(row) for row in rows]


def _feature(row) -> dict:
    properties = {k: getattr(row, k) for k in ("code", "name", "level", "population", "parent")}
    return {"type": "Feature", "properties": properties, "geometry": json.loads(row.geojson)}
