"""Retention (DESIGN §3): old reports lose their point, dwelling key and notes; keep places.

A use case of the command line (`ohpunaises retention apply`), audited like the others.
"""

import datetime as dt

import sqlalchemy as sa

from .. import audit, privacy
from ..extensions import db
from ..models import Report
from ..models.base import utcnow
from ..permissions import Actor
from . import transaction


def due(cutoff: dt.date):
    """Reports whose intervention is older than the cutoff and not anonymised yet."""
    return sa.and_(Report.intervention_date < cutoff, Report.anonymised_at.is_(None))


def count_due(cutoff: dt.date) -> int:
    return db.session.scalar(sa.select(sa.func.count()).where(due(cutoff)))


def apply(
    actor: Actor, age: str, dry_run: bool = False, today: dt.date | None = None
) -> tuple[dt.date, int]:
    """Anonymise the reports older than `age` ("5y", "18m", "90d"); (cutoff, count).

    Idempotent: a report is anonymised once. The commune, arrondissement and QPV stay, so the
    indicators keep their counts. A dry run counts and changes nothing.
    """
    actor.check("retention.apply")
    cutoff = privacy.cutoff_date(age, today)
    if dry_run:
        return cutoff, count_due(cutoff)
    with transaction():
        return cutoff, _anonymise(actor, age, cutoff)


def _anonymise(actor: Actor, age: str, cutoff: dt.date) -> int:
    now = utcnow()
    result = db.session.execute(
        sa.update(Report)
        .where(due(cutoff))
        .values(
            location=None,
            dwelling_key=None,
            notes=None,
            anonymised_at=now,
            updated_at=now,
            version=Report.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    audit.record(
        actor,
        "retention.apply",
        f"older_than={age}",
        {"older_than": age, "cutoff": cutoff, "rows": result.rowcount},
    )
    return result.rowcount
