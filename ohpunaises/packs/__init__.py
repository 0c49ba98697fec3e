"""A frozen pack of figures rendered as PDF, XLSX, CSV or JSON, for steering committees and
funders.

Renderers read only the pack's frozen `content` and its `meta` (status, hash, approval): the
same pack renders the same figures however the data moved since. The wording shared by the
formats (dates in words, approval, changes) lives here; each format has its own module.
"""

import datetime as dt
import json
import re
import unicodedata
from zoneinfo import ZoneInfo

from babel import numbers
from flask import current_app
from flask_babel import force_locale, format_date, format_time, get_locale
from flask_babel import gettext as _

FORMATS = ("pdf", "xlsx", "csv", "json")
MEDIA_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}
LOCALE = "fr"  # packs are read by French institutions, whoever asks for them
NBSP, NNBSP = "\u00a0", "\u202f"  # non-breaking space, narrow non-breaking space


def render(content: dict, meta: dict, fmt: str, progress=None) -> bytes:
    """The pack in `fmt`; `progress(percent:int)` is called as the work advances (may be None).
    Needs an app context (outlines are read from the database for the map)."""
    if fmt not in FORMATS:
        raise ValueError(f"Unknown pack format: {fmt!r}")
    report = progress or (lambda percent: None)
    with force_locale(LOCALE):
        if fmt == "pdf":
            from .pdf import render_pdf

            body = render_pdf(content, meta, report)
        elif fmt == "xlsx":
            from .tables import render_xlsx

            body = render_xlsx(content, meta)
        elif fmt == "csv":
            from .tables import render_csv

            body = render_csv(content, meta)
        else:
            body = render_json(content, meta)
    report(100)
    return body


def render_json(content: dict, meta: dict) -> bytes:
    """Canonical JSON of the content and its meta, UTF-8."""
    document = {"content": content, "meta": meta}
    return json.dumps(document, sort_keys=True, ensure_ascii=False, indent=2).encode("utf-8")


def filename(content: dict, fmt: str) -> str:
    """The file's name, e.g. "pack-metropole-de-lyon-2026-t3.pdf" (ASCII)."""
    deployment = content.get("deployment") or {}
    place = slug(deployment.get("name") or "ensemble-du-programme") or "deploiement"
    return f"pack-{place}-{period_slug(content.get('period') or {})}.{fmt}"


def slug(text: str) -> str:
    """Lower-case ASCII words joined by hyphens."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60].strip("-")


def period_slug(period: dict) -> str:
    """The period in a file name: "2026-07" (a month), "2026-t3" (a quarter), "2026" (a year),
    else both dates."""
    start, end = as_date(period.get("start")), as_date(period.get("end"))
    if start is None or end is None:
        return "periode"
    if start.day == 1 and end == _month_last_day(start, months=0):
        return f"{start:%Y-%m}"
    if start.day == 1 and start.month % 3 == 1 and end == _month_last_day(start, months=2):
        return f"{start.year}-t{(start.month - 1) // 3 + 1}"
    if (start.month, start.day, end.month, end.day, start.year) == (1, 1, 12, 31, end.year):
        return str(start.year)
    return f"{start.isoformat()}-{end.isoformat()}"


def _month_last_day(start: dt.date, months: int) -> dt.date:
    year, month = divmod(start.month - 1 + months + 1, 12)
    return dt.date(start.year + year, month + 1, 1) - dt.timedelta(days=1)


# Wording shared by the formats ----------------------------------------------------------------


def as_date(value) -> dt.date | None:
    """An ISO date (or datetime) string as a date; None when absent or unreadable."""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def as_moment(value) -> dt.datetime | None:
    """An ISO datetime string in the platform's time zone; None when absent or unreadable."""
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"]))


def day_words(value, year: bool = True) -> str:
    """A day as French writes it, "1er juillet 2026" (the first of a month is "1er")."""
    day = as_date(value)
    if day is None:
        return str(value or "")
    month = format_date(day, "MMMM y" if year else "MMMM")
    return f"{_day_number(day)}{NBSP}{month}"


def _day_number(day: dt.date) -> str:
    """ "1er" for the first of a month in French (a pack's page may be read in English)."""
    french = str(get_locale()).startswith("fr")
    return "1er" if french and day.day == 1 else str(day.day)


def period_words(period: dict) -> str:
    """A period's dates in words: "du 1er juillet au 30 septembre 2026"."""
    start, end = as_date(period.get("start")), as_date(period.get("end"))
    if start is None or end is None:
        return period.get("label") or ""
    if (start.year, start.month) == (end.year, end.month):
        return _("du %(start)s au %(end)s", start=_day_number(start), end=day_words(end))
    first = day_words(start, year=start.year != end.year)
    return _("du %(start)s au %(end)s", start=first, end=day_words(end))


def moment_words(value) -> str:
    """A moment in words, "3 décembre 2026 à 8 h 00", in the platform's time zone."""
    moment = as_moment(value)
    if moment is None:
        return str(value or "")
    hour = format_time(moment, "H' h 'mm")
    return _("%(day)s à %(time)s", day=day_words(moment.date()), time=hour.replace(" ", NBSP))


def approval_words(meta: dict) -> str:
    """Who approved the pack and when, or why it is not approved."""
    status = meta.get("status")
    if status == "approved":
        approved = as_moment(meta.get("approved_at"))
        return _(
            "Approuvé par %(who)s le %(day)s",
            who=meta.get("approved_by") or _("la coordination"),
            day=day_words(approved.date()) if approved else "—",
        )
    if status == "withdrawn":
        return _("Retiré : ce dossier ne doit plus être diffusé.")
    return _("PROJET — non approuvé : ce dossier ne doit pas être diffusé.")


DIRECTIONS = {"up": "▲", "down": "▼", "same": "=", "none": "–"}


def direction_words(direction: str | None) -> str:
    """The direction of a change, in words."""
    return {
        "up": _("en hausse"),
        "down": _("en baisse"),
        "same": _("stable"),
    }.get(direction or "none", _("non comparable"))


def decimal(value, places: int = 1) -> str:
    """A number as French writes it, with at most `places` decimals: "1 234,5"."""
    pattern = "#,##0" + ("." + "#" * places if places else "")
    return numbers.format_decimal(value, pattern, locale=LOCALE)


_SPACE_BEFORE = re.compile(r"[ \u00a0](?=[:;!?»%€])")
_SPACE_AFTER = re.compile(r"(?<=«)[ \u00a0]")
_LESS_THAN = re.compile(r"(<|&lt;)[ ](?=\d)")


def french_spacing(text: str) -> str:
    """French typography: non-breaking spaces before « : ; ! ? » % € and inside « ».

    Also keeps "< 5" on one line.
    """
    text = _SPACE_BEFORE.sub(NBSP, text)
    text = re.sub(NBSP + r"(?=[;!?])", NNBSP, text)
    text = _SPACE_AFTER.sub(NBSP, text)
    return _LESS_THAN.sub(lambda match: match.group(1) + NBSP, text)


def with_threshold(text: str, k: int | None) -> str:
    """A protection text with the pack's threshold in place of K ("< 5", "de 1 à 4")."""
    if not isinstance(k, int) or isinstance(k, bool):
        return text
    return text.replace("« < K »", f"« < {k} »").replace("1 à K-1", f"1 à {k - 1}")
