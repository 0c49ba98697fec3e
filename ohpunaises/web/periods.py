"""The periods the dashboard and the map offer to readers of protected figures: the whole
history, a calendar year, quarter or month (docs/privacy.md), as one list to pick from."""

import datetime as dt
import re

import sqlalchemy as sa
from flask_babel import format_date
from flask_babel import gettext as _

from ..errors import invalid
from ..extensions import db
from ..models import Report
from ..privacy import grid_periods

CHOICE = re.compile(r"(\d{4})(?:-T([1-4])|-(\d{2}))?")


def period_choices(today: dt.date) -> list[tuple[str, str]]:
    """(value, label) of every period from the first report's to today's, newest first."""
    first = db.session.scalar(sa.select(sa.func.min(Report.intervention_date))) or today
    choices = [("", _("Tout l'historique"))]
    for start, end in grid_periods(min(first, today), today):
        choices.append((choice_of(start, end), label_of(start, end)))
    return choices


def choice_of(start: dt.date, end: dt.date) -> str:
    """ "2025", "2025-T2" or "2025-03"."""
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    if months == 12:
        return f"{start.year}"
    if months == 3:
        return f"{start.year}-T{(start.month + 2) // 3}"
    return f"{start.year}-{start.month:02d}"


def label_of(start: dt.date, end: dt.date) -> str:
    value = choice_of(start, end)
    if "-T" in value:
        return _("T%(quarter)s %(year)s", quarter=value[-1], year=start.year)
    if "-" in value:
        return format_date(start, "MMMM y")
    return value


def period_of(value: str) -> tuple[dt.date | None, dt.date | None]:
    """The dates of a choice ("" for the whole history); Invalid for anything else."""
    if not value:
        return None, None
    match = CHOICE.fullmatch(value)
    month = int(match.group(3)) if match and match.group(3) else 1
    if match is None or not 1 <= month <= 12 or not 2000 <= int(match.group(1)) <= 2100:
        raise invalid("periode", _("Période inconnue : choisissez-la dans la liste."))
    year = int(match.group(1))
    if match.group(2):
        first_month, months = 3 * int(match.group(2)) - 2, 3
    elif match.group(3):
        first_month, months = int(match.group(3)), 1
    else:
        first_month, months = 1, 12
    start = dt.date(year, first_month, 1)
    index = year * 12 + first_month - 1 + months
    return start, dt.date(index // 12, index % 12 + 1, 1) - dt.timedelta(days=1)
