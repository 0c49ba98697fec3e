"""Partner structures: coordinators manage them, others read their own."""

import datetime as dt

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_login import current_user

from ..auth import STRUCTURE_MANAGERS, require_role, scope_structures
from ..extensions import db
from ..models import Structure, Territory
from ..schemas import StructureCreateSchema, StructureSchema, StructureUpdateSchema
from ..territories import deployment_covering, territory_by_code
from . import ApiBlueprint, ApiView
from .problems import problem

URL = "/structures"
blp = ApiBlueprint("structures", __name__, description="Structures partenaires")


def structure_view(structure: Structure) -> dict:
    view = {
        name: getattr(structure, name)
        for name in ("id", "name", "kind", "onboarded_on", "trained_on", "active", "is_demo")
    }
    view["commune"] = structure.commune.code
    view["deployment"] = structure.deployment.name if structure.deployment else None
    return view


def unknown_commune(code):
    return problem(
        422, errors=[{"field": "commune", "message": _("Commune inconnue : %(code)s.", code=code)}]
    )


def commune_by_code(code: str) -> Territory | None:
    return territory_by_code(code, "commune")


def apply(structure: Structure, data: dict):
    """Copy the fields sent; a new home commune moves the structure to its deployment."""
    for name in ("name", "kind", "onboarded_on", "trained_on", "active"):
        if name in data:
            setattr(structure, name, data[name])
    if "commune" in data:
        structure.commune = commune_by_code(data["commune"])
        structure.deployment = deployment_covering(structure.commune)


@blp.route("")
class Structures(ApiView):
    @blp.response(200, StructureSchema(many=True))
    def get(self):
        """Les structures visibles : toutes pour la coordination, la sienne sinon"""
        query = scope_structures(sa.select(Structure).order_by(Structure.name), current_user)
        return [structure_view(s) for s in db.session.scalars(query)]

    @blp.arguments(StructureCreateSchema)
    @blp.response(201, StructureSchema)
    @blp.alt_response(422, description="Données invalides")
    def post(self, data):
        """Crée une structure partenaire (coordination)"""
        require_role(*STRUCTURE_MANAGERS)
        if commune_by_code(data["commune"]) is None:
            return unknown_commune(data["commune"])
        structure = Structure(onboarded_on=data.get("onboarded_on") or dt.date.today())
        apply(structure, data)
        db.session.add(structure)
        db.session.commit()
        return structure_view(structure)


@blp.route("/<int(max=2147483647):structure_id>")
class StructureItem(ApiView):
    @blp.response(200, StructureSchema)
    @blp.alt_response(404, description="Inconnue ou hors de votre périmètre")
    def get(self, structure_id):
        """Lit une structure"""
        structure = visible_structure(structure_id)
        return problem(404) if structure is None else structure_view(structure)

    @blp.arguments(StructureUpdateSchema)
    @blp.response(200, StructureSchema)
    @blp.alt_response(404, description="Inconnue ou hors de votre périmètre")
    @blp.alt_response(422, description="Données invalides")
    def patch(self, data, structure_id):
        """Modifie une structure (coordination)"""
        require_role(*STRUCTURE_MANAGERS)
        structure = visible_structure(structure_id)
        if structure is None:
            return problem(404)
        if "commune" in data and commune_by_code(data["commune"]) is None:
            return unknown_commune(data["commune"])
        apply(structure, data)
        db.session.commit()
        return structure_view(structure)


def visible_structure(structure_id: int) -> Structure | None:
    query = sa.select(Structure).where(Structure.id == structure_id)
    return db.session.scalar(scope_structures(query, current_user))
