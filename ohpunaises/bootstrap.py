"""First start: schema, default territories, default deployment, demo accounts.

Each step goes through its use case as the command-line operator, so that it is audited
like any other change.
"""

import datetime as dt
from importlib import resources

import flask_migrate
import sqlalchemy as sa

from .extensions import db
from .models import Deployment, Territory, User
from .permissions import Actor
from .usecases.accounts import create_user
from .usecases.structures import create_structure
from .usecases.territories import TerritoryFile, load_territories, open_deployment

DATA = resources.files("ohpunaises") / "data"
DEFAULT_TERRITORIES = (
    ("commune", "communes-metropole-lyon-2024.geojson"),
    ("arrondissement", "arrondissements-lyon.geojson"),
)
POPULATION_CSV = ("population-metropole-lyon.csv", "code_insee", "pop_municipale_insee_cog2026")
DEFAULT_DEPLOYMENT = "Métropole de Lyon"

DEMO_STRUCTURES = (
    ("[DÉMO] Bailleur social des Pentes", "social_landlord", "69123"),
    ("[DÉMO] Association Entraide Villeurbanne", "association", "69266"),
    ("[DÉMO] CCAS de Vénissieux", "social_services", "69259"),
    ("[DÉMO] Désinsectisation Rhône-Services", "pest_control", "69290"),
)
DEMO_ACCOUNTS = (
    ("agent", "agent@demo.ohpunaises.org", "Agent de démonstration", 0),
    ("partner_admin", "admin-structure@demo.ohpunaises.org", "Admin de démonstration", 0),
    ("coordinator", "coordination@demo.ohpunaises.org", "Coordination (démo)", None),
    ("institution", "institution@demo.ohpunaises.org", "Institution (démo)", None),
    ("evaluator", "evaluation@demo.ohpunaises.org", "Évaluation (démo)", None),
)


def upgrade_schema():
    flask_migrate.upgrade()


def load_default_territories(progress=None) -> dict[str, int]:
    """Load each shipped territory level that the database does not hold yet."""
    loaded = {}
    for level, filename in DEFAULT_TERRITORIES:
        if db.session.scalar(sa.select(sa.func.count()).where(Territory.level == level)):
            continue
        source = TerritoryFile(
            DATA / filename,
            level,
            population_csv=DATA / POPULATION_CSV[0],
            csv_code_column=POPULATION_CSV[1],
            csv_population_column=POPULATION_CSV[2],
        )
        result = load_territories(Actor.operator(), source)
        loaded[level] = result.created + result.updated
    return loaded


def ensure_default_deployment() -> Deployment | None:
    """The first deployment covers every commune loaded, when none exists yet."""
    if db.session.scalar(sa.select(sa.func.count(Deployment.id))):
        return None
    communes = db.session.scalars(sa.select(Territory).where(Territory.level == "commune")).all()
    return open_deployment(Actor.operator(), DEFAULT_DEPLOYMENT, communes)


def create_demo_accounts() -> list[tuple[str, str, str]]:
    """Demo structures and one account per role, on a database without any account.

    Returns (role, email, password) for each account created; passwords are not kept.
    """
    has_users = db.session.scalar(sa.select(sa.func.count(User.id)))
    has_communes = db.session.scalar(sa.select(Territory.id).where(Territory.level == "commune"))
    if has_users or not has_communes:
        return []
    operator = Actor.operator()
    structures = [_demo_structure(operator, *spec) for spec in DEMO_STRUCTURES]
    logins = []
    for role, email, name, structure_index in DEMO_ACCOUNTS:
        structure = structures[structure_index] if structure_index is not None else None
        _user, password = create_user(
            operator, email, role, structure.id if structure else None, display_name=name
        )
        logins.append((role, email, password))
    return logins


def _demo_structure(operator: Actor, name, kind, commune_code):
    communes = sa.select(Territory.code).where(Territory.level == "commune")
    code = db.session.scalar(communes.where(Territory.code == commune_code))
    code = code or db.session.scalar(communes.order_by(Territory.code))
    data = {"name": name, "kind": kind, "commune": code, "onboarded_on": dt.date.today()}
    return create_structure(operator, data, demo=True)
