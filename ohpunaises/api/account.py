"""The current account and API tokens."""

from ..auth import current_actor, requires
from ..schemas import MeSchema, TokenCreatedSchema, TokenCreateSchema, TokenSchema
from ..usecases import accounts
from . import ApiBlueprint, ApiView
from .structures import structure_view

URL = ""
blp = ApiBlueprint("account", __name__, description="Votre compte et vos jetons d'API")


@blp.route("/me")
class Me(ApiView):
    @requires("account.read")
    @blp.response(200, MeSchema)
    def get(self):
        """Qui vous êtes : rôle, structure, déploiements"""
        user = current_actor().user
        return {
            "id": user.id,
            "email": user.email,
            "display_name": user.display_name,
            "role": user.role,
            "structure": structure_view(user.structure) if user.structure else None,
            "deployments": [d.name for d in user.deployments],
        }


@blp.route("/tokens")
class Tokens(ApiView):
    @requires("token.read")
    @blp.response(200, TokenSchema(many=True))
    def get(self):
        """Vos jetons d'API (jamais le jeton lui-même)"""
        return accounts.list_tokens(current_actor())

    @requires("token.create")
    @blp.arguments(TokenCreateSchema)
    @blp.response(201, TokenCreatedSchema)
    @blp.alt_response(404, description="Compte inconnu ou hors de votre périmètre")
    @blp.alt_response(422, description="Durée trop longue pour le jeton qui le demande")
    def post(self, data):
        """Crée un jeton, pour vous ou un compte de votre périmètre ; il n'est affiché qu'une fois

        Créé avec un jeton, il expire au plus tard avec lui ; on ne crée pas de jeton pour un
        rôle plus élevé que le sien.
        """
        token, record = accounts.create_token(
            current_actor(), data["name"], data.get("days"), data.get("user_id")
        )
        fields = TokenSchema().fields
        return {**{name: getattr(record, name) for name in fields}, "token": token}


@blp.route("/tokens/<int(max=2147483647):token_id>")
class TokenItem(ApiView):
    @requires("token.revoke")
    @blp.response(204)
    @blp.alt_response(404, description="Jeton inconnu")
    def delete(self, token_id):
        """Révoque un de vos jetons"""
        accounts.revoke_token(current_actor(), token_id)
        return None
