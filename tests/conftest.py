"""Fixtures: the whole suite runs once on SpatiaLite and once on PostGIS."""

import os
import uuid

import psycopg
import pytest
import sqlalchemy as sa

from ohpunaises import bootstrap
from ohpunaises.app import create_app
from ohpunaises.extensions import db
from ohpunaises.models import Base, Territory

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
def app(database_url):
    """The application on a migrated database holding the default territories."""
    app = create_app(environ_for(database_url))
    with app.app_context():
        bootstrap.upgrade_schema()
        bootstrap.load_default_territories()
        bootstrap.ensure_default_deployment()
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
