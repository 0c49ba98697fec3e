"""Territories: loading a territory file opens its territories, and every account reads them.
Deployments, which cover them, are in `usecases.deployments`."""

import base64
import binascii
import contextlib
import json
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from flask_babel import gettext as _

from .. import audit
from ..errors import invalid
from ..extensions import db
from ..models import Territory
from ..permissions import Actor
from ..schemas import TERRITORY_PAGE_DEFAULT, storable
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


@dataclass(frozen=True)
class FeaturePage:
    """One page of territories as GeoJSON features, and the cursor of the next (None: last)."""

    features: list[dict]
    next_cursor: str | None


def features(
    actor: Actor,
    level: str,
    simplify: float | None = None,
    limit: int = TERRITORY_PAGE_DEFAULT,
    cursor: str | None = None,
    search: str | None = None,
) -> FeaturePage:
    """A page of the territories of a level as GeoJSON features, by code, simplified within
    `simplify` degrees; only those whose name or code contains `search` when it is given.

    Only the page's geometries are read: the page is cut in SQL, after the cursor.
    """
    actor.check("territory.read")
    geojson = sa.func.ST_AsGeoJSON(Territory.geom, 6)
    if simplify:
        simplified = sa.func.ST_SimplifyPreserveTopology(Territory.geom, simplify)
        geojson = sa.func.coalesce(sa.func.ST_AsGeoJSON(simplified, 6), geojson)
    parent = sa.orm.aliased(Territory)
    wanted = _listed(level, search)
    if cursor:
        wanted.append(sa.tuple_(Territory.code, Territory.id) > decode_cursor(cursor))
    rows = db.session.execute(
        sa.select(
            Territory.id,
            Territory.code,
            Territory.name,
            Territory.level,
            Territory.population,
            parent.code.label("parent"),
            geojson.label("geojson"),
        )
        .outerjoin(parent, Territory.parent_id == parent.id)
        .where(*wanted)
        .order_by(Territory.code, Territory.id)
        .limit(limit)
    ).all()
    more = len(rows) == limit and _any_after(level, search, rows[-1])
    return FeaturePage([_feature(row) for row in rows], encode_cursor(rows[-1]) if more else None)


def _listed(level: str, search: str | None) -> list:
    """The conditions on the territories listed: their level, and the text searched."""
    conditions = [Territory.level == level]
    if search:
        conditions.append(
            sa.or_(
                Territory.code.icontains(search, autoescape=True),
                Territory.name.icontains(search, autoescape=True),
            )
        )
    return conditions


def _any_after(level: str, search: str | None, last) -> bool:
    """Whether a territory listed comes after `last`, without reading its geometry."""
    after = sa.tuple_(Territory.code, Territory.id) > (last.code, last.id)
    return db.session.scalar(sa.select(sa.exists().where(*_listed(level, search), after)))


def encode_cursor(territory) -> str:
    """The opaque cursor of the page that starts after this territory (row or model)."""
    raw = json.dumps([territory.code, territory.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, int]:
    """The code and id of the territory a page starts after; Invalid for a malformed cursor."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        code, id_ = json.loads(raw)
    except (ValueError, TypeError, binascii.Error) as error:
        raise invalid("cursor", _("Curseur invalide.")) from error
    if not (
        isinstance(code, str)
        and 0 < len(code) <= 20
        and storable(code)
        and type(id_) is int
        and 0 < id_ < 2**31
    ):
        raise invalid("cursor", _("Curseur invalide."))
    return code, id_


def _feature(row) -> dict:
    properties = {k: getattr(row, k) for k in ("code", "name", "level", "population", "parent")}
    return {"type": "Feature", "properties": properties, "geometry": json.loads(row.geojson)}
