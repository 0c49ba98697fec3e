"""First start: schema, default territories, default deployment, demo accounts."""

import datetime as dt
import secrets
from importlib import resources

import flask_migrate
import sqlalchemy as sa

from .auth import hash_password
from .extensions import db
from .models import Deployment, Structure, Territory, User
from .territories import (
    CODE_CANDIDATES,
    NAME_CANDIDATES,
    PARENT_CANDIDATES,
    deployment_covering,
    parse_features,
    pick_property,
    read_geojson,
    read_population_csv,
    store_territories,
)

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
    populations = read_population_csv(DATA / POPULATION_CSV[0], *POPULATION_CSV[1:])
    loaded = {}
    for level, filename in DEFAULT_TERRITORIES:
        if db.session.scalar(sa.select(sa.func.count()).where(Territory.level == level)):
            continue
        features = read_geojson(DATA / filename)
        rows = parse_features(
            features,
            pick_property(features, None, CODE_CANDIDATES),
            pick_property(features, None, NAME_CANDIDATES),
            parent_key=pick_property(features, None, PARENT_CANDIDATES),
        )
        store_territories(rows, level, populations, progress)
        loaded[level] = len(rows)
    db.session.commit()
    return loaded


def ensure_default_deployment() -> Deployment | None:
    """The first deployment covers every commune loaded, when none exists yet."""
    if db.session.scalar(sa.select(sa.func.count(Deployment.id))):
        return None
    communes = db.session.scalars(sa.select(Territory).where(Territory.level == "commune"))
    deployment = Deployment(
        name=DEFAULT_DEPLOYMENT, started_on=dt.date.today(), territories=list(communes)
    )
    db.session.add(deployment)
    db.session.commit()
    return deployment


def create_demo_accounts() -> list[tuple[str, str, str]]:
    """Demo structures and one account per role, on a database without any account.

    Returns (role, email, password) for each account created; passwords are not kept.
    """
    has_users = db.session.scalar(sa.select(sa.func.count(User.id)))
    has_communes = db.session.scalar(sa.select(Territory.id).where(Territory.level == "commune"))
    if has_users or not has_communes:
        return []
    structures = [_demo_structure(*spec) for spec in DEMO_STRUCTURES]
    logins = []
    for role, email, name, structure_index in DEMO_ACCOUNTS:
        password = secrets.token_urlsafe(9)
        structure = structures[structure_index] if structure_index is not None else None
        db.session.add(
            User(
                email=email,
                display_name=name,
                role=role,
                structure=structure,
                password_hash=hash_password(password),
            )
        )
        logins.append((role, email, password))
    db.session.commit()
    return logins


def _demo_structure(name, kind, commune_code):
    communes = sa.select(Territory).where(Territory.level == "commune")
    commune = db.session.scalar(communes.where(Territory.code == commune_code))
    commune = commune or db.session.scalar(communes.order_by(Territory.code))
    structure = Structure(
        name=name,
        kind=kind,
        commune=commune,
        deployment=deployment_covering(commune),
        onboarded_on=dt.date.today(),
        is_demo=True,
    )
    db.session.add(structure)
    return structure
