"""Training and awareness sessions."""

import sqlalchemy as sa
from flask_babel import gettext as _

from ..auth import REPORT_WRITERS, require_role, scope_trainings
from ..extensions import db
from ..models import TrainingSession
from ..reports import ReportError, structure_for
from ..schemas import TrainingCreateSchema, TrainingSchema
from ..territories import territory_by_code
from . import ApiBlueprint, ApiView
from .problems import problem

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
    @blp.response(200, TrainingSchema(many=True))
    def get(self):
        """Les sessions de votre périmètre, les plus récentes d'abord"""
        user = require_role(*REPORT_WRITERS)
        query = sa.select(TrainingSession).order_by(
            TrainingSession.held_on.desc(), TrainingSession.id.desc()
        )
        return [training_view(t) for t in db.session.scalars(scope_trainings(query, user))]

    @blp.arguments(TrainingCreateSchema)
    @blp.response(201, TrainingSchema)
    @blp.alt_response(422, description="Données invalides")
    def post(self, data):
        """Enregistre une session de formation ou de sensibilisation"""
        user = require_role(*REPORT_WRITERS)
        try:
            structure = structure_for(data.get("structure_id"), user)
        except ReportError as error:
            return problem(error.status, errors=error.field_errors())
        territory = None
        if data.get("territory"):
            territory = territory_by_code(data["territory"])
            if territory is None:
                message = _("Territoire inconnu : %(code)s.", code=data["territory"])
                return problem(422, errors=[{"field": "territory", "message": message}])
        training = TrainingSession(
            held_on=data["held_on"],
            structure=structure,
            territory=territory or structure.commune,
            kind=data["kind"],
            participants=data["participants"],
            notes=data.get("notes"),
            created_by_id=user.id,
        )
        db.session.add(training)
        db.session.commit()
        return training_view(training)
