"""Who may do what, and over which records: the one table of permissions (DESIGN §3).

Each action is granted to some roles, each with a scope: their own account, their own
structure, the structures of their deployments (every deployment when they are attached to
none), or everything. The use cases check it and scope their queries with it; the navigation
shows a page to those it grants; `ohpunaises roles` prints it; a test walks it against every
endpoint and page. Besides the five roles of the accounts, two actors have no account: the
public (the advocacy page and the embeddable map, where the programme turns them on) and the
operator at the command line.
"""

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from .errors import Forbidden
from .models import Deployment, Structure, User, user_deployments
from .vocabulary import ROLES


class Scope(StrEnum):
    """How far a grant reaches."""

    OWN = "own"  # the actor's own account
    STRUCTURE = "structure"  # the actor's structure
    DEPLOYMENTS = "deployments"  # the structures of the actor's deployments (all when none)
    ALL = "all"


SCOPE_LABELS = {
    Scope.OWN: _l("son compte"),
    Scope.STRUCTURE: _l("sa structure"),
    Scope.DEPLOYMENTS: _l("ses déploiements"),
    Scope.ALL: _l("tout"),
}
PUBLIC, OPERATOR = "public", "operator"
ACTORS = {
    **ROLES,
    PUBLIC: _l("Public (si activé)"),
    OPERATOR: _l("Ligne de commande"),
}

FIELD_ROLES = ("agent", "partner_admin")
SIGNED_IN = tuple(ROLES)


@dataclass(frozen=True)
class Action:
    """Something an actor does, and the scope each role that may do it has."""

    name: str
    label: object
    grants: dict = field(hash=False)


def _grants(scope, *roles, **others) -> dict[str, Scope]:
    return {**dict.fromkeys(roles, scope), **others}


ACTIONS = (
    Action(
        "report.create",
        _l("Saisir un signalement"),
        _grants(Scope.STRUCTURE, *FIELD_ROLES, coordinator=Scope.DEPLOYMENTS),
    ),
    Action(
        "report.read",
        _l("Lire les signalements un par un (non pseudonymisés)"),
        _grants(Scope.STRUCTURE, *FIELD_ROLES, coordinator=Scope.DEPLOYMENTS),
    ),
    Action(
        "report.update",
        _l("Suivre et corriger un signalement"),
        _grants(Scope.STRUCTURE, *FIELD_ROLES, coordinator=Scope.DEPLOYMENTS),
    ),
    Action(
        "report.points",
        _l("Voir les points précis des signalements sur la carte"),
        _grants(Scope.DEPLOYMENTS, "coordinator"),
    ),
    Action(
        "structure.read",
        _l("Lire les structures"),
        _grants(
            Scope.STRUCTURE,
            *FIELD_ROLES,
            "institution",
            "evaluator",
            coordinator=Scope.DEPLOYMENTS,
        ),
    ),
    Action(
        "partner.list",
        _l("Lister les partenaires, avec leurs contacts et leur activité"),
        _grants(Scope.DEPLOYMENTS, "coordinator", operator=Scope.ALL),
    ),
    Action(
        "structure.create",
        _l("Créer une structure"),
        _grants(Scope.DEPLOYMENTS, "coordinator", operator=Scope.ALL),
    ),
    Action(
        "structure.update",
        _l("Modifier, désactiver ou réactiver une structure, noter son étape"),
        _grants(Scope.DEPLOYMENTS, "coordinator", operator=Scope.ALL),
    ),
    Action(
        "user.read",
        _l("Lire les comptes et les invitations"),
        _grants(
            Scope.DEPLOYMENTS, "coordinator", partner_admin=Scope.STRUCTURE, operator=Scope.ALL
        ),
    ),
    Action(
        "user.create",
        _l("Inviter ou créer un compte"),
        _grants(
            Scope.DEPLOYMENTS, "coordinator", partner_admin=Scope.STRUCTURE, operator=Scope.ALL
        ),
    ),
    Action(
        "user.update",
        _l("Désactiver, réactiver un compte, changer son rôle, renvoyer une invitation"),
        _grants(
            Scope.DEPLOYMENTS, "coordinator", partner_admin=Scope.STRUCTURE, operator=Scope.ALL
        ),
    ),
    Action("account.read", _l("Lire son compte"), _grants(Scope.OWN, *SIGNED_IN)),
    Action(
        "token.create",
        _l("Créer un jeton d'API (le sien, ou ceux des comptes de son périmètre)"),
        _grants(
            Scope.OWN,
            *SIGNED_IN,
            partner_admin=Scope.STRUCTURE,
            coordinator=Scope.DEPLOYMENTS,
            operator=Scope.ALL,
        ),
    ),
    Action(
        "token.read",
        _l("Lister les jetons d'API (les siens, ou ceux des comptes de son périmètre)"),
        _grants(
            Scope.OWN, *SIGNED_IN, partner_admin=Scope.STRUCTURE, coordinator=Scope.DEPLOYMENTS
        ),
    ),
    Action(
        "token.revoke",
        _l("Révoquer un jeton d'API (le sien, ou ceux des comptes de son périmètre)"),
        _grants(
            Scope.OWN, *SIGNED_IN, partner_admin=Scope.STRUCTURE, coordinator=Scope.DEPLOYMENTS
        ),
    ),
    Action(
        "report.import",
        _l("Importer des signalements depuis un tableur (essai, puis import)"),
        _grants(Scope.STRUCTURE, "partner_admin", coordinator=Scope.DEPLOYMENTS),
    ),
    Action(
        "training.create",
        _l("Enregistrer une formation ou une sensibilisation"),
        _grants(Scope.STRUCTURE, *FIELD_ROLES, coordinator=Scope.DEPLOYMENTS),
    ),
    Action(
        "training.read",
        _l("Lire les formations et sensibilisations"),
        _grants(Scope.STRUCTURE, *FIELD_ROLES, coordinator=Scope.DEPLOYMENTS),
    ),
    Action(
        "activity.read",
        _l("Lire le suivi des partenaires : activités, prochaines étapes, liste « à faire »"),
        _grants(Scope.DEPLOYMENTS, "coordinator", operator=Scope.ALL),
    ),
    Action(
        "activity.record",
        _l("Noter une activité avec un partenaire, la modifier, clore une prochaine étape"),
        _grants(Scope.DEPLOYMENTS, "coordinator", operator=Scope.ALL),
    ),
    Action(
        "reporting.declare",
        _l("Déclarer « rien à signaler » pour une période"),
        _grants(Scope.STRUCTURE, *FIELD_ROLES, coordinator=Scope.DEPLOYMENTS),
    ),
    Action(
        "reminder.send",
        _l("Envoyer les relances des périodes non renseignées"),
        _grants(Scope.ALL, OPERATOR),
    ),
    Action("territory.read", _l("Lire les territoires"), _grants(Scope.ALL, *SIGNED_IN, OPERATOR)),
    Action("territory.load", _l("Charger des territoires"), _grants(Scope.ALL, OPERATOR)),
    Action(
        "deployment.read",
        _l("Lire les déploiements"),
        _grants(Scope.DEPLOYMENTS, "coordinator", operator=Scope.ALL),
    ),
    Action(
        "deployment.manage",
        _l("Ouvrir ou modifier un déploiement, y rattacher des comptes"),
        _grants(Scope.DEPLOYMENTS, "coordinator", operator=Scope.ALL),
    ),
    Action(
        "indicator.read",
        _l("Lire les indicateurs (masqués sauf pour la coordination)"),
        _grants(Scope.DEPLOYMENTS, *SIGNED_IN, public=Scope.ALL),
    ),
    Action(
        "figures.raw",
        _l("Lire les petits effectifs (valeurs non masquées)"),
        _grants(Scope.DEPLOYMENTS, "coordinator"),
    ),
    Action(
        "map.read", _l("Voir les cartes"), _grants(Scope.DEPLOYMENTS, *SIGNED_IN, public=Scope.ALL)
    ),
    Action(
        "export.rows",
        _l("Exporter les signalements en CSV (pseudonymisés pour l'évaluation)"),
        _grants(
            Scope.DEPLOYMENTS,
            "coordinator",
            "evaluator",
            partner_admin=Scope.STRUCTURE,
        ),
    ),
    Action(
        "export.aggregates",
        _l("Exporter les indicateurs par territoire (GeoJSON)"),
        _grants(Scope.DEPLOYMENTS, "coordinator", "institution", "evaluator"),
    ),
    Action(
        "export.dictionary", _l("Lire le dictionnaire des données"), _grants(Scope.ALL, *SIGNED_IN)
    ),
    Action(
        "target.read",
        _l("Lire les cibles et leur avancement (masqués sauf pour la coordination)"),
        _grants(Scope.DEPLOYMENTS, "coordinator", "institution", "evaluator"),
    ),
    Action(
        "target.manage",
        _l("Fixer une cible : valeur de référence, jalons, convention"),
        _grants(Scope.DEPLOYMENTS, "coordinator", operator=Scope.ALL),
    ),
    Action(
        "evaluation.read",
        _l("Lire le protocole d'évaluation et ses chiffres"),
        _grants(Scope.DEPLOYMENTS, "coordinator", "institution", "evaluator"),
    ),
    Action(
        "evaluation.manage",
        _l("Écrire le protocole d'évaluation : questions, critères, indicateurs"),
        _grants(Scope.DEPLOYMENTS, "coordinator"),
    ),
    Action(
        "evaluation.write",
        _l("Écrire les constats et les recommandations de l'évaluation"),
        _grants(Scope.DEPLOYMENTS, "coordinator", "evaluator"),
    ),
    Action(
        "pack.read",
        _l("Lire les packs (approuvés seulement, sauf pour la coordination)"),
        _grants(Scope.DEPLOYMENTS, "coordinator", "institution", "evaluator"),
    ),
    Action(
        "pack.create",
        _l("Figer un pack de chiffres pour un comité ou un financeur"),
        _grants(Scope.DEPLOYMENTS, "coordinator"),
    ),
    Action(
        "pack.approve",
        _l("Approuver ou retirer un pack"),
        _grants(Scope.DEPLOYMENTS, "coordinator"),
    ),
    Action(
        "audit.read",
        _l("Lire le journal d'audit"),
        _grants(Scope.ALL, "coordinator"),
    ),
    Action(
        "retention.apply",
        _l("Anonymiser les signalements trop anciens"),
        _grants(Scope.ALL, OPERATOR),
    ),
    Action("demo.create", _l("Créer des données de démonstration"), _grants(Scope.ALL, OPERATOR)),
)


def _widest(*names: str) -> dict[str, Scope]:
    """The grants of any of these actions, each role with the widest scope it has."""
    order = list(Scope)
    grants = {}
    for action in ACTIONS:
        if action.name in names:
            for role, scope in action.grants.items():
                if role not in grants or order.index(scope) > order.index(grants[role]):
                    grants[role] = scope
    return grants


ACTIONS += (
    Action(
        "export.page",
        _l("Ouvrir la page des exports"),
        _widest("export.rows", "export.aggregates"),
    ),
)
TABLE = {action.name: action for action in ACTIONS}

# Roles ranked by what they may administer: nobody hands out more than they hold.
RANK = {"agent": 1, "institution": 1, "evaluator": 1, "partner_admin": 2, "coordinator": 3}


def grant(role: str | None, action: str) -> Scope | None:
    """The scope `role` has for `action`, or None when the table does not grant it."""
    return TABLE[action].grants.get(role or PUBLIC)


def allows(role: str | None, action: str) -> bool:
    """Whether the table grants `action` to `role` at any scope."""
    return grant(role, action) is not None


# Actors -----------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Actor:
    """Who acts: an account (by session or bearer token), the public, or the operator.

    The values the use cases need are copied off the account, so that an actor outlives the
    request's ORM objects (a streamed export); the account's deployments are read once, and
    only when a grant scoped by deployments needs them.
    """

    role: str
    user_id: int | None = None
    email: str | None = None
    structure_id: int | None = None
    token_expires_at: dt.datetime | None = None  # set when acting through a bearer token
    by_token: bool = False
    user: object = field(default=None, repr=False)  # the account, for the records it authors
    fixed_deployments: tuple[int, ...] | None = None

    @classmethod
    def of(cls, user, token=None) -> "Actor":
        """The actor behind an account, and the bearer token it acts through if any."""
        return cls(
            role=user.role,
            user_id=user.id,
            email=user.email,
            structure_id=user.structure_id,
            token_expires_at=token.expires_at if token is not None else None,
            by_token=token is not None,
            user=user,
        )

    @classmethod
    def public(cls) -> "Actor":
        return cls(role=PUBLIC)

    @classmethod
    def operator(cls, role: str = OPERATOR, deployments=None) -> "Actor":
        """The command line, acting as itself or with the view of a role."""
        return cls(role=role, email="cli", fixed_deployments=deployments)

    @cached_property
    def deployment_ids(self) -> tuple[int, ...] | None:
        """The deployments the actor is attached to, or None for every one of them."""
        if self.user is None:
            return self.fixed_deployments
        return tuple(sorted(d.id for d in self.user.deployments)) or None

    @property
    def label(self) -> str:
        """Who, as the audit log names them."""
        return self.email or self.role

    def may(self, action: str) -> bool:
        return allows(self.role, action)

    def check(self, action: str) -> Scope:
        """The actor's scope for `action`; Forbidden when the table does not grant it."""
        scope = grant(self.role, action)
        if scope is None:
            raise Forbidden()
        return scope

    def detached(self) -> "Actor":
        """The same actor with its deployments read and no ORM object kept (for streams)."""
        return Actor(
            self.role,
            self.user_id,
            self.email,
            self.structure_id,
            self.token_expires_at,
            self.by_token,
            None,
            self.deployment_ids,
        )


# Scoping ----------------------------------------------------------------------------------------


def structures_within(actor: Actor, action: str):
    """A condition on `Structure` selecting what `action` reaches for `actor`."""
    scope = actor.check(action)
    if scope is Scope.ALL:
        return sa.true()
    if scope is Scope.DEPLOYMENTS:
        deployments = actor.deployment_ids
        return sa.true() if deployments is None else Structure.deployment_id.in_(deployments)
    if scope is Scope.STRUCTURE and actor.structure_id is not None:
        return Structure.id == actor.structure_id
    return sa.false()


def restrict(query, actor: Actor, action: str, structure_column):
    """`query` restricted to the rows whose structure (`structure_column`) `action` reaches."""
    scope = actor.check(action)
    if scope is Scope.ALL or (scope is Scope.DEPLOYMENTS and actor.deployment_ids is None):
        return query
    if scope is Scope.STRUCTURE:
        if actor.structure_id is None:
            return query.where(sa.false())
        return query.where(structure_column == actor.structure_id)
    if scope is Scope.DEPLOYMENTS:
        # Not correlated: the query restricted may join the structures itself.
        within = sa.select(Structure.id).where(structures_within(actor, action)).correlate(None)
        return query.where(structure_column.in_(within))
    return query.where(sa.false())


def covers(actor: Actor, action: str, structure) -> bool:
    """Whether `action` reaches this structure for `actor` (False when not granted at all)."""
    scope = grant(actor.role, action)
    if scope is Scope.ALL:
        return True
    if scope is Scope.DEPLOYMENTS:
        deployments = actor.deployment_ids
        return deployments is None or structure.deployment_id in deployments
    if scope is Scope.STRUCTURE:
        return structure.id == actor.structure_id
    return False


def users_within(actor: Actor, action: str):
    """A condition on `User` selecting the accounts `action` reaches for `actor`: those of the
    structures it reaches and, scoped by deployments, the accounts without a structure
    attached to one of the actor's deployments."""
    scope = actor.check(action)
    if scope is Scope.ALL or (scope is Scope.DEPLOYMENTS and actor.deployment_ids is None):
        return sa.true()
    if scope is Scope.OWN:
        return User.id == actor.user_id
    in_structures = User.structure_id.in_(
        sa.select(Structure.id).where(structures_within(actor, action)).correlate(None)
    )
    if scope is Scope.STRUCTURE:
        return in_structures
    attached = sa.exists().where(
        user_deployments.c.user_id == User.id,
        user_deployments.c.deployment_id.in_(actor.deployment_ids),
    )
    return sa.or_(in_structures, sa.and_(User.structure_id.is_(None), attached))


def deployments_within(actor: Actor, action: str):
    """A condition on `Deployment` selecting the deployments `action` reaches for `actor`."""
    scope = actor.check(action)
    if scope is Scope.ALL or (scope is Scope.DEPLOYMENTS and actor.deployment_ids is None):
        return sa.true()
    if scope is Scope.DEPLOYMENTS:
        return Deployment.id.in_(actor.deployment_ids)
    return sa.false()


def outranks(role: str, other: str) -> bool:
    """Whether `other` holds more than `role` may hand out."""
    return RANK.get(other, 0) > RANK.get(role, 0) and role != OPERATOR


# Reading the table --------------------------------------------------------------------------------


def rows() -> list[tuple[str, str, list[str]]]:
    """(action, label, the scope of each actor or "") for printing and documentation."""
    return [
        (
            action.name,
            str(action.label),
            [str(SCOPE_LABELS[s]) if (s := action.grants.get(a)) else "" for a in ACTORS],
        )
        for action in ACTIONS
    ]
