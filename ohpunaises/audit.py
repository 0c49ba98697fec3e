"""The audit log (DESIGN §2): who exported or changed what, and when; every export and every
administrative change is in it."""

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .extensions import db
from .models import AuditEvent
from .permissions import Actor

PAGE_SIZE = 50


def event(actor: Actor | None, action: str, target="", details: dict | None = None) -> AuditEvent:
    """An audit event, not yet stored; `actor` None means the system itself."""
    return AuditEvent(
        user_id=actor.user_id if actor is not None else None,
        actor=(actor.label if actor is not None else "system")[:254],
        action=action,
        target=str(target)[:200],
        details=jsonable(details or {}),
    )


def record(actor: Actor | None, action: str, target="", details: dict | None = None) -> AuditEvent:
    """Add an event to the current session; it is stored with the change it describes."""
    entry = event(actor, action, target, details)
    db.session.add(entry)
    return entry


def record_apart(actor: Actor | None, action: str, target="", details=None):
    """Store an event at once in a session of its own (the end of a streamed export)."""
    with Session(db.engine) as session:
        session.add(event(actor, action, target, details))
        session.commit()


def jsonable(value):
    """Filters and figures as JSON: dates and UUIDs as text."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def page(number: int, size: int = PAGE_SIZE) -> tuple[list[AuditEvent], int]:
    """One page of the log, newest first, and the number of pages."""
    total = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    events = db.session.scalars(
        sa.select(AuditEvent)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(size)
        .offset((number - 1) * size)
    ).all()
    return events, max(1, -(-total // size))
