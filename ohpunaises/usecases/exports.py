"""Exports: reports as CSV for the roles the table lets export rows, indicators per territory
as GeoJSON for those it lets export aggregates; every export goes into the audit log."""

from collections.abc import Iterator
from dataclasses import dataclass, field

from flask_babel import gettext as _

from .. import audit, exports, logs
from ..errors import invalid
from ..extensions import db
from ..indicators import Period
from ..permissions import Actor
from . import transaction
from .indicators import read_indicators
from .reports import filtered_reports


@dataclass
class ReportExport:
    """A CSV export ready to stream: who asked, what (its query, built once: the stream reads
    nothing else), and how far it has gone."""

    actor: Actor
    filters: dict
    options: exports.Options
    reports: object  # the query on reports, from `filtered_reports`
    progress: exports.Progress = field(default_factory=exports.Progress)

    def rows(self) -> int:
        """How many rows it will hold (for a progress bar), read on a connection of its own
        that is closed at once: on SQLite the stream's must be the only one open."""
        with db.engine.connect() as connection:
            return exports.count_rows(connection, self.reports)

    def chunks(self, target: str) -> Iterator[bytes]:
        """The CSV, read on a connection of its own; once it ends, however it ends, it goes
        into the audit log with the number of rows written and `target`."""
        try:
            with db.engine.connect() as connection:
                if connection.dialect.name == "postgresql":
                    # An export of every report may take longer than a page's statements.
                    connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
                yield from exports.csv_stream(
                    connection, self.actor, self.reports, self.options, self.progress
                )
        finally:
            exports.record_export(self.actor, self.filters, self.options, self.progress, target)


def export_reports(actor: Actor, filters: dict, options: exports.Options) -> ReportExport:
    """The reports `export.rows` reaches for the actor, as CSV; an unknown territory is refused
    now, before anything is sent."""
    actor.check("export.rows")
    if filters.get("structure") and exports.pseudonymised(actor.role):
        # Each structure's own export would tie its pseudonyms to it.
        message = _("Un export pseudonymisé ne se filtre pas par structure.")
        raise invalid("structure", message)
    # Everything the stream needs is read here, and the request's reads end: on SQLite the
    # stream's own connection may begin only then.
    with transaction():
        reports = filtered_reports(actor, filters, "export.rows")
        detached = actor.detached()
    return ReportExport(detached, filters, options, reports)


def export_territories(actor: Actor, period: Period, level: str) -> dict:
    """Indicators per territory of `level` with their outlines, as the actor may read them."""
    actor.check("export.aggregates")
    with transaction():
        result = read_indicators(actor, period, None, level, action="export.aggregates")
        collection = exports.territories_geojson(result)
        asked = {"date_from": period.start, "date_to": period.end, "level": level}
        details = {
            "filters": {key: value for key, value in asked.items() if value is not None},
            "rows": len(collection["features"]),
        }
        audit.record(actor, "export.territories", "territories.geojson", details)
    logs.event("export", kind="territories.geojson", rows=details["rows"], complete=True)
    return collection
