"""Partner follow-up beside activities: stage history, "rien à signaler" declarations and the
reminders sent (DESIGN §2)."""

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..vocabulary import CADENCES, RECORDED_STAGES
from .base import Base, UTCDateTime, choice, utcnow

REMINDER_STATUSES = ("pending", "sent", "failed")


class StageChange(Base):
    """A stage the team recorded for a structure: who, when, from which date."""

    __tablename__ = "stage_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    structure_id: Mapped[int] = mapped_column(sa.ForeignKey("structures.id"), index=True)
    stage: Mapped[str] = mapped_column(choice(RECORDED_STAGES, "stage"))
    effective_on: Mapped[dt.date]
    recorded_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    recorded_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    structure = relationship("Structure")
    recorded_by = relationship("User")


class NothingToReport(Base):
    """A structure's declaration that it had no intervention to report in a period."""

    __tablename__ = "nothing_to_report"
    __table_args__ = (sa.UniqueConstraint("structure_id", "period_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    structure_id: Mapped[int] = mapped_column(sa.ForeignKey("structures.id"), index=True)
    cadence: Mapped[str] = mapped_column(choice(CADENCES, "cadence"))
    period_start: Mapped[dt.date]
    period_end: Mapped[dt.date]
    declared_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    declared_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class Reminder(Base):
    """One reminder, sent once: `key` says which (level, structure or coordinator, period).

    It is stored as pending before its message leaves, then marked sent or failed, so that
    a failure is retried by the next run and an accepted message is never sent again.
    """

    __tablename__ = "reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(120), unique=True)
    level: Mapped[int]
    structure_id: Mapped[int | None] = mapped_column(sa.ForeignKey("structures.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    period_start: Mapped[dt.date]
    recipients: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(choice(REMINDER_STATUSES, "status"))
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(sa.String(300))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    sent_at = mapped_column(UTCDateTime)

    structure = relationship("Structure")
