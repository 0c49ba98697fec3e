"""Deployments: where the programme runs, over the territories loaded (coordination)."""

from ..auth import current_actor, requires
from ..models import Deployment
from ..schemas import (
    DeploymentCreateSchema,
    DeploymentPeopleSchema,
    DeploymentSchema,
    DeploymentSummarySchema,
    DeploymentUpdateSchema,
)
from ..usecases import deployments
from . import ApiBlueprint, ApiView

URL = "/deployments"
blp = ApiBlueprint("deployments", __name__, description="Déploiements : villes et territoires")


def deployment_view(deployment: Deployment) -> dict:
    """A deployment as the API shows it: its territories, structures counted, people."""
    return {
        "id": deployment.id,
        "name": deployment.name,
        "started_on": deployment.started_on,
        "territories": [
            {"code": t.code, "name": t.name, "level": t.level}
            for t in deployments.deployment_territories_of(deployment)
        ],
        "structures": deployments.structures_count(deployment),
        "people": [
            {"id": u.id, "email": u.email, "display_name": u.display_name, "role": u.role}
            for u in deployments.attached_people(deployment)
        ],
    }


@blp.route("")
class Deployments(ApiView):
    @requires("deployment.read")
    @blp.response(200, DeploymentSummarySchema(many=True))
    def get(self):
        """Les déploiements de votre périmètre, avec leurs territoires, structures et comptes
        rattachés comptés"""
        return deployments.list_deployments(current_actor())

    @requires("deployment.manage")
    @blp.arguments(DeploymentCreateSchema)
    @blp.response(201, DeploymentSchema)
    @blp.alt_response(409, description="Nom déjà pris, ou commune déjà dans un déploiement")
    @blp.alt_response(422, description="Données invalides (territoire inconnu…)")
    def post(self, data):
        """Ouvre un déploiement sur des territoires chargés ; les structures de ses communes
        le rejoignent"""
        created = deployments.create_deployment(
            current_actor(), data["name"], data["territories"], data.get("started_on")
        )
        return deployment_view(created)


@blp.route("/<int(max=2147483647):deployment_id>")
class DeploymentItem(ApiView):
    @requires("deployment.read")
    @blp.response(200, DeploymentSchema)
    @blp.alt_response(404, description="Inconnu ou hors de votre périmètre")
    def get(self, deployment_id):
        """Lit un déploiement"""
        return deployment_view(deployments.get_deployment(current_actor(), deployment_id))

    @requires("deployment.manage")
    @blp.arguments(DeploymentUpdateSchema)
    @blp.response(200, DeploymentSchema)
    @blp.alt_response(404, description="Inconnu ou hors de votre périmètre")
    @blp.alt_response(409, description="Nom déjà pris, ou commune déjà dans un déploiement")
    @blp.alt_response(422, description="Données invalides")
    def patch(self, data, deployment_id):
        """Modifie le nom, la date de début ou les territoires (liste entière) ; les
        structures suivent le déploiement qui couvre leur commune"""
        return deployment_view(deployments.update_deployment(current_actor(), deployment_id, data))


@blp.route("/<int(max=2147483647):deployment_id>/people")
class DeploymentPeople(ApiView):
    @requires("deployment.manage")
    @blp.arguments(DeploymentPeopleSchema)
    @blp.response(200, DeploymentSchema)
    @blp.alt_response(404, description="Déploiement ou compte inconnu ou hors de votre périmètre")
    @blp.alt_response(422, description="Compte d'une structure, ou d'un autre rôle")
    def post(self, data, deployment_id):
        """Rattache des comptes sans structure : ils ne voient plus que leurs déploiements"""
        actor = current_actor()
        deployments.attach_people(actor, deployment_id, data["user_ids"])
        return deployment_view(deployments.get_deployment(actor, deployment_id))


@blp.route("/<int(max=2147483647):deployment_id>/people/<int(max=2147483647):user_id>")
class DeploymentPerson(ApiView):
    @requires("deployment.manage")
    @blp.response(204)
    @blp.alt_response(404, description="Compte non rattaché, ou déploiement hors périmètre")
    @blp.alt_response(422, description="Le dernier déploiement du compte (il verrait tout)")
    def delete(self, deployment_id, user_id):
        """Détache un compte du déploiement"""
        deployments.detach_person(current_actor(), deployment_id, user_id)
        return None
