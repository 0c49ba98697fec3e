"""Signing in and out of the pages.

Failed sign-ins are counted in the database, per address and per account, so that every
worker of every host counts together; past the limit, even the right password waits. A
session is tied to a token the account keeps: signing out draws a new one, so that every
cookie of the old session, the remember cookie included, stops opening anything. The token
ends on the server too: after a working day, or after REMEMBER_DAYS when the person asked
to stay signed in.
"""

import datetime as dt
import hashlib
import secrets

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.dialects import postgresql, sqlite

from .. import logs
from ..auth import authenticate
from ..errors import Invalid, Throttled
from ..extensions import db
from ..models import SignInThrottle, User
from ..models.base import utcnow
from . import transaction

ACCOUNT_WINDOW = dt.timedelta(minutes=15)
ACCOUNT_ATTEMPTS = 10
# Password-reset requests: per address, and per account (past which nothing more is sent).
RESET_LIMITS = {
    "reset_address": (10, dt.timedelta(minutes=15)),
    "reset_account": (3, dt.timedelta(hours=1)),
}
SESSION_HOURS = 12
REMEMBER_DAYS = 30


def sign_in(email: str, password: str, address: str, remember: bool) -> User:
    """The account behind this address and password, its session started; Invalid when they
    do not match, Throttled past the failures allowed (the same for every address, known
    or not)."""
    keys = _keys(email, address)
    user = None
    with transaction():
        blocked = blocked_keys(keys)
        if not blocked:
            user = authenticate(email, password)
            if user is None:
                count_attempt(keys)
            else:
                _forget(keys[1])
                start_session(user, remember)
    if blocked:
        logs.event("login.throttled")
        raise Throttled(
            _("Trop de tentatives de connexion : réessayez dans quelques minutes."),
            retry_after=int(ACCOUNT_WINDOW.total_seconds()),
        )
    if user is None:
        raise Invalid(_("Adresse ou mot de passe incorrect."))
    return user


def start_session(user: User, remember: bool):
    """Keep the account's session token (or draw one) and push its end back if need be."""
    now = utcnow()
    if user.session_token is None or _ended(user, now):
        user.session_token = secrets.token_urlsafe(32)
        user.session_expires_at = None
    lifetime = dt.timedelta(days=REMEMBER_DAYS) if remember else dt.timedelta(hours=SESSION_HOURS)
    ends = now + lifetime
    if user.session_expires_at is None or user.session_expires_at < ends:
        user.session_expires_at = ends


def session_is_current(user: User, token: str) -> bool:
    """Whether a cookie naming `token` still opens the account's session."""
    current = user.session_token
    return bool(current) and secrets.compare_digest(current, token) and not _ended(user, utcnow())


def sign_out(user_id: int):
    """End every session of the account: the token its cookies name is no longer its own."""
    with transaction():
        user = db.session.get(User, user_id)
        if user is not None:
            user.session_token, user.session_expires_at = None, None


def _ended(user: User, now) -> bool:
    return user.session_expires_at is None or user.session_expires_at <= now


# Failed sign-ins ------------------------------------------------------------------------------


def _keys(email: str, address: str, kind: str = "") -> tuple[str, str]:
    """The counters of an address and of an account (`kind` "reset_": of reset requests)."""
    account = hashlib.sha256(email.strip().lower().encode("utf-8", "replace")).hexdigest()
    return f"{kind}address:{address}"[:100], f"{kind}account:{account[:40]}"


def reset_keys(email: str, address: str) -> tuple[str, str]:
    return _keys(email, address, "reset_")


def _limits() -> dict[str, tuple[int, dt.timedelta]]:
    attempts, seconds = current_app.config["LOGIN_LIMIT"]  # OHPUNAISES_RATELIMIT_LOGIN
    return {
        "address": (attempts, dt.timedelta(seconds=seconds)),
        "account": (ACCOUNT_ATTEMPTS, ACCOUNT_WINDOW),
        **RESET_LIMITS,
    }


def blocked_keys(keys) -> list[str]:
    """The keys among `keys` past their limit (none: go ahead)."""
    now, limits = utcnow(), _limits()
    rows = db.session.execute(
        sa.select(SignInThrottle.key, SignInThrottle.window_start, SignInThrottle.attempts).where(
            SignInThrottle.key.in_(keys)
        )
    )
    blocked = []
    for key, start, attempts in rows:
        limit, window = limits[key.split(":", 1)[0]]
        if start > now - window and attempts >= limit:
            blocked.append(key)
    return blocked


def count_attempt(keys):
    """One more attempt for each key, in one statement each, whatever else runs at once."""
    now, limits = utcnow(), _limits()
    insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    for key in keys:
        _limit, window = limits[key.split(":", 1)[0]]
        expired = SignInThrottle.window_start <= now - window
        statement = insert(SignInThrottle).values(key=key, window_start=now, attempts=1)
        excluded = statement.excluded
        db.session.execute(
            statement.on_conflict_do_update(
                index_elements=[SignInThrottle.key],
                set_={
                    "attempts": sa.case((expired, 1), else_=SignInThrottle.attempts + 1),
                    "window_start": sa.case(
                        (expired, excluded.window_start), else_=SignInThrottle.window_start
                    ),
                },
            )
        )
    old = now - dt.timedelta(days=1)
    db.session.execute(sa.delete(SignInThrottle).where(SignInThrottle.window_start < old))


def _forget(key: str):
    db.session.execute(sa.delete(SignInThrottle).where(SignInThrottle.key == key))
