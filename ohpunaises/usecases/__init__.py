"""The use cases: every change and every read that needs a permission goes through here.

One module per domain. A use case takes an explicit `permissions.Actor`, checks the
permission table, does the work, writes the audit event, commits once, and returns what it
made; it refuses with the errors of `ohpunaises.errors`, which carry no HTTP status. The API,
the pages and the command line are adapters around them (DESIGN §5, docs/architecture.md).
"""

from contextlib import contextmanager

from ..extensions import db


def containing(search: str) -> str:
    """The LIKE pattern of a case-insensitive search for `search` anywhere in a lowered text."""
    return "%" + search.strip().lower().replace("%", "").replace("_", "") + "%"


@contextmanager
def transaction():
    """A use case's unit of work: committed once when it ends, rolled back if it fails.

    It starts with nothing pending, so a rollback only ever undoes the use case's own
    writes. The objects it wrote stay loaded after the commit: they are what was just
    stored, and an adapter presenting them should not read them back.
    """
    session = db.session()
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("A use case starts with no pending change: commit or roll back first.")
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    keep = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = keep
