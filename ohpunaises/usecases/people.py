"""People: invitations by e-mail, password resets, deactivation and roles.

An invitation creates the account at once, without a password, and sends a single-use link,
valid INVITATION_DAYS, to choose one. The account and its link are stored before the
message is sent, so that a failed send loses nothing: the failure is kept on the link,
shown, and the invitation can be sent again (with a new link; only the digest of a link is
ever kept). A password-reset link is valid RESET_HOURS; asking for one gives the same answer
whether the address has an account or not, and the message leaves in the background so
that the time taken does not tell either.

Nobody hands out more than they hold (`permissions.outranks`), within their scope
(`permissions.users_within`); the last active coordinator stays one. Deactivating an
account ends its sessions and its tokens at once.
"""

import datetime as dt
import hashlib
import secrets
import threading
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from .. import audit, logs, mail
from ..auth import hash_password
from ..errors import Conflict, Forbidden, Invalid, NotFound, Throttled, invalid
from ..extensions import db
from ..models import AccountLink, Deployment, Structure, User
from ..models.base import utcnow
from ..passwords import weakness
from ..permissions import Actor, Scope, covers, deployments_within, outranks, users_within
from ..vocabulary import ROLES
from . import containing, sessions, transaction
from .accounts import stop_access

INVITATION_DAYS = 7
RESET_HOURS = 1
STRUCTURE_ROLES = ("agent", "partner_admin")
LANGUAGES = ("fr", "en")
# Where a link leads, after the service's public address.
LINK_PATHS = {"invitation": "/invitation/", "reset": "/mot-de-passe/"}
LIFETIMES = {
    "invitation": dt.timedelta(days=INVITATION_DAYS),
    "reset": dt.timedelta(hours=RESET_HOURS),
}
TEMPLATES = {"invitation": "invitation", "reset": "password_reset"}


@dataclass
class Sent:
    """A link just made, and what became of its message."""

    user: User
    link: AccountLink
    url: str  # the link itself: shown on screen when no mail server is set, or when it failed
    delivered: str | None = None  # where the message went
    error: str | None = None  # why it could not be sent

    @property
    def show_link(self) -> bool:
        return self.error is not None or not current_app.config.get("SMTP_URL")


def public_address(request_root: str | None = None) -> str:
    """The address links start with: OHPUNAISES_BASE_URL, else (outside production only) the
    address the request came to, never a Host header in production."""
    configured = current_app.config.get("BASE_URL")
    if configured:
        return configured
    if current_app.config["ENV_NAME"] == "production":
        raise Invalid(
            _(
                "L'adresse publique du service n'est pas réglée (OHPUNAISES_BASE_URL) : aucun "
                "lien ne peut être envoyé."
            )
        )
    return (request_root or "http://127.0.0.1:8000").rstrip("/")


# Invitations ----------------------------------------------------------------------------------


def invite(actor: Actor, data: dict, base_url: str) -> Sent:
    """Create the account of `data["email"]` with its role, and send it an invitation.

    `data`: email, role, structure_id (agents and partner admins), deployment_ids (the
    others), display_name, language. An address already used is refused, nothing created;
    an address whose invitation was revoked is invited again.
    """
    actor.check("user.create")
    with transaction():
        email = _address(data.get("email", ""))
        user = db.session.scalar(sa.select(User).where(User.email == email))
        if user is not None and not (user.pending and not user.active):
            if user.pending:
                raise Conflict(
                    errors={
                        "email": _(
                            "Une invitation attend déjà cette adresse : renvoyez-la depuis la "
                            "fiche de la personne."
                        )
                    }
                )
            raise Conflict(errors={"email": _("Cette adresse a déjà un compte.")})
        user = user or User(email=email, password_hash=None)
        user.active = True
        user.display_name = (data.get("display_name") or "").strip()
        user.language = data.get("language") or "fr"
        _assign_role(actor, "user.create", user, data)
        db.session.add(user)
        db.session.flush()
        token, link = _new_link(actor, user, "invitation")
        details = {"role": user.role, "structure": user.structure_id}
        details["deployments"] = sorted(d.id for d in user.deployments)
        audit.record(actor, "user.invite", f"user:{user.id}", details)
    return _deliver(actor, link, token, base_url)


def resend_invitation(actor: Actor, user_id: int, base_url: str) -> Sent:
    """A new invitation link for an account still waiting for its password; the former
    links stop working."""
    actor.check("user.update")
    with transaction():
        user = _reachable(actor, "user.update", user_id)
        if not user.pending or not user.active:
            raise Conflict(_("Cette personne n'a pas d'invitation en attente."))
        token, link = _new_link(actor, user, "invitation")
        audit.record(actor, "user.invite_again", f"user:{user.id}")
    return _deliver(actor, link, token, base_url)


def revoke_invitation(actor: Actor, user_id: int) -> User:
    """Withdraw an invitation: its links stop working and the account stays inactive (the
    address may be invited again)."""
    actor.check("user.update")
    with transaction():
        user = _reachable(actor, "user.update", user_id)
        if not user.pending or not user.active:
            raise Conflict(_("Cette personne n'a pas d'invitation en attente."))
        _revoke_links(user, "invitation")
        user.active = False
        audit.record(actor, "user.invitation_revoke", f"user:{user.id}")
        return user


def accept_invitation(token: str, password: str, remember: bool = False) -> User:
    """Choose the first password with an invitation link; the account's session starts."""
    with transaction():
        link = _usable_link(token, "invitation")
        user = link.user
        _set_password(user, password, "password")
        user.last_login_at = link.used_at = utcnow()
        sessions.start_session(user, remember)
        audit.record(Actor.of(user), "user.invitation_accept", f"user:{user.id}")
        return user


# Password resets ------------------------------------------------------------------------------


def request_reset(email: str, address: str, base_url: str):
    """Send a reset link to this address if it has an active account with a password; the
    same outcome, and about the same time, whether it has or not. Throttled per address;
    past the limit per account, nothing more is sent."""
    email = email.strip().lower()
    keys = sessions.reset_keys(email, address)
    with transaction():
        blocked = sessions.blocked_keys(keys)
        if keys[0] not in blocked:
            sessions.count_attempt(keys)
    if keys[0] in blocked:
        raise Throttled(
            _("Trop de demandes : réessayez dans quelques minutes."),
            retry_after=int(sessions.RESET_LIMITS["reset_address"][1].total_seconds()),
        )
    if not blocked and "\x00" not in email:
        _send_apart(email, base_url)


def _send_apart(email: str, base_url: str):
    """Make and send the reset link in a thread of its own, with its own session."""
    app = current_app._get_current_object()

    def run():
        with app.app_context():
            try:
                _send_reset(email, base_url)
            except Exception:  # a thread of its own: nobody else would see it fail
                logs.LOGGER.exception("mail.reset_failed")
            finally:
                db.session.remove()

    worker = threading.Thread(target=run, name="password-reset", daemon=True)
    worker.start()
    if app.config.get("TESTING"):
        worker.join(30)  # tests read the message at once


def _send_reset(email: str, base_url: str):
    with transaction():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        if user is None or not user.active or user.pending:
            return
        token, link = _new_link(None, user, "reset")
        audit.record(None, "user.reset_request", f"user:{user.id}")
    _deliver(None, link, token, base_url)


def reset_password(token: str, password: str) -> User:
    """Choose a new password with a reset link; every open session of the account ends."""
    with transaction():
        link = _usable_link(token, "reset")
        user = link.user
        _set_password(user, password, "password")
        link.used_at = utcnow()
        _revoke_links(user, "reset")
        user.session_token, user.session_expires_at = None, None
        audit.record(Actor.of(user), "user.password_reset", f"user:{user.id}")
        return user


def link_user(token: str, purpose: str) -> User:
    """The account a usable link opens (to greet the person before they choose)."""
    return _usable_link(token, purpose).user


# Deactivation and roles -----------------------------------------------------------------------


def set_active(actor: Actor, user_id: int, active: bool) -> User:
    """Deactivate (sessions and tokens stop at once) or reactivate an account."""
    return update_person(actor, user_id, {"active": active})


def change_role(actor: Actor, user_id: int, data: dict) -> User:
    """A new role, with its structure or deployments (`data` as for `invite`)."""
    actor.check("user.update")
    with transaction():
        user = _reachable(actor, "user.update", user_id)
        _change_role(actor, user, data)
        return user


ROLE_FIELDS = ("role", "structure_id", "deployment_ids")


def update_person(actor: Actor, user_id: int, data: dict) -> User:
    """Change an account's role fields (the others kept) and its active flag together: all
    of it or, refused, none of it."""
    actor.check("user.update")
    with transaction():
        user = _reachable(actor, "user.update", user_id)
        if any(name in data for name in ROLE_FIELDS):
            kept = {"role": user.role, "structure_id": user.structure_id}
            kept["deployment_ids"] = [d.id for d in user.deployments]
            _change_role(actor, user, {**kept, **data})
        if "active" in data:
            _set_active(actor, user, data["active"])
        return user


def _set_active(actor: Actor, user: User, active: bool):
    if user.active == active:
        return
    details = {}
    if not active:
        _keep_a_coordinator(user)
        details["tokens_revoked"] = stop_access(user)
    user.active = active
    action = "user.activate" if active else "user.deactivate"
    audit.record(actor, action, f"user:{user.id}", details)


def _change_role(actor: Actor, user: User, data: dict):
    before = user.role
    if before == "coordinator" and data.get("role") != "coordinator":
        _keep_a_coordinator(user)
    _assign_role(actor, "user.update", user, data)
    details = {"from": before, "to": user.role, "structure": user.structure_id}
    details["deployments"] = sorted(d.id for d in user.deployments)
    audit.record(actor, "user.role", f"user:{user.id}", details)


# Reading --------------------------------------------------------------------------------------

STATUSES = ("active", "pending", "inactive")


def list_people(actor: Actor, filters: dict | None = None) -> list[User]:
    """The accounts the actor's scope reaches, by address; `filters`: role, structure_id,
    status (active, pending, inactive), search (in the address and the name)."""
    filters = filters or {}
    query = sa.select(User).where(users_within(actor, "user.read")).order_by(User.email)
    if filters.get("role"):
        query = query.where(User.role == filters["role"])
    if filters.get("structure_id"):
        query = query.where(User.structure_id == filters["structure_id"])
    status = filters.get("status")
    if status == "active":
        query = query.where(User.active, User.password_hash.is_not(None))
    elif status == "pending":
        query = query.where(User.active, User.password_hash.is_(None))
    elif status == "inactive":
        query = query.where(sa.not_(User.active))
    if filters.get("search"):
        pattern = containing(filters["search"])
        query = query.where(
            sa.or_(User.email.like(pattern), sa.func.lower(User.display_name).like(pattern))
        )
    return db.session.scalars(query).all()


def get_person(actor: Actor, user_id: int, action: str = "user.read") -> User:
    """An account `action` reaches for the actor; NotFound whether it exists or not."""
    return _reachable(actor, action, user_id)


def pending_link(user: User) -> AccountLink | None:
    """The account's latest invitation link, when it still waits for its password."""
    if not user.pending:
        return None
    links = [link for link in user.links if link.purpose == "invitation"]
    return max(links, key=lambda link: link.id, default=None)


def deployment_choices(actor: Actor) -> list[Deployment]:
    """The deployments the actor may attach an account to (none for partner admins)."""
    if not actor.may("deployment.read"):
        return []
    query = sa.select(Deployment).where(deployments_within(actor, "deployment.read"))
    return db.session.scalars(query.order_by(Deployment.name)).all()


def assignable_roles(actor: Actor) -> list[str]:
    """The roles the actor may give: none above their own; partner admins, agents only."""
    if actor.role == "partner_admin":
        return ["agent"]
    return [role for role in ROLES if not outranks(actor.role, role)]


# Inside ---------------------------------------------------------------------------------------


def _address(raw: str) -> str:
    email = raw.strip().lower()
    local, at, domain = email.partition("@")
    if (
        not at
        or not local
        or "." not in domain
        or len(email) > 254
        or any(char.isspace() or ord(char) < 32 for char in email)
    ):
        raise invalid("email", _("Adresse e-mail invalide."))
    return email


def _assign_role(actor: Actor, action: str, user: User, data: dict):
    """Give `user` the role of `data`, with its structure or its deployments, as `actor` may."""
    role = data.get("role")
    if role not in ROLES:
        raise invalid("role", _("Rôle inconnu."))
    if role not in assignable_roles(actor) or outranks(actor.role, role):
        raise invalid("role", _("Vous ne pouvez pas donner ce rôle."))
    if data.get("language") and data["language"] not in LANGUAGES:
        raise invalid("language", _("Langue inconnue."))
    user.role = role
    if role in STRUCTURE_ROLES:
        structure_id = data.get("structure_id") or (
            actor.structure_id if actor.role == "partner_admin" else None
        )
        structure = db.session.get(Structure, structure_id) if structure_id else None
        if structure is None or not covers(actor, action, structure):
            raise invalid("structure_id", _("Choisissez une structure de votre périmètre."))
        if not structure.active:
            raise invalid("structure_id", _("Cette structure est désactivée."))
        user.structure, user.deployments = structure, []
        return
    user.structure = None
    user.deployments = _deployments(actor, data.get("deployment_ids") or [])


def _deployments(actor: Actor, ids) -> list[Deployment]:
    """The deployments an account without structure is attached to, within the actor's."""
    try:
        wanted = sorted({int(i) for i in ids})
    except (TypeError, ValueError):
        raise invalid("deployment_ids", _("Déploiement inconnu.")) from None
    found = db.session.scalars(sa.select(Deployment).where(Deployment.id.in_(wanted))).all()
    if len(found) != len(wanted):
        raise invalid("deployment_ids", _("Déploiement inconnu."))
    own = actor.deployment_ids if actor.check("user.update") is Scope.DEPLOYMENTS else None
    if own is not None and (not wanted or not set(wanted) <= set(own)):
        raise invalid(
            "deployment_ids", _("Rattachez ce compte à un ou plusieurs de vos déploiements.")
        )
    return found


def _reachable(actor: Actor, action: str, user_id: int) -> User:
    user = db.session.scalar(sa.select(User).where(User.id == user_id, users_within(actor, action)))
    if user is None:
        raise NotFound()
    if user.id == actor.user_id or action == "user.read":
        return user
    if outranks(actor.role, user.role) or (actor.role == "partner_admin" and user.role != "agent"):
        raise Forbidden()
    return user


def _keep_a_coordinator(user: User):
    """Refuse to leave the programme without an active coordinator (one who can sign in: a
    pending invitation may never be accepted)."""
    if user.role != "coordinator" or not user.active:
        return
    others = db.session.scalar(
        sa.select(sa.func.count(User.id)).where(
            User.role == "coordinator",
            User.active,
            User.password_hash.is_not(None),
            User.id != user.id,
        )
    )
    if not others:
        raise Conflict(
            _("C'est le dernier compte de coordination actif : il ne peut pas être retiré.")
        )


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def _new_link(actor: Actor | None, user: User, purpose: str) -> tuple[str, AccountLink]:
    """A new link of `purpose` for the account, the former ones revoked: (secret, record)."""
    _revoke_links(user, purpose)
    token = secrets.token_urlsafe(32)
    link = AccountLink(
        user=user,
        purpose=purpose,
        token_hash=_digest(token),
        expires_at=utcnow() + LIFETIMES[purpose],
        created_by_id=actor.user_id if actor is not None else None,
    )
    db.session.add(link)
    db.session.flush()
    return token, link


def _revoke_links(user: User, purpose: str):
    now = utcnow()
    for link in user.links:
        if link.purpose == purpose and link.used_at is None and link.revoked_at is None:
            link.revoked_at = now


def _usable_link(token: str, purpose: str) -> AccountLink:
    link = db.session.scalar(
        sa.select(AccountLink).where(AccountLink.token_hash == _digest(token or ""))
    )
    if link is None or link.purpose != purpose or not link.is_usable(utcnow()):
        raise NotFound(_("Ce lien a expiré, a déjà servi ou n'est pas valide."))
    if not link.user.active:
        raise NotFound(_("Ce lien a expiré, a déjà servi ou n'est pas valide."))
    return link


def _set_password(user: User, password: str, field: str):
    problem = weakness(password or "", user.email)
    if problem:
        raise invalid(field, problem)
    user.password_hash = hash_password(password)


def _deliver(actor: Actor | None, link: AccountLink, token: str, base_url: str) -> Sent:
    """Send the link's message, then keep what became of it on the link."""
    user = link.user
    url = base_url.rstrip("/") + LINK_PATHS[link.purpose] + token
    sent = Sent(user, link, url)
    try:
        message = mail.compose(
            TEMPLATES[link.purpose],
            user.email,
            user.language,
            link=url,
            expires=link.expires_at,
            inviter=(actor.user.display_name or actor.email) if actor and actor.user else None,
            role=ROLES[user.role],
            structure=user.structure.name if user.structure else None,
            programme="Oh Punaises!",
        )
        sent.delivered = mail.send(message)
    except mail.MailError as error:
        sent.error = error.message()
    with transaction():
        link.sent_at = utcnow() if sent.error is None else None
        link.send_error = sent.error[:300] if sent.error else None
    return sent
