"""Partner structures: coordinators manage them, others read their own."""

from ..auth import current_actor, requires
from ..cadence import Record, records
from ..models import Structure
from ..schemas import (
    DeclarationSchema,
    NothingToReportSchema,
    StageChangeSchema,
    StageSchema,
    StructureCreateSchema,
    StructureSchema,
    StructureUpdateSchema,
)
from ..usecases import pipeline, structures
from ..usecases.structures import CONTACT_FIELDS
from ..vocabulary import STAGES
from . import ApiBlueprint, ApiView

URL = "/structures"
blp = ApiBlueprint("structures", __name__, description="Structures partenaires")


SHOWN = ("id", "name", "kind", "onboarded_on", "trained_on", "active", "is_demo")


def structure_view(structure: Structure, record: Record | None = None) -> dict:
    """A structure as the API shows it; with its `record`, its contact person and follow-up
    (for those who manage partners)."""
    view = {name: getattr(structure, name) for name in SHOWN}
    view["reporting_cadence"] = structure.reporting_cadence
    view["commune"] = structure.commune.code
    view["deployment"] = structure.deployment.name if structure.deployment else None
    if record is not None:
        view["contact"] = {
            name.removeprefix("contact_"): getattr(structure, name) for name in CONTACT_FIELDS
        }
        view["follow_up"] = _follow_up(record)
    return view


def _follow_up(record: Record) -> dict:
    return {
        "stage": record.stage,
        "recorded_stage": record.structure.stage,
        "reminders_opted_out": record.structure.reminders_opted_out,
        "first_report": record.first_report,
        "last_report": record.last_report,
        "periods_missed": len(record.missed_in_a_row()) if record.following else 0,
        "late": record.late,
        "silent": record.silent,
    }


def _shown_all(found: list[Structure]) -> list[dict]:
    if not current_actor().may("structure.update"):
        return [structure_view(structure) for structure in found]
    return [structure_view(record.structure, record) for record in records(found)]


def _shown(structure: Structure) -> dict:
    return _shown_all([structure])[0]


@blp.route("")
class Structures(ApiView):
    @requires("structure.read")
    @blp.response(200, StructureSchema(many=True))
    def get(self):
        """Les structures visibles : toutes pour la coordination, la sienne sinon"""
        return _shown_all(structures.list_structures(current_actor()))

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


@blp.route("/<int(max=2147483647):structure_id>/stage")
class StructureStage(ApiView):
    @requires("structure.update")
    @blp.arguments(StageSchema)
    @blp.response(200, StructureSchema)
    @blp.alt_response(404, description="Inconnue ou hors de votre périmètre")
    @blp.alt_response(422, description="Étape impossible")
    def post(self, data, structure_id):
        """Note l'étape atteinte par une structure (coordination) ; formée, active et
        silencieuse se déduisent des données"""
        actor = current_actor()
        structure = pipeline.record_stage(
            actor, structure_id, data["stage"], data.get("effective_on")
        )
        return _shown(structure)


@blp.route("/<int(max=2147483647):structure_id>/stages")
class StructureStages(ApiView):
    @requires("activity.read")
    @blp.response(200, StageChangeSchema(many=True))
    @blp.alt_response(404, description="Inconnue ou hors de votre périmètre")
    def get(self, structure_id):
        """L'historique des étapes notées, la plus récente d'abord (coordination)"""
        return [
            {
                "stage": change.stage,
                "label": str(STAGES[change.stage]),
                "effective_on": change.effective_on,
                "recorded_by": change.recorded_by.email if change.recorded_by else None,
                "recorded_at": change.recorded_at,
            }
            for change in pipeline.stage_history(current_actor(), structure_id)
        ]


@blp.route("/<int(max=2147483647):structure_id>/nothing-to-report")
class NothingToReport(ApiView):
    @requires("reporting.declare")
    @blp.arguments(NothingToReportSchema)
    @blp.response(201, DeclarationSchema)
    @blp.alt_response(200, schema=DeclarationSchema, description="Déjà déclarée")
    @blp.alt_response(404, description="Inconnue ou hors de votre périmètre")
    @blp.alt_response(409, description="La période compte déjà des signalements")
    @blp.alt_response(422, description="Période invalide")
    def post(self, data, structure_id):
        """Déclare « rien à signaler » pour une période : la période est renseignée"""
        made = pipeline.declare_nothing_to_report(current_actor(), structure_id, data.get("period"))
        declaration = made.declaration
        body = {
            "structure_id": declaration.structure_id,
            "period": made.period.name,
            "period_start": declaration.period_start,
            "period_end": declaration.period_end,
            "declared_at": declaration.declared_at,
        }
        return body, 201 if made.created else 200
