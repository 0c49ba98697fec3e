"""A number that moves after every committed write, so that a cache can tell, in one cheap
read, that nothing has changed since it computed its figures.

On PostgreSQL it is the sequence `data_version`, advanced once after each commit of a
session that wrote to a table the figures rest on (ORM flush or INSERT/UPDATE/DELETE
statement): reading it costs
the same with ten reports or ten million, and a sequence never blocks concurrent writers.
It moves after the commit, never before, so that no figure computed before a change is ever
kept under the version that follows it. A write made outside the application (psql) does
not move it; the cache's maximum age bounds how long that goes unseen.

SQLite has no sequence: `current` returns None there, and the cache falls back on
aggregates of the tables themselves, which cost little at the embedded database's size.
"""

import itertools

import sqlalchemy as sa
from sqlalchemy.orm import Session

SEQUENCE = "data_version"
_CHANGED = "data_version_changed"


def note_change(session: Session):
    """Have the next commit of this session move the version (for writes made by COPY)."""
    session.info[_CHANGED] = True


def current(connection) -> int | None:
    if connection.dialect.name != "postgresql":
        return None
    return connection.execute(sa.text(f"SELECT last_value FROM {SEQUENCE}")).scalar_one()


# What the figures rest on; sign-ins and token use, which write too, leave the version be.
TRACKED_TABLES = frozenset(
    {
        "reports",
        "report_actions",
        "report_status_changes",
        "structures",
        "stage_changes",
        "nothing_to_report",
        "training_sessions",
        "territories",
        "deployments",
        "deployment_territories",
    }
)


def init_app(app):
    """Move the version after the commits of the application's sessions that wrote to
    tracked tables (listeners on its own session class, added once per process)."""
    session_class = app.extensions["sqlalchemy"].session.session_factory.class_
    for name, listener in (
        ("after_flush", _flushed),
        ("do_orm_execute", _executed),
        ("after_commit", _committed),
    ):
        if not sa.event.contains(session_class, name, listener):
            sa.event.listen(session_class, name, listener)


def _flushed(session, _context):
    # The session still lists what it has just flushed.
    changed = itertools.chain(session.new, session.dirty, session.deleted)
    if any(getattr(item, "__tablename__", None) in TRACKED_TABLES for item in changed):
        note_change(session)


def _executed(state):
    writes = state.is_insert or state.is_update or state.is_delete
    if writes and state.statement.table.name in TRACKED_TABLES:
        note_change(state.session)


def _committed(session):
    if not session.info.pop(_CHANGED, False):
        return
    engine = session.get_bind()
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT")
        connection.execute(sa.text(f"SELECT nextval('{SEQUENCE}')"))
