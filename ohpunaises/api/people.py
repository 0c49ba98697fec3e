"""People: accounts and invitations, for coordinators (their deployments') and partner
admins (their structure's agents)."""

from flask import request

from ..auth import current_actor, requires
from ..schemas import (
    InvitationCreateSchema,
    InvitationSchema,
    TokenSchema,
    UserSchema,
    UserUpdateSchema,
)
from ..usecases import people
from . import ApiBlueprint, ApiView

URL = ""
blp = ApiBlueprint("people", __name__, description="Personnes : comptes et invitations")


def user_view(user) -> dict:
    view = {name: getattr(user, name) for name in UserSchema().fields if hasattr(user, name)}
    view["deployments"] = sorted(d.id for d in user.deployments)
    view["status"] = "inactive" if not user.active else "pending" if user.pending else "active"
    return view


def invitation_view(sent: people.Sent) -> dict:
    return {
        "user": user_view(sent.user),
        "expires_at": sent.link.expires_at,
        "sent": sent.error is None,
        "error": sent.error,
        "link": sent.url if sent.show_link else None,
    }


@blp.route("/users")
class Users(ApiView):
    @requires("user.read")
    @blp.response(200, UserSchema(many=True))
    def get(self):
        """Les comptes de votre périmètre (filtres : role, status, structure_id, q)"""
        args = request.args
        raw = args.get("structure_id", "")
        filters = {
            "role": args.get("role"),
            "status": args.get("status"),
            "search": args.get("q", "")[:100],
            "structure_id": int(raw) if raw.isdigit() and len(raw) < 10 else None,
        }
        return [user_view(user) for user in people.list_people(current_actor(), filters)]


@blp.route("/users/<int(max=2147483647):user_id>")
class UserItem(ApiView):
    @requires("user.read")
    @blp.response(200, UserSchema)
    @blp.alt_response(404, description="Inconnu ou hors de votre périmètre")
    def get(self, user_id):
        """Lit un compte"""
        return user_view(people.get_person(current_actor(), user_id))

    @requires("user.update")
    @blp.arguments(UserUpdateSchema)
    @blp.response(200, UserSchema)
    @blp.alt_response(404, description="Inconnu ou hors de votre périmètre")
    @blp.alt_response(409, description="Le dernier compte de coordination actif")
    @blp.alt_response(422, description="Données invalides")
    def patch(self, data, user_id):
        """Change le rôle d'un compte, le désactive (sessions et jetons arrêtés) ou le réactive"""
        return user_view(people.update_person(current_actor(), user_id, data))


@blp.route("/users/<int(max=2147483647):user_id>/tokens")
class UserTokens(ApiView):
    @requires("token.read")
    @blp.response(200, TokenSchema(many=True))
    @blp.alt_response(404, description="Inconnu ou hors de votre périmètre")
    def get(self, user_id):
        """Les jetons d'API d'un compte de votre périmètre (jamais le jeton lui-même) ; ils se
        révoquent par DELETE /tokens/{id}"""
        user = people.get_person(current_actor(), user_id, "token.read")
        return sorted(user.tokens, key=lambda token: token.id)


@blp.route("/invitations")
class Invitations(ApiView):
    @requires("user.create")
    @blp.arguments(InvitationCreateSchema)
    @blp.response(201, InvitationSchema)
    @blp.alt_response(409, description="Adresse déjà utilisée, ou invitation déjà en attente")
    @blp.alt_response(422, description="Données invalides")
    def post(self, data):
        """Invite une personne : son compte est créé et un lien lui est envoyé (7 jours)

        Un envoi échoué ne perd rien : `sent` vaut false, `error` dit pourquoi, et
        l'invitation se renvoie par POST /users/{id}/invitation.
        """
        actor = current_actor()
        sent = people.invite(actor, data, people.public_address(request.url_root))
        return invitation_view(sent)


@blp.route("/users/<int(max=2147483647):user_id>/invitation")
class InvitationItem(ApiView):
    @requires("user.update")
    @blp.response(201, InvitationSchema)
    @blp.alt_response(409, description="Aucune invitation en attente")
    def post(self, user_id):
        """Renvoie l'invitation avec un nouveau lien ; les anciens ne servent plus"""
        actor = current_actor()
        sent = people.resend_invitation(actor, user_id, people.public_address(request.url_root))
        return invitation_view(sent)

    @requires("user.update")
    @blp.response(204)
    @blp.alt_response(409, description="Aucune invitation en attente")
    def delete(self, user_id):
        """Retire l'invitation : son lien ne sert plus et le compte reste inactif"""
        people.revoke_invitation(current_actor(), user_id)
        return None
