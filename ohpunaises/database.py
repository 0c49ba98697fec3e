"""Connection set-up: SpatiaLite on the embedded database, and a health probe."""

import sqlalchemy as sa
from geoalchemy2.admin.dialects.sqlite import init_spatialite

from .extensions import db


def configure_engine(app):
    """Make every SQLite connection spatial and safe for several writers."""
    engine = db.engine
    if engine.dialect.name != "sqlite":
        return
    library = app.config["SPATIALITE_LIBRARY"]

    def on_connect(dbapi_conn, _record):
        # Let SQLAlchemy, not the driver, open transactions, so that SAVEPOINT works.
        dbapi_conn.isolation_level = None
        dbapi_conn.enable_load_extension(True)
        dbapi_conn.load_extension(library)
        dbapi_conn.enable_load_extension(False)
        dbapi_conn.execute("PRAGMA foreign_keys = ON")
        dbapi_conn.execute("PRAGMA journal_mode = WAL")
        dbapi_conn.execute("PRAGMA busy_timeout = 30000")
        init_spatialite(dbapi_conn, transaction=True, init_mode="WGS84")

    def on_begin(connection):
        # IMMEDIATE takes the write lock up front: no deadlock between two upgrading readers.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    sa.event.listen(engine, "connect", on_connect)
    sa.event.listen(engine, "begin", on_begin)


def is_postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def database_is_reachable() -> bool:
    """True when a trivial query succeeds."""
    try:
        with db.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        return False
    return True
