"""Territories as GeoJSON."""

from ..auth import current_actor, requires
from ..schemas import FeaturePageSchema, TerritoryQuerySchema
from ..usecases import territories
from . import ApiBlueprint, ApiView

URL = "/territories"
blp = ApiBlueprint("territories", __name__, description="Territoires chargés")


@blp.route("")
class Territories(ApiView):
    @requires("territory.read")
    @blp.arguments(TerritoryQuerySchema, location="query")
    @blp.response(200, FeaturePageSchema)
    @blp.alt_response(422, description="Paramètres invalides ou curseur invalide")
    def get(self, query):
        """Les territoires d'un niveau, en FeatureCollection GeoJSON (géométrie simplifiable)

        Par pages, dans l'ordre des codes : chaque page porte next_cursor, à renvoyer en cursor
        pour lire la suivante ; il est null sur la dernière.
        """
        page = territories.features(
            current_actor(),
            query["level"],
            query.get("simplify"),
            limit=query["limit"],
            cursor=query.get("cursor"),
            search=query.get("q"),
        )
        return {
            "type": "FeatureCollection",
            "features": page.features,
            "next_cursor": page.next_cursor,
        }
