"""First start: schema, default territories, default deployment, demo accounts.

The shipped territories are Lyon's: they are loaded only into a database holding no
territory at all, so that a programme opened elsewhere (its territories loaded first, or
`init --no-default-territories`) never gets Lyon in its lists, totals and maps. Each step
goes through its use case as the command-line operator, so that it is audited like any other
change.
"""

import datetime as dt
import functools
import json
from importlib import resources

import flask_migrate
import sqlalchemy as sa

from .extensions import db
from .models import Deployment, Territory, User
from .permissions import Actor
from .usecases.accounts import create_user
from .usecases.deployments import create_deployment
from .usecases.structures import create_structure
from .usecases.territories import TerritoryFile, load_territories

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


def territories_loaded() -> int:
    """How many territories the database holds, of any level."""
    return db.session.scalar(sa.select(sa.func.count(Territory.id)))


def load_default_territories(progress=None) -> dict[str, int] | None:
    """Load the shipped Lyon territories, each level, into a database holding no territory;
    None (nothing loaded) when it holds some already, whatever their country or level."""
    if territories_loaded():
        return None
    loaded = {}
    for level, filename in DEFAULT_TERRITORIES:
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


@functools.cache
def shipped_commune_codes() -> tuple[str, ...]:
    """The codes of the communes of the shipped file (the Métropole de Lyon)."""
    _level, filename = DEFAULT_TERRITORIES[0]
    features = json.loads((DATA / filename).read_text(encoding="utf-8"))["features"]
    return tuple(sorted(feature["properties"]["code_insee"] for feature in features))


def ensure_default_deployment() -> Deployment | None:
    """The default deployment over the shipped Lyon communes loaded, when no deployment
    exists yet and some of them are loaded."""
    if db.session.scalar(sa.select(sa.func.count(Deployment.id))):
        return None
    codes = db.session.scalars(
        sa.select(Territory.code)
        .where(Territory.level == "commune", Territory.code.in_(shipped_commune_codes()))
        .order_by(Territory.code)
    ).all()
    if not codes:
        return None
    return create_deployment(Actor.operator(), DEFAULT_DEPLOYMENT, codes)


def demo_communes_loaded() -> bool:
    """Whether the communes of the demo structures (in Lyon's Métropole) are all loaded."""
    wanted = {commune for _name, _kind, commune in DEMO_STRUCTURES}
    found = db.session.scalars(
        sa.select(Territory.code).where(Territory.level == "commune", Territory.code.in_(wanted))
    ).all()
    return set(found) == wanted


def create_demo_accounts() -> list[tuple[str, str, str]]:
    """One demo account per role, on a database without any account: those without a
    structure always, the structure-bound ones (and their demo structures) only when the
    demo communes are loaded.

    Returns (role, email, password) for each account created; passwords are not kept.
    """
    if db.session.scalar(sa.select(sa.func.count(User.id))):
        return []
    operator = Actor.operator()
    structures = None
    if demo_communes_loaded():
        structures = [_demo_structure(operator, *spec) for spec in DEMO_STRUCTURES]
    logins = []
    for role, email, name, structure_index in DEMO_ACCOUNTS:
        if structure_index is not None and structures is None:
            continue
        structure = structures[structure_index] if structure_index is not None else None
        _user, password = create_user(
            operator, email, role, structure.id if structure else None, display_name=name
        )
        logins.append((role, email, password))
    return logins


def _demo_structure(operator: Actor, name, kind, commune_code):
    data = {"name": name, "kind": kind, "commune": commune_code, "onboarded_on": dt.date.today()}
    return create_structure(operator, data, demo=True)
