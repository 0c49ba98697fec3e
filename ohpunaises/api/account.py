"""The current account and its API tokens."""

import sqlalchemy as sa
from flask_login import current_user

from ..auth import issue_token
from ..extensions import db
from ..models import ApiToken
from ..models.base import utcnow
from ..schemas import MeSchema, TokenCreatedSchema, TokenCreateSchema, TokenSchema
from . import ApiBlueprint, ApiView
from .problems import problem
from .structures import structure_view

URL = ""
blp = ApiBlueprint("account", __name__, description="Votre compte et vos jetons d'API")


@blp.route("/me")
class Me(ApiView):
    @blp.response(200, MeSchema)
    def get(self):
        """Qui vous êtes : rôle, structure, déploiements"""
        user = current_user
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
    @blp.response(200, TokenSchema(many=True))
    def get(self):
        """Vos jetons d'API (jamais le jeton lui-même)"""
        query = sa.select(ApiToken).where(ApiToken.user_id == current_user.id)
        return db.session.scalars(query.order_by(ApiToken.id)).all()

    @blp.arguments(TokenCreateSchema)
    @blp.response(201, TokenCreatedSchema)
    def post(self, data):
        """Crée un jeton ; il n'est affiché qu'une fois"""
        token, record = issue_token(current_user._get_current_object(), data["name"], data["days"])
        db.session.commit()
        fields = TokenSchema().fields
        return {**{name: getattr(record, name) for name in fields}, "token": token}


@blp.route("/tokens/<int(max=2147483647):token_id>")
class TokenItem(ApiView):
    @blp.response(204)
    @blp.alt_response(404, description="Jeton inconnu")
    def delete(self, token_id):
        """Révoque un de vos jetons"""
        record = db.session.get(ApiToken, token_id)
        if record is None or record.user_id != current_user.id:
            return problem(404)
        record.revoked_at = record.revoked_at or utcnow()
        db.session.commit()
        return None
