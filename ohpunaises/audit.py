"""The audit log: who exported or changed what, and when (DESIGN §2)."""

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .extensions import db
from .models import AuditEvent, User

PAGE_SIZE = 50


def event(user: User | None, action: str, target: str = "", details: dict | None = None):
    """An audit event, not yet stored; `user` None means the command line or the system."""
    return AuditEvent(
        user_id=user.id if user is not None else None,
        actor=(user.email if user is not None else "cli")[:254],
        action=action,
        target=str(target)[:200],
        details=jsonable(details or {}),
    )


def record(user: User | None, action: str, target="", details: dict | None = None) -> AuditEvent:
    """Add an event to the current session; it is stored with the change it describes."""
    entry = event(user, action, target, details)
    db.session.add(entry)
    return entry


def record_apart(user_id, actor, action: str, target="", details=None):
    """Store an event at once in a session of its own (the end of a streamed export)."""
    entry = AuditEvent(
        user_id=user_id,
        actor=actor[:254],
        action=action,
        target=str(target)[:200],
        details=jsonable(details or {}),
    )
    with Session(db.engine) as session:
        session.add(entry)
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
