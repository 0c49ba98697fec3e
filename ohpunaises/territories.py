"""Loading territories from GeoJSON, and placing a point in the territories loaded."""

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from flask_babel import gettext as _
from geoalchemy2.shape import from_shape
from shapely import geometry, validation
from shapely.errors import GeometryTypeError
from sqlalchemy.orm import selectinload

from .errors import Invalid
from .extensions import db
from .models import Deployment, Territory, deployment_territories
from .schemas import storable

LEVELS = ("commune", "arrondissement", "qpv")
CODE_CANDIDATES = ("code_insee", "code", "code_qp", "insee", "insee_com")
NAME_CANDIDATES = ("nom", "name", "lib_qp", "nom_qp", "libelle")
POPULATION_CANDIDATES = ("population_municipale", "population", "pop")
PARENT_CANDIDATES = ("commune_parente",)
CODE_LENGTH, NAME_LENGTH = 20, 200  # the columns' sizes
MAX_POPULATION = 2**31 - 1  # an integer column
MEGABYTE = 1_000_000
MAX_FILE_MEGABYTES = 200  # a file is parsed whole, in several times its size of memory


class TerritoryFileError(Invalid):
    """A territory file that cannot be loaded; the message says where and why."""


class OutOfScope(ValueError):
    """A point or a code outside every loaded commune ("hors périmètre")."""


@dataclass
class Placement:
    """The territories a point falls in; `commune` is None outside the perimeter."""

    commune: Territory | None = None
    arrondissement: Territory | None = None
    qpv: Territory | None = None

    @property
    def in_scope(self) -> bool:
        return self.commune is not None


@dataclass
class TerritoryRow:
    code: str
    name: str
    shape: geometry.MultiPolygon
    population: int | None = None
    parent_code: str | None = None


@dataclass
class LoadResult:
    created: int = 0
    updated: int = 0
    without_population: list[str] = field(default_factory=list)


# Placing a point ---------------------------------------------------------------------------


def point_wkt(lon: float, lat: float) -> str:
    """WKT of a WGS84 point, refusing coordinates that cannot be longitude and latitude."""
    if not (math.isfinite(lon) and math.isfinite(lat)) or abs(lon) > 180 or abs(lat) > 90:
        raise ValueError(_("Coordonnées hors des bornes longitude/latitude."))
    return f"POINT({lon!r} {lat!r})"


def place_point(lon: float, lat: float) -> Placement:
    """The commune, arrondissement and QPV that contain the point (lon, lat)."""
    wkt = point_wkt(lon, lat)
    query = (
        sa.select(Territory)
        .where(sa.func.ST_Intersects(Territory.geom, sa.func.ST_GeomFromText(wkt, 4326)))
        .order_by(Territory.level, Territory.code)
    )
    query = _with_spatial_index(query, wkt)
    placement = Placement()
    for territory in db.session.scalars(query):
        if getattr(placement, territory.level) is None:
            setattr(placement, territory.level, territory)
    return placement


def place_points(points: list[tuple[float, float]]) -> list[Placement]:
    """`place_point` of each (lon, lat), in one query on PostGIS."""
    if db.engine.dialect.name != "postgresql":
        return [place_point(lon, lat) for lon, lat in points]
    for lon, lat in points:
        point_wkt(lon, lat)
    found = db.session.execute(
        sa.text(
            "SELECT p.i, t.id FROM unnest(CAST(:lons AS float8[]), CAST(:lats AS float8[])) "
            "WITH ORDINALITY AS p(lon, lat, i) JOIN territories t "
            "ON ST_Intersects(t.geom, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326)) "
            "ORDER BY p.i, t.level, t.code"
        ),
        {"lons": [lon for lon, _ in points], "lats": [lat for _, lat in points]},
    ).all()
    territories = {
        t.id: t
        for t in db.session.scalars(
            sa.select(Territory).where(Territory.id.in_({t for _, t in found}))
        )
    }
    placements = [Placement() for _ in points]
    for index, territory_id in found:
        territory = territories[territory_id]
        placement = placements[index - 1]
        if getattr(placement, territory.level) is None:
            setattr(placement, territory.level, territory)
    return placements


def _with_spatial_index(query, wkt):
    # PostGIS uses its GiST index by itself; SpatiaLite needs its R*Tree asked explicitly.
    if db.engine.dialect.name != "sqlite":
        return query
    candidates = sa.text(
        "SELECT rowid FROM SpatialIndex WHERE f_table_name = 'territories' "
        "AND f_geometry_column = 'geom' AND search_frame = ST_GeomFromText(:wkt, 4326)"
    ).bindparams(wkt=wkt)
    return query.where(Territory.id.in_(candidates.columns(sa.column("rowid"))))


def territory_by_code(code: str, *levels: str) -> Territory | None:
    """The territory with this code, optionally only at the given levels."""
    query = sa.select(Territory).where(Territory.code == code)
    if levels:
        query = query.where(Territory.level.in_(levels))
    return db.session.scalar(query)


def place_commune_code(code: str) -> Placement:
    """The placement of a report given by its commune (or Lyon arrondissement) code alone."""
    territory = territory_by_code(code, "commune", "arrondissement")
    if territory is None:
        raise OutOfScope(_("Commune %(code)s hors périmètre.", code=code))
    if territory.level == "arrondissement":
        return Placement(commune=territory.parent, arrondissement=territory)
    return Placement(commune=territory)


def place_commune_codes(codes) -> dict[str, Placement]:
    """`place_commune_code` of each known code, in one query; unknown codes are left out."""
    territories = db.session.scalars(
        sa.select(Territory)
        .where(Territory.code.in_(set(codes)), Territory.level.in_(("commune", "arrondissement")))
        .options(selectinload(Territory.parent))
    )
    return {
        t.code: Placement(commune=t.parent, arrondissement=t)
        if t.level == "arrondissement"
        else Placement(commune=t)
        for t in territories
    }


def deployment_covering(commune: Territory) -> Deployment | None:
    """The deployment whose territories include this commune, if any."""
    return db.session.scalar(
        sa.select(Deployment)
        .join(deployment_territories)
        .where(deployment_territories.c.territory_id == commune.id)
        .order_by(Deployment.id)
    )


# Reading a territory file ------------------------------------------------------------------


def read_geojson(path: Path, max_megabytes: int = MAX_FILE_MEGABYTES) -> list[dict]:
    """The features of a GeoJSON FeatureCollection, or a TerritoryFileError.

    The whole file is read in memory, hence a limit on its size, checked before reading.
    """
    try:
        size = Path(path).stat().st_size
    except OSError as error:
        raise _unreadable(path, error) from error
    if size > max_megabytes * MEGABYTE:
        raise TerritoryFileError(
            _(
                "%(path)s dépasse la limite de %(limit)d Mo (%(size)d octets) : si c'est "
                "bien le fichier voulu, relevez la limite avec --max-size-mb.",
                path=path,
                size=size,
                limit=max_megabytes,
            )
        )
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except RecursionError as error:
        raise _unreadable(path, _("structure trop imbriquée")) from error
    except (OSError, ValueError) as error:  # JSON, UTF-8 and overlong numbers alike
        raise _unreadable(path, error) from error
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise TerritoryFileError(_("%(path)s n'est pas une FeatureCollection GeoJSON.", path=path))
    features = data.get("features")
    if not isinstance(features, list) or not features:
        raise TerritoryFileError(_("%(path)s ne contient aucune entité.", path=path))
    return features


def _unreadable(path, reason) -> TerritoryFileError:
    return TerritoryFileError(
        _("%(path)s n'est pas un fichier GeoJSON lisible : %(error)s", path=path, error=reason)
    )


def pick_property(features: list[dict], given: str | None, candidates) -> str | None:
    """The property holding `what`: the one given, or the first usual name present."""
    if given:
        return given
    first = features[0] if isinstance(features[0], dict) else {}
    properties = first.get("properties") if isinstance(first.get("properties"), dict) else {}
    return next((name for name in candidates if name in properties), None)


def parse_features(features, code_key, name_key, population_key=None, parent_key=None):
    """Check every feature and turn it into a TerritoryRow; all errors or none."""
    if code_key is None or name_key is None:
        raise TerritoryFileError(
            _(
                "Impossible de deviner quelles propriétés portent le code et le nom : "
                "indiquez-les avec --code-property et --name-property."
            )
        )
    rows, seen = [], set()
    for number, feature in enumerate(features, start=1):
        row = _parse_feature(number, feature, code_key, name_key, population_key, parent_key)
        if row.code in seen:
            raise TerritoryFileError(
                _("Entité n° %(n)d : code %(code)s en double.", n=number, code=row.code)
            )
        seen.add(row.code)
        rows.append(row)
    return rows


def _parse_feature(number, feature, code_key, name_key, population_key, parent_key):
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise TerritoryFileError(_("Entité n° %(n)d : ce n'est pas une Feature.", n=number))
    properties = feature.get("properties") or {}
    if not isinstance(properties, dict):
        raise TerritoryFileError(
            _("Entité n° %(n)d : « properties » doit être un objet.", n=number)
        )
    code = _required_text(number, properties, code_key, CODE_LENGTH)
    name = _required_text(number, properties, name_key, NAME_LENGTH)
    population = _population(number, properties.get(population_key)) if population_key else None
    parent = properties.get(parent_key) if parent_key else None
    shape = _multipolygon(number, code, feature.get("geometry"))
    return TerritoryRow(code, name, shape, population, str(parent) if parent else None)


def _required_text(number, properties, key, maximum):
    value = properties.get(key)
    if value is None or str(value).strip() == "":
        raise TerritoryFileError(
            _("Entité n° %(n)d : propriété « %(key)s » absente ou vide.", n=number, key=key)
        )
    text = str(value).strip()
    if isinstance(value, dict | list | bool) or len(text) > maximum or not storable(text):
        raise TerritoryFileError(
            _(
                "Entité n° %(n)d : propriété « %(key)s » invalide (texte de %(max)d caractères "
                "au plus attendu, sans caractère nul).",
                n=number,
                key=key,
                max=maximum,
            )
        )
    return text


def _population(number, value):
    if value is None or value == "":
        return None
    try:
        population = int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: 1e999 is infinite
        population = -1
    if not 0 <= population <= MAX_POPULATION:
        raise TerritoryFileError(
            _("Entité n° %(n)d : population invalide (%(value)s).", n=number, value=value)
        )
    return population


def _multipolygon(number, code, data):
    _check_rings(number, code, data)
    try:
        shape = geometry.shape(data)
    except (GeometryTypeError, AttributeError, TypeError, ValueError, KeyError, IndexError):
        shape = None
    if shape is None or shape.geom_type not in ("Polygon", "MultiPolygon") or shape.is_empty:
        raise TerritoryFileError(
            _(
                "Entité n° %(n)d (%(code)s) : géométrie absente ou non surfacique.",
                n=number,
                code=code,
            )
        )
    if not shape.is_valid:
        raise TerritoryFileError(
            _(
                "Entité n° %(n)d (%(code)s) : géométrie invalide (%(why)s).",
                n=number,
                code=code,
                why=validation.explain_validity(shape),
            )
        )
    minx, miny, maxx, maxy = shape.bounds
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise TerritoryFileError(
            _(
                "Entité n° %(n)d (%(code)s) : coordonnées hors des bornes longitude/latitude ; "
                "le fichier doit être en WGS84 (EPSG:4326).",
                n=number,
                code=code,
            )
        )
    return shape if shape.geom_type == "MultiPolygon" else geometry.MultiPolygon([shape])


def _check_rings(number, code, data):
    """The rings of a (multi)polygon as RFC 7946 wants them, before shapely mends or warns:
    finite coordinates, at least four positions, the last one repeating the first."""
    kind = data.get("type") if isinstance(data, dict) else None
    coordinates = data.get("coordinates") if kind in ("Polygon", "MultiPolygon") else None
    if not isinstance(coordinates, list):
        return  # not a polygon: _multipolygon says so
    polygons = coordinates if kind == "MultiPolygon" else [coordinates]
    rings = [ring for polygon in polygons if isinstance(polygon, list) for ring in polygon]

    def refuse(why):
        return TerritoryFileError(
            _(
                "Entité n° %(n)d (%(code)s) : géométrie invalide (%(why)s).",
                n=number,
                code=code,
                why=why,
            )
        )

    for ring in rings:
        if not isinstance(ring, list) or not all(_position(point) for point in ring):
            raise refuse(_("coordonnée non numérique ou non finie, comme NaN"))
        if len(ring) < 4:
            raise refuse(_("anneau de moins de 4 positions"))
        if ring[0] != ring[-1]:
            raise refuse(_("anneau non fermé : la dernière position doit répéter la première"))


def _position(point) -> bool:
    return (
        isinstance(point, list)
        and len(point) in (2, 3)
        and all(type(value) in (int, float) and math.isfinite(value) for value in point)
    )


def read_population_csv(path: Path, code_column: str, population_column: str) -> dict[str, int]:
    """Populations by territory code from a CSV file (`,` or `;` separated)."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise TerritoryFileError(
            _("Fichier de population illisible : %(error)s", error=error)
        ) from error
    try:
        return _populations(text, code_column, population_column)
    except csv.Error as error:  # a NUL byte, no separator to be found…
        raise TerritoryFileError(
            _("Fichier de population illisible : %(error)s", error=error)
        ) from error


def _populations(text, code_column, population_column):
    dialect = csv.Sniffer().sniff(text.splitlines()[0] if text else ",", delimiters=",;")
    reader = csv.DictReader(text.splitlines(), dialect=dialect)
    missing = {code_column, population_column} - set(reader.fieldnames or ())
    if missing:
        raise TerritoryFileError(
            _(
                "Colonnes absentes du fichier de population : %(cols)s",
                cols=", ".join(sorted(missing)),
            )
        )
    populations = {}
    for line, row in enumerate(reader, start=2):
        value = (row[population_column] or "").strip()
        if not value:
            continue
        digits = value.isascii() and value.isdigit() and len(value) <= 10
        if not (digits and int(value) <= MAX_POPULATION):
            raise TerritoryFileError(
                _("Ligne %(line)d : population invalide (%(value)s).", line=line, value=value)
            )
        populations[(row[code_column] or "").strip()] = int(value)
    return populations


# Storing ------------------------------------------------------------------------------------


def store_territories(rows, level, populations=None, progress=None) -> LoadResult:
    """Insert or update the rows at this level, in the caller's transaction."""
    codes = [row.code for row in rows]
    existing = _existing_by_code(codes)
    _refuse_level_clash(existing.values(), level)
    result = LoadResult()
    for row in rows:
        territory = existing.get(row.code)
        if territory is None:
            territory = Territory(code=row.code, level=level)
            db.session.add(territory)
            result.created += 1
        else:
            result.updated += 1
        _fill(territory, row, populations or {})
        if territory.population is None:
            result.without_population.append(row.code)
        if progress:
            progress(1)
    db.session.flush()
    _link_parents(rows, level)
    return result


def _existing_by_code(codes):
    found = {}
    for start in range(0, len(codes), 500):
        chunk = codes[start : start + 500]
        query = sa.select(Territory).where(Territory.code.in_(chunk))
        found.update((t.code, t) for t in db.session.scalars(query))
    return found


def _refuse_level_clash(territories, level):
    for territory in territories:
        if territory.level != level:
            raise TerritoryFileError(
                _(
                    "Le code %(code)s existe déjà au niveau %(other)s.",
                    code=territory.code,
                    other=territory.level,
                )
            )


def _fill(territory, row, populations):
    territory.name = row.name
    territory.geom = from_shape(row.shape, srid=4326)
    population = populations.get(row.code, row.population)
    if population is not None:
        territory.population = population


def _link_parents(rows, level):
    if level == "commune":
        return
    communes = {
        t.code: t.id
        for t in db.session.scalars(sa.select(Territory).where(Territory.level == "commune"))
    }
    for row in rows:
        parent_id = communes.get(row.parent_code) if row.parent_code else None
        if row.parent_code and parent_id is None:
            raise TerritoryFileError(_("Commune parente %(code)s inconnue.", code=row.parent_code))
        if parent_id is None:
            point = row.shape.representative_point()
            commune = place_point(point.x, point.y).commune
            parent_id = commune.id if commune else None
        db.session.execute(
            sa.update(Territory).where(Territory.code == row.code).values(parent_id=parent_id)
        )
