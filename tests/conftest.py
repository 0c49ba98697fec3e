"""Fixtures: the whole suite runs once on SpatiaLite and once on PostGIS."""

import functools
import os
import uuid

import psycopg
import pytest
import sqlalchemy as sa

from ohpunaises import bootstrap, jobs
from ohpunaises.app import create_app
from ohpunaises.extensions import db
from ohpunaises.models import AuditEvent, Base, Territory

DATABASES = os.environ.get("OHPUNAISES_TEST_DATABASES", "spatialite,postgis").split(",")
POSTGRES = os.environ.get("OHPUNAISES_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
SECRET = "test-secret-key-long-enough-for-signing"
KEPT_TABLES = {"territories", "deployments", "deployment_territories"}


def create_postgres_database(name: str) -> str:
    """A new, empty PostgreSQL database; the run fails if PostgreSQL cannot be reached."""
    try:
        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        pytest.fail(f"PostGIS run asked for, but PostgreSQL is unreachable: {error}")
    return f"{POSTGRES}/{name}"


def drop_postgres_database(name: str):
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def new_database_url(tmp_path_factory):
    """Makes empty databases of the kind under test; they are dropped at the end."""
    created = []

    def make(kind: str) -> str:
        name = f"ohpunaises_test_{uuid.uuid4().hex[:8]}"
        if kind == "spatialite":
            return f"sqlite:///{tmp_path_factory.mktemp('db') / name}.sqlite"
        created.append(name)
        return create_postgres_database(name)

    yield make
    for name in created:
        drop_postgres_database(name)


@pytest.fixture(scope="session", params=DATABASES)
def database_kind(request):
    return request.param


@pytest.fixture(scope="session")
def database_url(database_kind, new_database_url):
    return new_database_url(database_kind)


def environ_for(database_url: str, **extra) -> dict:
    return {"DATABASE_URL": database_url, "OHPUNAISES_ENV": "test", "SECRET_KEY": SECRET, **extra}


@pytest.fixture(scope="session")
def instance_path(tmp_path_factory):
    """An instance folder of the run's own: messages written without a mail server land there,
    never in the checkout's."""
    return str(tmp_path_factory.mktemp("instance"))


@pytest.fixture(scope="session")
def app(database_url, instance_path):
    """The application on a migrated database holding the default territories."""
    app = create_app(environ_for(database_url))
    app.instance_path = instance_path
    with app.app_context():
        bootstrap.upgrade_schema()
        bootstrap.load_default_territories()
        bootstrap.ensure_default_deployment()
        # Each test starts with an empty audit log, whichever test runs first.
        db.session.execute(sa.delete(AuditEvent))
        db.session.commit()
        baseline = set(db.session.scalars(sa.select(Territory.code)))
    app.config["TEST_BASELINE_TERRITORIES"] = baseline
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _clean_database(request):
    """Each test starts from the default territories and nothing else."""
    yield
    if "app" not in request.fixturenames:
        return
    assert jobs.drain(), "a background job outlived its test"
    app = request.getfixturevalue("app")
    with app.app_context():
        db.session.rollback()
        for table in reversed(Base.metadata.sorted_tables):
            if table.name not in KEPT_TABLES:
                db.session.execute(table.delete())
        baseline = app.config["TEST_BASELINE_TERRITORIES"]
        db.session.execute(
            sa.update(Territory).values(parent_id=None).where(Territory.code.not_in(baseline))
        )
        db.session.execute(sa.delete(Territory).where(Territory.code.not_in(baseline)))
        db.session.commit()
        db.session.remove()


@pytest.fixture
def app_context(app):
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# Accounts and API clients ----------------------------------------------------------------------

ROLES = ("agent", "partner_admin", "coordinator", "institution", "evaluator")


class ApiClient:
    """Real requests through the app, with a bearer token."""

    def __init__(self, client, token=None, user_id=None, structure_id=None):
        self.client, self.token = client, token
        self.user_id, self.structure_id = user_id, structure_id

    def request(self, method, url, headers=None, **kwargs):
        headers = dict(headers or {})
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        return self.client.open(url, method=method, headers=headers, **kwargs)

    def get(self, url, **kwargs):
        return self.request("GET", url, **kwargs)

    def post(self, url, **kwargs):
        return self.request("POST", url, **kwargs)

    def patch(self, url, **kwargs):
        return self.request("PATCH", url, **kwargs)

    def delete(self, url, **kwargs):
        return self.request("DELETE", url, **kwargs)


def make_structure(name, commune_code, kind="association"):
    from ohpunaises.usecases.structures import new_structure

    commune = db.session.scalar(sa.select(Territory).where(Territory.code == commune_code))
    structure = new_structure(name, kind, commune)
    db.session.flush()
    return structure


def make_report(structure, commune_code, day, point=None, **fields):
    """A report of the structure in the commune, at `point` (lon, lat) if given, stored as
    written (not placed): social housing, moderate, from the form, unless `fields` say."""
    from geoalchemy2.shape import from_shape
    from shapely.geometry import Point

    from ohpunaises.models import Report
    from ohpunaises.territories import territory_by_code

    fields = {"housing": "social", "infestation_level": "moderate", "source": "form", **fields}
    location = from_shape(Point(*point), srid=4326) if point else None
    report = Report(
        structure=structure,
        intervention_date=day,
        commune=territory_by_code(commune_code),
        location=location,
        **fields,
    )
    db.session.add(report)
    return report


@functools.cache
def password_hash(password):
    """Argon2 is slow by design: hash each test password once per run."""
    from ohpunaises.auth import hash_password

    return hash_password(password)


def make_user(email, role, structure=None, password="mot-de-passe-solide"):
    from ohpunaises.models import User

    user = User(
        email=email,
        role=role,
        structure=structure,
        display_name=email.split("@")[0],
        password_hash=password_hash(password),
    )
    db.session.add(user)
    db.session.flush()
    return user


def signed_in_client(app, user_id: int):
    """A test client signed in as this account through its session, as the sign-in form would
    leave it (the form itself is rate limited, and tested in test_web_session)."""
    from ohpunaises.models import User
    from ohpunaises.usecases.sessions import start_session

    with app.app_context():
        user = db.session.get(User, user_id)
        start_session(user, remember=False)
        db.session.commit()
        cookie_id = user.get_id()
        db.session.remove()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"] = cookie_id, True
    return client


@pytest.fixture
def accounts(app, client):
    """Two structures (A in Lyon, B in Villeurbanne) and one API client per role.

    Keys: the five roles (agent and partner_admin of A), plus `agent_b` of B and `anonymous`.
    """
    from ohpunaises.auth import issue_token

    with app.app_context():
        a = make_structure("Structure A", "69123", "social_landlord")
        b = make_structure("Structure B", "69266", "association")
        users = {
            role: make_user(
                f"{role}@example.org", role, a if role in ("agent", "partner_admin") else None
            )
            for role in ROLES
        }
        users["agent_b"] = make_user("agent-b@example.org", "agent", b)
        tokens = {key: issue_token(user)[0] for key, user in users.items()}
        clients = {
            key: ApiClient(client, tokens[key], user.id, user.structure_id)
            for key, user in users.items()
        }
        db.session.commit()
    clients["anonymous"] = ApiClient(client)
    return clients


@pytest.fixture
def make_app(database_url, instance_path):
    """Builds another application on the test database with other settings; disposed after."""
    made = []

    def make(url=None, **env):
        other = create_app(environ_for(url or database_url, **env))
        other.instance_path = instance_path
        made.append(other)
        return other

    yield make
    for other in made:
        with other.app_context():
            db.engine.dispose()
