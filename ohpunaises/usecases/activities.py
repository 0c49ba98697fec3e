"""Activities on partner structures and their next steps (DESIGN §2, partner follow-up): the
coordinators note meetings, calls and committees, and each of them has an "à faire" list of
the next steps due.

A next step has a due date and, optionally, an owner: an active coordinator who reaches the
structure. An unowned next step is everyone's: it appears on the list of every coordinator
whose deployments hold the structure. The audit log keeps what changed, never the note or the
participants' names.
"""

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from .. import audit
from ..errors import Invalid, NotFound
from ..extensions import db
from ..models import Activity, Structure, User
from ..models.base import utcnow
from ..permissions import Actor, covers, restrict
from ..schemas import EARLIEST_DATE, encodable
from ..vocabulary import ACTIVITY_KINDS, ACTIVITY_STATUSES
from . import transaction
from .structures import get_structure

# The longest text each field keeps.
LENGTHS = {"participants": 500, "note": 2000, "next_step": 300}
FIELDS = ("kind", "held_on", "status", *LENGTHS, "next_step_due", "next_step_owner_id")
NEXT_STEP = ("next_step", "next_step_due", "next_step_owner_id")
AHEAD = dt.timedelta(days=366)  # how far ahead an activity may be planned, or a step fall due
RECENT = 10  # activities shown on a structure's page


@dataclass(frozen=True)
class Todo:
    """A next step due, on someone's "à faire" list."""

    activity: Activity
    days_late: int  # 0: due today

    @property
    def structure(self) -> Structure:
        return self.activity.structure


def local_today() -> dt.date:
    """Today where the programme runs (its time zone), as its team dates what it does."""
    return dt.datetime.now(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).date()


def record_activity(actor: Actor, structure_id: int, data: dict) -> Activity:
    """Note an activity with a structure the actor follows: by default a call made today
    (what a one-click "noter un appel" sends with no data at all)."""
    actor.check("activity.record")
    with transaction():
        structure = get_structure(actor, structure_id, "activity.record")
        values = {"kind": "call", "status": "done", "held_on": local_today()}
        values.update({name: data[name] for name in FIELDS if name in data})
        values = _checked(values, structure)
        activity = Activity(structure=structure, created_by_id=actor.user_id, **values)
        db.session.add(activity)
        db.session.flush()
        audit.record(actor, "activity.record", activity.id, _described(activity))
        return activity


def update_activity(actor: Actor, activity_id: int, data: dict) -> Activity:
    """Change the fields sent (its status, its date, its next step…); a new next step is open
    again even if the former one was done. `next_step_done` True marks it done, False opens it
    again."""
    actor.check("activity.record")
    with transaction():
        activity = get_activity(actor, activity_id, "activity.record")
        before = {name: getattr(activity, name) for name in FIELDS}
        values = {**before, **{name: data[name] for name in FIELDS if name in data}}
        # An owner chosen earlier stays, even one who has since left the coordination.
        new_owner = values["next_step_owner_id"] != before["next_step_owner_id"]
        values = _checked(values, activity.structure, check_owner=new_owner)
        changed = sorted(name for name in FIELDS if values[name] != before[name])
        for name in changed:
            setattr(activity, name, values[name])
        if "next_step" in changed or "next_step_due" in changed:
            activity.next_step_done_at = None
        if "next_step_done" in data and _mark_done(activity, data["next_step_done"]):
            changed.append("next_step_done")
        if changed:
            details = {**_described(activity), "fields": changed}
            audit.record(actor, "activity.update", activity.id, details)
        return activity


def complete_next_step(actor: Actor, activity_id: int) -> Activity:
    """Mark an activity's next step done (done already: nothing changes)."""
    actor.check("activity.record")
    with transaction():
        activity = get_activity(actor, activity_id, "activity.record")
        if _mark_done(activity, True):
            details = {"structure": activity.structure_id}
            audit.record(actor, "activity.next_step_done", activity.id, details)
        return activity


def get_activity(actor: Actor, activity_id: int, action: str = "activity.read") -> Activity:
    """An activity of a structure `action` reaches; NotFound whether it exists or not."""
    query = sa.select(Activity).where(Activity.id == activity_id)
    activity = db.session.scalar(restrict(query, actor, action, Activity.structure_id))
    if activity is None:
        raise NotFound()
    return activity


def list_activities(actor: Actor, structure_id: int, limit: int | None = None) -> list[Activity]:
    """A structure's activities, the most recent first."""
    actor.check("activity.read")
    structure = get_structure(actor, structure_id, "activity.read")
    query = (
        sa.select(Activity)
        .where(Activity.structure_id == structure.id)
        .order_by(Activity.held_on.desc(), Activity.id.desc())
        .limit(limit)
    )
    return db.session.scalars(query).all()


def open_next_steps(actor: Actor, structure_id: int) -> list[Activity]:
    """A structure's next steps not done yet, the soonest due first."""
    actor.check("activity.read")
    structure = get_structure(actor, structure_id, "activity.read")
    query = (
        sa.select(Activity)
        .where(Activity.structure_id == structure.id, *_open())
        .order_by(Activity.next_step_due, Activity.id)
    )
    return db.session.scalars(query).all()


def todo(actor: Actor, today: dt.date | None = None) -> list[Todo]:
    """The actor's "à faire": next steps not done, due today or overdue, theirs or nobody's,
    on the structures of their deployments; the longest overdue first."""
    actor.check("activity.read")
    today = today or local_today()
    query = (
        sa.select(Activity)
        .join(Structure, Activity.structure_id == Structure.id)
        .where(
            *_open(),
            Activity.next_step_due <= today,
            sa.or_(
                Activity.next_step_owner_id.is_(None),
                Activity.next_step_owner_id == actor.user_id,
            ),
        )
        .order_by(Activity.next_step_due, Structure.name, Activity.id)
    )
    query = restrict(query, actor, "activity.read", Activity.structure_id)
    return [Todo(a, (today - a.next_step_due).days) for a in db.session.scalars(query)]


def owner_choices(structure: Structure) -> list[User]:
    """The accounts that may own a next step on this structure: active coordinators (their
    password chosen) whose deployments hold it."""
    coordinators = db.session.scalars(
        sa.select(User)
        .where(User.role == "coordinator", User.active, User.password_hash.is_not(None))
        .order_by(User.display_name, User.email)
    ).all()
    return [user for user in coordinators if covers(Actor.of(user), "activity.record", structure)]


# Checks -----------------------------------------------------------------------------------------


def _open():
    return Activity.next_step.is_not(None), Activity.next_step_done_at.is_(None)


def _checked(values: dict, structure: Structure, check_owner: bool = True) -> dict:
    """The values cleaned (texts trimmed, empty ones None), or Invalid with every message."""
    errors = {}
    for name, maximum in LENGTHS.items():
        values[name] = _text(values.get(name), name, maximum, errors)
    if values.get("kind") not in ACTIVITY_KINDS:
        errors["kind"] = _("Choisissez le type d'activité.")
    if values.get("status") not in ACTIVITY_STATUSES:
        errors["status"] = _("Choisissez l'état de l'activité.")
    _check_held_on(values, errors)
    _check_next_step(values, structure, errors, check_owner)
    if errors:
        raise Invalid(errors=errors)
    return values


def _text(value, name: str, maximum: int, errors: dict) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    if "\x00" in value:
        errors[name] = _("Caractère nul interdit.")
    elif not encodable(value):
        errors[name] = _("Texte UTF-8 invalide.")
    elif len(value) > maximum:
        errors[name] = _("%(n)d caractères au plus.", n=maximum)
    return value or None


def _check_held_on(values: dict, errors: dict):
    held_on, today = values.get("held_on"), local_today()
    if not isinstance(held_on, dt.date):
        errors["held_on"] = _("Indiquez la date de l'activité.")
    elif held_on < EARLIEST_DATE:
        errors["held_on"] = _("La date ne peut pas être antérieure à 2000.")
    elif values.get("status") == "done" and held_on > today:
        errors["held_on"] = _("Une activité faite ne peut pas être datée dans le futur.")
    elif held_on > today + AHEAD:
        errors["held_on"] = _("La date ne peut pas dépasser d'un an la date du jour.")


def _check_next_step(values: dict, structure: Structure, errors: dict, check_owner: bool):
    step, due, owner_id = (values.get(name) for name in NEXT_STEP)
    if step is None:
        if due is not None or owner_id is not None:
            errors["next_step"] = _(
                "Décrivez la prochaine étape, ou laissez son échéance et son responsable vides."
            )
        return
    if due is None:
        errors["next_step_due"] = _("Donnez une échéance à la prochaine étape.")
    elif not EARLIEST_DATE <= due <= local_today() + AHEAD:
        errors["next_step_due"] = _("L'échéance doit tomber entre 2000 et dans un an.")
    if check_owner and owner_id is not None and owner_id not in _owner_ids(structure):
        errors["next_step_owner_id"] = _(
            "Choisissez une personne active de la coordination qui suit cette structure."
        )


def _mark_done(activity: Activity, done: bool) -> bool:
    """Mark the next step done (or open again); whether anything changed."""
    if activity.next_step is None:
        raise Invalid(errors={"next_step": _("Cette activité n'a pas de prochaine étape.")})
    if done == (activity.next_step_done_at is not None):
        return False
    activity.next_step_done_at = utcnow() if done else None
    return True


def _owner_ids(structure: Structure) -> set[int]:
    return {user.id for user in owner_choices(structure)}


def _described(activity: Activity) -> dict:
    """What the audit log keeps of an activity: never its note nor its participants."""
    return {
        "structure": activity.structure_id,
        "kind": activity.kind,
        "status": activity.status,
        "held_on": activity.held_on,
        "next_step_due": activity.next_step_due,
        "next_step_owner": activity.next_step_owner_id,
    }
