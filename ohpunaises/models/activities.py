"""Activities on a partner structure (meetings, calls, committees…) and their next steps."""

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..vocabulary import ACTIVITY_KINDS, ACTIVITY_STATUSES
from .base import Base, UTCDateTime, choice, utcnow


class Activity(Base):
    """Something the programme team did with a structure, and what comes next."""

    __tablename__ = "activities"

    id: Mapped[int] = mapped_column(primary_key=True)
    structure_id: Mapped[int] = mapped_column(sa.ForeignKey("structures.id"), index=True)
    kind: Mapped[str] = mapped_column(choice(ACTIVITY_KINDS, "kind"))
    held_on: Mapped[dt.date] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(choice(ACTIVITY_STATUSES, "status"))
    # Free text naming the partner's professionals met, never a household.
    participants: Mapped[str | None] = mapped_column(sa.String(500))
    note: Mapped[str | None] = mapped_column(sa.String(2000))
    next_step: Mapped[str | None] = mapped_column(sa.String(300))
    next_step_due: Mapped[dt.date | None] = mapped_column(index=True)
    next_step_owner_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    next_step_done_at = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)

    structure = relationship("Structure")
    next_step_owner = relationship("User", foreign_keys=[next_step_owner_id])
    created_by = relationship("User", foreign_keys=[created_by_id])

    @property
    def next_step_open(self) -> bool:
        """A next step is written and not done yet."""
        return self.next_step is not None and self.next_step_done_at is None
