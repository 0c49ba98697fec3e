"""Partner follow-up: activities on a structure, their next steps, and the "à faire" list
(coordination)."""

from ..auth import current_actor, requires
from ..models import Activity
from ..schemas import ActivityCreateSchema, ActivitySchema, ActivityUpdateSchema, TodoSchema
from ..usecases import activities
from . import ApiBlueprint, ApiView

URL = ""
blp = ApiBlueprint("activities", __name__, description="Suivi des partenaires : activités")

FIELDS = (
    "id",
    "structure_id",
    "kind",
    "held_on",
    "status",
    "participants",
    "note",
    "next_step",
    "next_step_due",
    "next_step_owner_id",
    "next_step_done_at",
    "created_at",
    "updated_at",
)


def activity_view(activity: Activity) -> dict:
    return {name: getattr(activity, name) for name in FIELDS}


@blp.route("/structures/<int(max=2147483647):structure_id>/activities")
class StructureActivities(ApiView):
    @requires("activity.read")
    @blp.response(200, ActivitySchema(many=True))
    @blp.alt_response(404, description="Structure inconnue ou hors de votre périmètre")
    def get(self, structure_id):
        """Les activités d'une structure, les plus récentes d'abord"""
        found = activities.list_activities(current_actor(), structure_id)
        return [activity_view(activity) for activity in found]

    @requires("activity.record")
    @blp.arguments(ActivityCreateSchema)
    @blp.response(201, ActivitySchema)
    @blp.alt_response(404, description="Structure inconnue ou hors de votre périmètre")
    @blp.alt_response(422, description="Données invalides")
    def post(self, data, structure_id):
        """Note une activité avec une structure ; sans rien d'autre, un appel fait aujourd'hui"""
        return activity_view(activities.record_activity(current_actor(), structure_id, data))


@blp.route("/activities/<int(max=2147483647):activity_id>")
class ActivityItem(ApiView):
    @requires("activity.record")
    @blp.arguments(ActivityUpdateSchema)
    @blp.response(200, ActivitySchema)
    @blp.alt_response(404, description="Inconnue ou hors de votre périmètre")
    @blp.alt_response(422, description="Données invalides")
    def patch(self, data, activity_id):
        """Modifie une activité (son état, sa prochaine étape…) ; next_step_done la clôt"""
        return activity_view(activities.update_activity(current_actor(), activity_id, data))


@blp.route("/todo")
class Todo(ApiView):
    @requires("activity.read")
    @blp.response(200, TodoSchema(many=True))
    def get(self):
        """Vos prochaines étapes dues aujourd'hui ou en retard, et celles de l'équipe sans
        responsable, la plus en retard d'abord"""
        return [
            {
                "activity": activity_view(item.activity),
                "structure_name": item.structure.name,
                "days_late": item.days_late,
            }
            for item in activities.todo(current_actor())
        ]
