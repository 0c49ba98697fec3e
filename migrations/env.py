"""Alembic environment: migrations run against the application's database."""

import logging
from contextlib import contextmanager
from logging.config import fileConfig

from alembic import context
from flask import current_app
from geoalchemy2 import alembic_helpers

from ohpunaises.models import Base
from ohpunaises.models.base import UTCDateTime

config = context.config
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")
target_metadata = Base.metadata


def include_object(obj, name, obj_type, reflected, compare_to):
    """Leave alone every table the models do not declare (PostGIS's and SpatiaLite's own)."""
    if obj_type == "table" and name not in target_metadata.tables:
        return False
    return alembic_helpers.include_object(obj, name, obj_type, reflected, compare_to)


def render_item(obj_type, obj, autogen_context):
    if obj_type == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return alembic_helpers.render_item(obj_type, obj, autogen_context)


def process_revision_directives(context_, revision, directives):
    alembic_helpers.writer(context_, revision, directives)
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        logger.info("No changes in schema detected.")


def run_migrations_online():
    engine = current_app.extensions["migrate"].db.engine
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            with _foreign_keys_checked_after(connection):
                _run(connection)
        else:
            _run(connection)


@contextmanager
def _foreign_keys_checked_after(connection):
    """SQLite changes a column by copying its table (Alembic's batch mode), which dropping the
    old table forbids while other tables refer to it: foreign keys are enforced again, and
    checked, once the migrations are done."""
    # On the driver's own connection, outside any transaction: a PRAGMA inside one is ignored.
    driver = connection.connection.dbapi_connection
    driver.execute("PRAGMA foreign_keys = OFF")
    try:
        yield
        broken = driver.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"migrations broke foreign keys: {broken[:5]}")
    finally:
        driver.execute("PRAGMA foreign_keys = ON")


def _run(connection):
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        render_item=render_item,
        process_revision_directives=process_revision_directives,
        **current_app.extensions["migrate"].configure_args,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
