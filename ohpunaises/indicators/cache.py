"""Computed figures kept in memory, keyed by their parameters (the viewer's deployments among
them) and by a version of the data.

Aggregating a million reports takes seconds; reading whether anything changed since takes
milliseconds. Each worker keeps the raw figures of its last requests; suppression and
presentation still run per request, for the role asking. Any write through the application
changes the version, so a figure is never served stale; as a write from outside (psql, or on
SQLite a change to a report's actions alone) may not, no entry is kept longer than
MAX_AGE_SECONDS either.
"""

import hashlib
import threading
import time
from collections import OrderedDict

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from .. import data_version
from ..errors import Busy
from ..extensions import db
from ..models import NothingToReport, Report, StageChange, Structure, Territory, TrainingSession

MAX_ENTRIES = 64
MAX_AGE_SECONDS = 300

_entries: OrderedDict = OrderedDict()
_running: dict = {}  # key: Event set when the measure of that key ends
_lock = threading.Lock()


def current_version() -> tuple:
    """A value that changes whenever data the indicators rest on change.

    On PostgreSQL, the data version sequence (see `data_version`): one row read, whatever
    the number of reports. On SQLite, aggregates of the tables: reports change through
    updates, which move `updated_at` (indexed: read from the end of the index), and the count
    catches deletions; structures and sessions are few and summed up whole.
    """
    version = data_version.current(db.session.connection())
    if version is not None:
        return ("sequence", version)
    trainings = sa.select(
        sa.func.count(),
        sa.func.max(TrainingSession.id),
        sa.func.sum(TrainingSession.participants),
        sa.func.sum(sa.func.coalesce(TrainingSession.territory_id, 0)),
        sa.func.sum(sa.func.coalesce(TrainingSession.structure_id, 0)),
        sa.func.min(TrainingSession.held_on),
        sa.func.max(TrainingSession.held_on),
    )
    query = sa.select(
        sa.select(sa.func.count()).select_from(Report).scalar_subquery(),
        sa.select(sa.func.max(Report.updated_at)).scalar_subquery(),
        sa.select(sa.func.count()).select_from(Territory).scalar_subquery(),
        sa.select(sa.func.max(Territory.updated_at)).scalar_subquery(),
        # Declarations and stage changes are only ever added.
        sa.select(sa.func.max(NothingToReport.id)).scalar_subquery(),
        sa.select(sa.func.max(StageChange.id)).scalar_subquery(),
    )
    structures = sa.select(
        Structure.id,
        Structure.kind,
        Structure.commune_id,
        Structure.deployment_id,
        Structure.onboarded_on,
        Structure.active,
        Structure.stage,
        Structure.reporting_cadence,
    ).order_by(Structure.id)
    digest = hashlib.sha256(repr(db.session.execute(structures).all()).encode()).hexdigest()
    return (*db.session.execute(query).one(), *db.session.execute(trainings).one(), digest)


def _key(scope) -> tuple:
    territory = scope.territory.id if scope.territory is not None else None
    period = (scope.period.start, scope.period.end)
    return (
        str(db.engine.url),
        period,
        territory,
        scope.level,
        scope.reference,
        scope.observed_on,
        scope.deployments,
    )


def figures(scope, measure):
    """The figures for this scope: from memory if the data have not changed, else measured.

    At most `FIGURE_COMPUTATIONS` measures run at once in a process, and a request asking
    for figures another is measuring waits for them rather than measuring them again: a
    burst of requests costs what its distinct figures cost, never more than the process
    can afford. Past `FIGURE_WAIT` seconds of waiting, Busy (503).
    """
    key = (*_key(scope), current_version())
    deadline = time.monotonic() + current_app.config["FIGURE_WAIT"]
    while True:
        with _lock:
            found = _entries.get(key)
            if found is not None and time.monotonic() - found[0] < MAX_AGE_SECONDS:
                _entries.move_to_end(key)
                return found[1]
            running = _running.get(key)
            if running is None:
                running = _running[key] = threading.Event()
                break
        if not running.wait(max(0.0, deadline - time.monotonic())):
            raise _busy()
    try:
        computed = _measured(scope, measure, deadline)
        with _lock:
            _entries[key] = (time.monotonic(), computed)
            _entries.move_to_end(key)
            while len(_entries) > MAX_ENTRIES:
                _entries.popitem(last=False)
        return computed
    finally:
        with _lock:
            _running.pop(key, None)
        running.set()


def _measured(scope, measure, deadline: float):
    slots = current_app.extensions["ohpunaises_figure_slots"]
    if not slots.acquire(timeout=max(0.0, deadline - time.monotonic())):
        raise _busy()
    try:
        return measure(scope)
    finally:
        slots.release()


def _busy() -> Busy:
    return Busy(
        _("Les indicateurs sont en cours de calcul pour d'autres demandes : réessayez bientôt."),
        retry_after=5,
    )


def init_app(app):
    """How many measures may run at once in this process (`OHPUNAISES_FIGURE_COMPUTATIONS`)."""
    app.extensions["ohpunaises_figure_slots"] = threading.BoundedSemaphore(
        app.config["FIGURE_COMPUTATIONS"]
    )


def clear():
    """Forget every cached figure (benchmarks measure the cold path with it)."""
    with _lock:
        _entries.clear()
