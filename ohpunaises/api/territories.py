"""Territories as GeoJSON."""

import json

import sqlalchemy as sa

from ..extensions import db
from ..models import Territory
from ..schemas import FeatureCollectionSchema, TerritoryQuerySchema
from . import ApiBlueprint, ApiView

URL = "/territories"
blp = ApiBlueprint("territories", __name__, description="Territoires chargés")


@blp.route("")
class Territories(ApiView):
    @blp.arguments(TerritoryQuerySchema, location="query")
    @blp.response(200, FeatureCollectionSchema)
    def get(self, query):
        """Les territoires d'un niveau, en FeatureCollection GeoJSON (géométrie simplifiable)"""
        geojson = sa.func.ST_AsGeoJSON(Territory.geom, 6)
        if query.get("simplify"):
            simplified = sa.func.ST_SimplifyPreserveTopology(Territory.geom, query["simplify"])
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
            .where(Territory.level == query["level"])
            .order_by(Territory.code)
        )
        return {"type": "FeatureCollection", "features": [feature(row) for row in rows]}


def feature(row) -> dict:
    properties = {k: getattr(row, k) for k in ("code", "name", "level", "population", "parent")}
    return {"type": "Feature", "properties": properties, "geometry": json.loads(row.geojson)}
