"""Training and awareness sessions."""

from ..auth import current_actor, requires
from ..models import TrainingSession
from ..schemas import TrainingCreateSchema, TrainingSchema
from ..usecases import trainings
from . import ApiBlueprint, ApiView

URL = "/trainings"
blp = ApiBlueprint("trainings", __name__, description="Formations et sensibilisations")


def training_view(training: TrainingSession) -> dict:
    view = {
        name: getattr(training, name)
        for name in ("id", "held_on", "structure_id", "kind", "participants", "notes")
    }
    view["territory"] = training.territory.code if training.territory else None
    return view


@blp.route("")
class Trainings(ApiView):
    @requires("training.read")
    @blp.response(200, TrainingSchema(many=True))
    def get(self):
        """Les sessions de votre périmètre, les plus récentes d'abord"""
        return [training_view(t) for t in trainings.list_trainings(current_actor())]

    @requires("training.create")
    @blp.arguments(TrainingCreateSchema)
    @blp.response(201, TrainingSchema)
    @blp.alt_response(422, description="Données invalides")
    def post(self, data):
        """Enregistre une session de formation ou de sensibilisation"""
        return training_view(trainings.create_training(current_actor(), data))
