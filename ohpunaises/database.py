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
        dbapi_conn.enable_load_extension(True)
        dbapi_conn.load_extension(library)
        dbapi_conn.enable_load_extension(False)
        dbapi_conn.execute("PRAGMA foreign_keys = ON")
        dbapi_conn.execute("PRAGMA journal_mode = WAL")
        dbapi_conn.execute("PRAGMA busy_timeout = 30000")
        init_spatialite(dbapi_conn, transaction=True, init_mode="WGS84")

    sa.event.listen(engine, "connect", on_connect)


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
