"""Passwords, tokens, sessions, and the one place where roles scope what a user reaches."""

import datetime as dt
import hashlib
import secrets

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import g, request
from flask_login import current_user
from sqlalchemy.orm import joinedload

from .extensions import db, login_manager
from .models import ApiToken, Report, Structure, TrainingSession, User
from .models.base import utcnow

_hasher = PasswordHasher()

REPORT_READERS = ("agent", "partner_admin", "coordinator")
REPORT_WRITERS = ("agent", "partner_admin", "coordinator")
STRUCTURE_MANAGERS = ("coordinator",)
TOKEN_PREFIX = "ohp_"


class Forbidden(Exception):
    """The user's role does not give access to this operation."""


# Passwords and tokens ----------------------------------------------------------------------


def hash_password(password: str) -> str:
    """An Argon2id hash of the password."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches the stored hash."""
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User, name: str = "", days: int | None = 365) -> tuple[str, ApiToken]:
    """A new bearer token for the user; the clear token is returned once and never kept."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = utcnow() + dt.timedelta(days=days) if days else None
    record = ApiToken(
        user=user,
        name=name,
        token_hash=token_digest(token),
        prefix=token[: len(TOKEN_PREFIX) + 6],
        expires_at=expires,
    )
    db.session.add(record)
    return token, record


def user_for_token(token: str) -> User | None:
    """The active user behind a usable bearer token."""
    # The user and their structure come in the same query: every API request needs them.
    record = db.session.scalar(
        sa.select(ApiToken)
        .where(ApiToken.token_hash == token_digest(token))
        .options(joinedload(ApiToken.user).joinedload(User.structure))
    )
    now = utcnow()
    if record is None or not record.is_usable(now) or not record.user.active:
        return None
    # Written at most once a minute, so that reads stay reads.
    if record.last_used_at is None or now - record.last_used_at > dt.timedelta(minutes=1):
        record.last_used_at = now
        db.session.commit()
    return record.user


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@login_manager.user_loader
def load_session_user(user_id: str) -> User | None:
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    return user if user is not None and user.active else None


@login_manager.request_loader
def load_token_user(_request) -> User | None:
    token = bearer_token()
    if token is None:
        return None
    user = user_for_token(token)
    if user is not None:
        g.authenticated_by = "token"
    return user


def authenticated_by_token() -> bool:
    return g.get("authenticated_by") == "token"


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, or None."""
    if "\x00" in email:
        return None
    user = db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user is None or not user.active or not verify_password(user.password_hash, password):
        return None
    user.last_login_at = utcnow()
    return user


# Roles and scopes ----------------------------------------------------------------------------


def require_role(*roles: str) -> User:
    """The current user, if their role is one of `roles`; Forbidden otherwise."""
    if current_user.role not in roles:
        raise Forbidden(current_user.role)
    return current_user._get_current_object()


def deployment_ids(user: User) -> list[int] | None:
    """The deployments a user is restricted to, or None for all of them."""
    return [d.id for d in user.deployments] or None


def scope_reports(query, user: User):
    """Restrict a query on reports to what the user may read individually."""
    if user.role == "coordinator":
        deployments = deployment_ids(user)
        if deployments is None:
            return query
        in_deployments = sa.select(Structure.id).where(Structure.deployment_id.in_(deployments))
        return query.where(Report.structure_id.in_(in_deployments))
    if user.role in ("agent", "partner_admin"):
        return query.where(Report.structure_id == user.structure_id)
    return query.where(sa.false())


def scope_structures(query, user: User):
    """Coordinators see every structure of their deployments; others their own."""
    if user.role == "coordinator":
        deployments = deployment_ids(user)
        return (
            query if deployments is None else query.where(Structure.deployment_id.in_(deployments))
        )
    return query.where(Structure.id == user.structure_id)


def scope_trainings(query, user: User):
    """Training sessions follow the scope of the structures that ran them."""
    if user.role == "coordinator":
        deployments = deployment_ids(user)
        if deployments is None:
            return query
        in_deployments = sa.select(Structure.id).where(Structure.deployment_id.in_(deployments))
        return query.where(TrainingSession.structure_id.in_(in_deployments))
    return query.where(TrainingSession.structure_id == user.structure_id)


def may_write_for(user: User, structure: Structure) -> bool:
    """Whether the user may create or edit records on behalf of this structure."""
    if user.role == "coordinator":
        deployments = deployment_ids(user)
        return deployments is None or structure.deployment_id in deployments
    return user.role in REPORT_WRITERS and structure.id == user.structure_id
