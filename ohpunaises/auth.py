"""Passwords, bearer tokens and sessions: who the request comes from, as a `permissions.Actor`."""

import copy
import datetime as dt
import functools
import hashlib
import secrets

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import g, request
from flask_login import current_user
from sqlalchemy.orm import joinedload

from . import logs
from .extensions import db, login_manager
from .models import ApiToken, User
from .models.base import utcnow
from .permissions import TABLE, Actor, allows

API_PREFIX = "/api/"

_hasher = PasswordHasher()

TOKEN_PREFIX = "ohp_"


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
    """A new bearer token for the user; the clear token is returned once and never kept.

    This only makes the record: who may ask for it, and the audit, are the use case's
    (`usecases.accounts.create_token`).
    """
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


def token_record(token: str) -> ApiToken | None:
    """The usable token record of an active user for this bearer token, or None."""
    # The user and their structure come in the same query: every API request needs them.
    record = db.session.scalar(
        sa.select(ApiToken)
        .where(ApiToken.token_hash == token_digest(token))
        .options(joinedload(ApiToken.user).joinedload(User.structure))
    )
    now = utcnow()
    if record is None or not record.is_usable(now) or not record.user.active:
        logs.event("token.refused", reason=_refusal(record, now))
        return None
    # Written at most once a minute, so that reads stay reads.
    if record.last_used_at is None or now - record.last_used_at > dt.timedelta(minutes=1):
        record.last_used_at = now
        db.session.commit()
    return record


def _refusal(record: ApiToken | None, now) -> str:
    if record is None:
        return "unknown"
    if record.revoked_at is not None:
        return "revoked"
    if not record.is_usable(now):
        return "expired"
    return "inactive_user"


def user_for_token(token: str) -> User | None:
    """The active user behind a usable bearer token."""
    record = token_record(token)
    return record.user if record is not None else None


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@login_manager.user_loader
def load_session_user(cookie_id: str) -> User | None:
    """The account a session (or remember) cookie names, while its session is current."""
    from .usecases.sessions import session_is_current

    user_id, _, token = cookie_id.partition(":")
    user = db.session.get(User, int(user_id)) if user_id.isdigit() and len(user_id) < 10 else None
    if user is None or not user.active or not session_is_current(user, token):
        return None
    return user


@login_manager.request_loader
def load_token_user(_request) -> User | None:
    """The account of a bearer token, on the API only: pages take a session, never a token."""
    token = bearer_token()
    if token is None or not request.path.startswith(API_PREFIX):
        return None
    record = token_record(token)
    if record is None:
        return None
    g.authenticated_by, g.api_token = "token", record
    return record.user


def authenticated_by_token() -> bool:
    return g.get("authenticated_by") == "token"


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, or None.

    An unknown address costs the same Argon2 verification as a known one, so that the time
    taken does not tell which addresses have an account.
    """
    user = None
    if "\x00" not in email:
        user = db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    stored = (user.password_hash if user is not None else None) or _unknown_hash()
    matches = verify_password(stored, password) and user is not None
    if not matches or not user.active:
        logs.event("login.refused", known_address=user is not None)
        return None
    user.last_login_at = utcnow()
    return user


@functools.cache
def _unknown_hash() -> str:
    """A hash of no one's password, verified in place of an unknown account's."""
    return hash_password(secrets.token_urlsafe(32))


# The request's actor ---------------------------------------------------------------------------


def current_actor() -> Actor:
    """Who the request acts for: the signed-in account (through its token if any), or the
    public."""
    if not current_user.is_authenticated:
        return Actor.public()
    if "actor" not in g:
        g.actor = Actor.of(current_user._get_current_object(), g.get("api_token"))
    return g.actor


def requires(action: str):
    """A view for signed-in accounts whose role the permission table grants `action`.

    Without an account, the sign-in page (or 401 on the API); with a role the table does not
    grant, 403. The view keeps its action in `view.permission` for the navigation and tests,
    and the OpenAPI document names it, with each role's scope, as `x-permission`.
    """

    def decorate(view):
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            current_actor().check(action)
            return view(*args, **kwargs)

        guarded.permission = action
        documented = copy.deepcopy(getattr(view, "_apidoc", {}))
        documented.setdefault("manual_doc", {})["x-permission"] = permission_doc(action)
        guarded._apidoc = documented  # read by flask-smorest on the API's views
        return guarded

    return decorate


def permission_doc(action: str) -> dict:
    """An action as the OpenAPI document gives it: its name and each granted role's scope."""
    grants = TABLE[action].grants
    return {"action": action, "roles": {role: str(scope) for role, scope in grants.items()}}


def public(action: str):
    """A view anyone may open, acting as the public whoever is signed in (`action` must be
    granted to the public): the advocacy page and the embeddable map."""
    assert allows(None, action), action

    def decorate(view):
        view.permission = action
        view.audience = "public"
        return view

    return decorate
