"""Training and awareness sessions, a measure of essaimage."""

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..vocabulary import TRAINING_KINDS
from .base import Base, UTCDateTime, choice, record_key_column, utcnow


class TrainingSession(Base):
    __tablename__ = "training_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    held_on: Mapped[dt.date] = mapped_column(index=True)
    structure_id: Mapped[int | None] = mapped_column(sa.ForeignKey("structures.id"), index=True)
    territory_id: Mapped[int | None] = mapped_column(sa.ForeignKey("territories.id"))
    kind: Mapped[str] = mapped_column(choice(TRAINING_KINDS, "kind"))
    participants: Mapped[int]
    notes: Mapped[str | None] = mapped_column(sa.String(500))
    record_key: Mapped[int] = record_key_column()
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    structure = relationship("Structure")
    territory = relationship("Territory")
