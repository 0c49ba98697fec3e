"""Partner structures: coordinators create and edit them within their deployments; every
account reads the structures its scope reaches."""

import datetime as dt

import sqlalchemy as sa
from flask_babel import gettext as _

from .. import audit
from ..cadence import local_today
from ..errors import NotFound, invalid
from ..extensions import db
from ..models import StageChange, Structure, Territory, User
from ..permissions import Actor, covers, structures_within
from ..territories import deployment_covering, territory_by_code
from ..vocabulary import BEFORE_AGREEMENT
from . import transaction
from .accounts import stop_access

CONTACT_FIELDS = ("contact_name", "contact_function", "contact_email", "contact_phone")
FOLLOW_UP_FIELDS = ("reporting_cadence", "reminders_opted_out")
FIELDS = (
    "name",
    "kind",
    "onboarded_on",
    "trained_on",
    "active",
    *CONTACT_FIELDS,
    *FOLLOW_UP_FIELDS,
)
STAGES_AT_CREATION = (*BEFORE_AGREEMENT, "agreement")


def new_structure(name: str, kind: str, commune: Territory, **fields) -> Structure:
    """A structure based in `commune`, attached to the deployment that covers it (not stored);
    it joined today unless `onboarded_on` says otherwise (None: not yet)."""
    fields.setdefault("onboarded_on", dt.date.today())
    structure = Structure(name=name, kind=kind, **fields)
    move(structure, commune)
    db.session.add(structure)
    return structure


def move(structure: Structure, commune: Territory):
    """A new home commune takes the structure to the deployment that covers it."""
    structure.commune = commune
    structure.deployment = deployment_covering(commune)


def create_structure(actor: Actor, data: dict, demo: bool = False) -> Structure:
    """A new partner structure: by default one that joined today (its agreement signed), or
    a prospect (`stage` prospect, contacted or met) that has not joined yet; `demo` marks the
    synthetic ones."""
    actor.check("structure.create")
    with transaction():
        commune = home_commune(data["commune"])
        stage = data.get("stage") or "agreement"
        if stage not in STAGES_AT_CREATION:
            raise invalid("stage", _("Une nouvelle structure est prospect ou conventionnée."))
        fields = {name: data[name] for name in FIELDS[2:] if name in data}
        if stage in BEFORE_AGREEMENT:
            fields["onboarded_on"] = None
        else:
            fields.setdefault("onboarded_on", dt.date.today())
        structure = new_structure(data["name"], data["kind"], commune, is_demo=demo, **fields)
        _check_reach(actor, "structure.create", structure)
        add_stage(actor, structure, stage, fields["onboarded_on"] or local_today())
        db.session.flush()
        audit.record(actor, "structure.create", structure.id, _described(structure))
        return structure


def update_structure(actor: Actor, structure_id: int, data: dict) -> Structure:
    """Change the fields sent; a new home commune moves the structure to its deployment."""
    actor.check("structure.update")
    with transaction():
        structure = get_structure(actor, structure_id, "structure.update")
        commune = home_commune(data["commune"]) if "commune" in data else None
        for name in FIELDS:
            if name in data and name != "active":
                setattr(structure, name, data[name])
        if "active" in data:
            _set_active(actor, structure, data["active"])
        if commune is not None:
            move(structure, commune)
            _check_reach(actor, "structure.update", structure)
        changed = sorted(data)
        audit.record(actor, "structure.update", structure.id, {"fields": changed})
        return structure


def set_structure_active(actor: Actor, structure_id: int, active: bool) -> tuple[Structure, int]:
    """Deactivate a structure that left the programme, with its accounts (their sessions and
    tokens stop), or reactivate it (its accounts stay as they are, to reactivate one by one).
    Returns the structure and how many accounts were deactivated with it."""
    actor.check("structure.update")
    with transaction():
        structure = get_structure(actor, structure_id, "structure.update")
        stopped = _set_active(actor, structure, active)
        return structure, len(stopped)


def _set_active(actor: Actor, structure: Structure, active: bool) -> list[int]:
    if structure.active == active:
        return []
    structure.active = active
    add_stage(actor, structure, "agreement" if active else "left", local_today())
    stopped = []
    if not active:
        people = db.session.scalars(
            sa.select(User).where(User.structure_id == structure.id, User.active)
        ).all()
        for user in people:
            stop_access(user)
            user.active = False
            stopped.append(user.id)
    action = "structure.activate" if active else "structure.deactivate"
    audit.record(actor, action, structure.id, {"accounts_deactivated": stopped})
    return stopped


def add_stage(actor: Actor, structure: Structure, stage: str, effective_on: dt.date):
    """Record the structure's stage from that day, in its history (no commit)."""
    structure.stage = stage
    change = StageChange(
        structure=structure, stage=stage, effective_on=effective_on, recorded_by_id=actor.user_id
    )
    db.session.add(change)


def list_structures(actor: Actor) -> list[Structure]:
    """The structures the actor's scope reaches, by name."""
    query = sa.select(Structure).where(structures_within(actor, "structure.read"))
    return db.session.scalars(query.order_by(Structure.name)).all()


def get_structure(actor: Actor, structure_id: int, action: str = "structure.read") -> Structure:
    """A structure `action` reaches for the actor; NotFound whether it exists or not."""
    query = sa.select(Structure).where(
        Structure.id == structure_id, structures_within(actor, action)
    )
    structure = db.session.scalar(query)
    if structure is None:
        raise NotFound()
    return structure


def home_commune(code: str) -> Territory:
    commune = territory_by_code(code, "commune")
    if commune is None:
        raise invalid("commune", _("Commune inconnue : %(code)s.", code=code))
    return commune


def _check_reach(actor: Actor, action: str, structure: Structure):
    if not covers(actor, action, structure):
        raise invalid("commune", _("Cette commune n'est dans aucun de vos déploiements."))


def _described(structure: Structure) -> dict:
    return {
        "name": structure.name,
        "kind": structure.kind,
        "commune": structure.commune.code,
        "deployment": structure.deployment_id,
    }
