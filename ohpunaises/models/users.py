"""Accounts and their API tokens."""

import datetime as dt

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..vocabulary import ROLES
from .base import Base, UTCDateTime, choice, utcnow
from .deployments import user_deployments


class User(UserMixin, Base):
    """An account; `UserMixin` lets the session layer log it in."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(120), default="")
    # The language of the messages sent to the person: "fr" or "en".
    language: Mapped[str] = mapped_column(
        sa.String(8), default="fr", server_default=sa.text("'fr'")
    )
    role: Mapped[str] = mapped_column(choice(ROLES, "role"))
    structure_id: Mapped[int | None] = mapped_column(sa.ForeignKey("structures.id"), index=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    last_login_at = mapped_column(UTCDateTime)
    # What the session and remember cookies name besides the id: a new one at each sign-out,
    # so that a copied cookie dies with the session, and an end the server keeps.
    session_token: Mapped[str | None] = mapped_column(sa.String(64))
    session_expires_at = mapped_column(UTCDateTime)

    structure = relationship("Structure")
    deployments = relationship("Deployment", secondary=user_deployments)
    tokens = relationship("ApiToken", back_populates="user", cascade="all, delete-orphan")
    links = relationship(
        "AccountLink",
        back_populates="user",
        cascade="all, delete-orphan",
        foreign_keys="AccountLink.user_id",
    )

    @property
    def is_active(self):
        return self.active

    def get_id(self) -> str:
        """What the session cookie keeps: the id and the current session token."""
        return f"{self.id}:{self.session_token or ''}"

    @property
    def pending(self) -> bool:
        """Invited, and no password chosen yet."""
        return self.password_hash is None

    def __repr__(self):
        return f"<User {self.email} {self.role}>"


class ApiToken(Base):
    """A bearer token; only its SHA-256 digest is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100), default="")
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(12))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    expires_at = mapped_column(UTCDateTime)
    revoked_at = mapped_column(UTCDateTime)
    last_used_at = mapped_column(UTCDateTime)

    user = relationship("User", back_populates="tokens")

    def is_usable(self, now: dt.datetime) -> bool:
        """True while the token is neither revoked nor expired."""
        expired = self.expires_at is not None and self.expires_at <= now
        return self.revoked_at is None and not expired


LINK_PURPOSES = ("invitation", "reset")


class AccountLink(Base):
    """A single-use link sent by e-mail: an invitation to choose a first password, or a
    password reset. Only the SHA-256 digest of its secret is kept."""

    __tablename__ = "account_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(choice(LINK_PURPOSES, "purpose"))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    expires_at = mapped_column(UTCDateTime, nullable=False)
    used_at = mapped_column(UTCDateTime)
    revoked_at = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    # The last attempt to send it: when it was delivered, or why it failed.
    sent_at = mapped_column(UTCDateTime)
    send_error: Mapped[str | None] = mapped_column(sa.String(300))

    user = relationship("User", back_populates="links", foreign_keys=[user_id])
    created_by = relationship("User", foreign_keys=[created_by_id])

    def is_usable(self, now: dt.datetime) -> bool:
        """True while the link is neither used, revoked nor expired."""
        return self.used_at is None and self.revoked_at is None and self.expires_at > now
