"""Accounts and their API tokens.

Nobody hands out more than they hold: an account is created, and a token minted, only for a
role that does not outrank the actor's, within the actor's scope; and a token never mints a
token that outlives it.
"""

import datetime as dt
import secrets

import sqlalchemy as sa
from flask_babel import gettext as _

from .. import audit
from ..auth import hash_password, issue_token
from ..errors import Forbidden, NotFound, invalid
from ..extensions import db
from ..models import ApiToken, Structure, User
from ..models.base import utcnow
from ..permissions import Actor, Scope, covers, outranks, users_within
from . import transaction

DEFAULT_TOKEN_DAYS = 365
STRUCTURE_ROLES = ("agent", "partner_admin")


def create_user(
    actor: Actor,
    email: str,
    role: str,
    structure_id: int | None = None,
    password: str | None = None,
    display_name: str = "",
) -> tuple[User, str | None]:
    """A new account; (user, the password drawn at random when none was given)."""
    actor.check("user.create")
    with transaction():
        email = email.strip().lower()
        if "@" not in email or db.session.scalar(sa.select(User.id).where(User.email == email)):
            raise invalid("email", _("Adresse invalide ou déjà utilisée : %(email)s.", email=email))
        if outranks(actor.role, role):
            raise Forbidden()
        structure = db.session.get(Structure, structure_id) if structure_id else None
        if role in STRUCTURE_ROLES and structure is None:
            raise invalid("structure", _("Ce rôle demande une structure existante (--structure)."))
        if structure is not None and not covers(actor, "user.create", structure):
            raise invalid("structure", _("Structure inconnue."))
        drawn = None if password else secrets.token_urlsafe(12)
        user = User(
            email=email,
            role=role,
            structure=structure,
            display_name=display_name,
            password_hash=hash_password(password or drawn),
        )
        db.session.add(user)
        db.session.flush()
        details = {"role": role, "structure": structure_id}
        audit.record(actor, "user.create", f"user:{user.id}", details)
        return user, drawn


def find_user(email: str) -> User:
    """The account with this address; NotFound otherwise."""
    user = db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(_("Compte inconnu : %(email)s.", email=email))
    return user


# Tokens ---------------------------------------------------------------------------------------


def create_token(
    actor: Actor, name: str = "", days: int | None = None, owner_id: int | None = None
) -> tuple[str, ApiToken]:
    """A bearer token for the account `owner_id` (the actor's own by default): (clear token,
    record).

    The clear token is shown once and never kept. Acting through a token, the new one
    expires no later than it: without `days`, it is shortened to fit; with more days than
    are left, it is refused.
    """
    scope = actor.check("token.create")
    with transaction():
        owner = _account(owner_id) if owner_id else _own_account(actor)
        _check_owner(actor, scope, owner)
        expires = _expiry(actor, days)
        token, record = issue_token(owner, name, None)
        record.expires_at = expires
        db.session.flush()
        details = {"owner": owner.id, "name": name, "expires_at": expires}
        audit.record(actor, "token.create", f"token:{record.id}", details)
        return token, record


def _account(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound()
    return user


def _own_account(actor: Actor) -> User:
    if actor.user is None:
        raise invalid("user", _("Indiquez le compte du jeton."))
    return actor.user


def _check_owner(actor: Actor, scope: Scope, owner: User):
    if owner.id == actor.user_id:
        return
    if outranks(actor.role, owner.role) or not owner.active:
        raise Forbidden()
    if scope is Scope.ALL:
        return
    if owner.structure is None or not covers(actor, "token.create", owner.structure):
        raise NotFound()


def _expiry(actor: Actor, days: int | None) -> dt.datetime:
    now = utcnow()
    wanted = now + dt.timedelta(days=days or DEFAULT_TOKEN_DAYS)
    limit = actor.token_expires_at if actor.by_token else None
    if limit is None or wanted <= limit:
        return wanted
    left = (limit - now).days
    if days is None and left >= 1:
        return limit
    raise invalid(
        "days",
        _(
            "Un jeton ne peut pas créer un jeton qui dure plus longtemps que lui : "
            "%(days)d jour(s) au plus.",
            days=max(left, 0),
        ),
    )


def list_tokens(actor: Actor) -> list[ApiToken]:
    """The actor's own tokens (never the tokens themselves, only what describes them)."""
    actor.check("token.read")
    query = sa.select(ApiToken).where(ApiToken.user_id == actor.user_id)
    return db.session.scalars(query.order_by(ApiToken.id)).all()


def revoke_token(actor: Actor, token_id: int) -> ApiToken:
    """Revoke a token: the actor's own, or one of an account their scope reaches (a partner
    admin, their structure's; a coordinator, their deployments'). Revoking twice changes
    nothing."""
    scope = actor.check("token.revoke")
    with transaction():
        record = db.session.get(ApiToken, token_id)
        if record is None:
            raise NotFound()
        if record.user_id != actor.user_id:
            owner = record.user
            if scope is Scope.OWN or not _reaches(actor, "token.revoke", owner):
                raise NotFound()
            if outranks(actor.role, owner.role):
                raise Forbidden()
        if record.revoked_at is None:
            record.revoked_at = utcnow()
            audit.record(actor, "token.revoke", f"token:{record.id}", {"owner": record.user_id})
        return record


def _reaches(actor: Actor, action: str, user: User) -> bool:
    """Whether `action` reaches this account for the actor (`permissions.users_within`)."""
    query = sa.select(User.id).where(User.id == user.id, users_within(actor, action))
    return db.session.scalar(query) is not None


def stop_access(user: User) -> int:
    """End the account's sessions and revoke its live tokens, at once: a deactivated account
    reactivated later starts with new tokens, never with those of a lost phone. Returns how
    many tokens were revoked."""
    user.session_token, user.session_expires_at = None, None
    now, revoked = utcnow(), 0
    for token in user.tokens:
        if token.is_usable(now):
            token.revoked_at = now
            revoked += 1
    return revoked
