"""Territories as GeoJSON."""

from ..auth import current_actor, requires
from ..schemas import FeatureCollectionSchema, TerritoryQuerySchema
from ..usecases import territories
from . import ApiBlueprint, ApiView

URL = "/territories"
blp = ApiBlueprint("territories", __name__, description="Territoires chargés")


@blp.route("")
class Territories(ApiView):
    @requires("territory.read")
    @blp.arguments(TerritoryQuerySchema, location="query")
    @blp.response(200, FeatureCollectionSchema)
    def get(self, query):
        """Les territoires d'un niveau, en FeatureCollection GeoJSON (géométrie simplifiable)"""
        found = territories.features(current_actor(), query["level"], query.get("simplify"))
        return {"type": "FeatureCollection", "features": found}
