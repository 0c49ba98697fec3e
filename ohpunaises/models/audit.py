"""The audit log: who exported or changed what, and when."""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at = mapped_column(UTCDateTime, default=utcnow, nullable=False, index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(sa.String(254), default="")
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    target: Mapped[str] = mapped_column(sa.String(200), default="")
    details: Mapped[dict] = mapped_column(sa.JSON, default=dict)


class SignInThrottle(Base):
    """Failed sign-ins counted per address or per account over a window, in the database so
    that every worker and every host counts together."""

    __tablename__ = "sign_in_throttles"

    key: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    window_start = mapped_column(UTCDateTime, nullable=False)
    attempts: Mapped[int] = mapped_column(default=0)
