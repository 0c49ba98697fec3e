"""Training and awareness sessions, a measure of essaimage."""

import sqlalchemy as sa
from flask_babel import gettext as _

from .. import audit
from ..errors import invalid
from ..extensions import db
from ..models import TrainingSession
from ..permissions import Actor, restrict
from ..territories import territory_by_code
from . import transaction
from .reports import structure_for


def create_training(actor: Actor, data: dict) -> TrainingSession:
    """Record a session held by a structure the actor reaches (theirs by default)."""
    actor.check("training.create")
    with transaction():
        structure = structure_for(actor, data.get("structure_id"), "training.create")
        territory = None
        if data.get("territory"):
            territory = territory_by_code(data["territory"])
            if territory is None:
                message = _("Territoire inconnu : %(code)s.", code=data["territory"])
                raise invalid("territory", message)
        training = TrainingSession(
            held_on=data["held_on"],
            structure=structure,
            territory=territory or structure.commune,
            kind=data["kind"],
            participants=data["participants"],
            notes=data.get("notes"),
            created_by_id=actor.user_id,
        )
        db.session.add(training)
        db.session.flush()
        details = {"structure": structure.id, "kind": training.kind, "held_on": training.held_on}
        audit.record(actor, "training.create", training.id, details)
        return training


def list_trainings(actor: Actor) -> list[TrainingSession]:
    """The sessions the actor's scope reaches, the most recent first."""
    query = sa.select(TrainingSession).order_by(
        TrainingSession.held_on.desc(), TrainingSession.id.desc()
    )
    query = restrict(query, actor, "training.read", TrainingSession.structure_id)
    return db.session.scalars(query).all()
