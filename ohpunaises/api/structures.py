"""Partner structures: coordinators manage them, others read their own."""

from ..auth import current_actor, requires
from ..models import Structure
from ..schemas import StructureCreateSchema, StructureSchema, StructureUpdateSchema
from ..usecases import structures
from ..usecases.structures import CONTACT_FIELDS
from . import ApiBlueprint, ApiView

URL = "/structures"
blp = ApiBlueprint("structures", __name__, description="Structures partenaires")


def structure_view(structure: Structure, contact: bool = False) -> dict:
    """A structure as the API shows it; its contact person only with `contact` (those who
    manage partners)."""
    view = {
        name: getattr(structure, name)
        for name in ("id", "name", "kind", "onboarded_on", "trained_on", "active", "is_demo")
    }
    view["commune"] = structure.commune.code
    view["deployment"] = structure.deployment.name if structure.deployment else None
    if contact:
        view["contact"] = {
            name.removeprefix("contact_"): getattr(structure, name) for name in CONTACT_FIELDS
        }
    return view


def _shown(structure: Structure) -> dict:
    return structure_view(structure, contact=current_actor().may("structure.update"))


@blp.route("")
class Structures(ApiView):
    @requires("structure.read")
    @blp.response(200, StructureSchema(many=True))
    def get(self):
        """Les structures visibles : toutes pour la coordination, la sienne sinon"""
        return [_shown(s) for s in structures.list_structures(current_actor())]

    @requires("structure.create")
    @blp.arguments(StructureCreateSchema)
    @blp.response(201, StructureSchema)
    @blp.alt_response(422, description="Données invalides")
    def post(self, data):
        """Crée une structure partenaire (coordination)"""
        return _shown(structures.create_structure(current_actor(), data))


@blp.route("/<int(max=2147483647):structure_id>")
class StructureItem(ApiView):
    @requires("structure.read")
    @blp.response(200, StructureSchema)
    @blp.alt_response(404, description="Inconnue ou hors de votre périmètre")
    def get(self, structure_id):
        """Lit une structure"""
        return _shown(structures.get_structure(current_actor(), structure_id))

    @requires("structure.update")
    @blp.arguments(StructureUpdateSchema)
    @blp.response(200, StructureSchema)
    @blp.alt_response(404, description="Inconnue ou hors de votre périmètre")
    @blp.alt_response(422, description="Données invalides")
    def patch(self, data, structure_id):
        """Modifie une structure (coordination)"""
        return _shown(structures.update_structure(current_actor(), structure_id, data))
