"""The pack as a printable PDF: an HTML page rendered by Flask, written by WeasyPrint.

Everything the document shows is drawn here from the frozen content: the map from the
territories' outlines, the charts and the targets' bars as inline SVG. Nothing is fetched:
WeasyPrint's fetcher refuses every URL but inline data and the app's own files, and the
fonts are the system's DejaVu (Debian's fonts-dejavu-core), embedded in the PDF.
"""

import re
import unicodedata
from pathlib import Path

from flask import render_template
from flask_babel import gettext as _
from flask_babel import ngettext

from . import (
    DIRECTIONS,
    NBSP,
    approval_words,
    day_words,
    decimal,
    direction_words,
    filename,
    french_spacing,
    moment_words,
    period_words,
    svg,
    with_threshold,
)
from . import outlines as outline_store

PACKAGE = Path(__file__).resolve().parent.parent
HEADLINES = (
    "reports",
    "distinct_dwellings",
    "people_reached",
    "active_structures",
    "communes_covered",
    "reports_per_10000",
    "resolution_rate",
    "share_vulnerable",
)
CHARTED = ("reports_by_action", "reports_by_structure_kind", "reports_by_quarter")
CHRONOLOGICAL = ("reports_by_quarter",)  # a trend reads in time order, not by size
SYMBOL_UNITS = ("%", "€")  # written right after the number
STATUS_ORDER = ("on_track", "at_risk", "off_track", "not_started", "unavailable")
MAP_BOX = (330.0, 400.0)  # points: the largest map that leaves room for its legend
TERRITORY_COLUMNS = 3


def render_pdf(content: dict, meta: dict, progress) -> bytes:
    """The pack as PDF bytes; progress at 10 (outlines read), 60 (HTML written) and 85 (pages
    laid out)."""
    from weasyprint import HTML  # a heavy import, only for those who print

    territories = (content.get("map") or {}).get("territories") or []
    drawing = outline_store.load(row["code"] for row in territories)
    progress(10)
    html = typeset(render_template("packs/pack.html", **view(content, meta, drawing)))
    progress(60)
    document = HTML(string=html, base_url=PACKAGE.as_uri() + "/", url_fetcher=local_fetcher())
    laid_out = document.render()
    progress(85)
    return laid_out.write_pdf()


def local_fetcher():
    """WeasyPrint's fetcher, limited to inline data and the app's own files."""
    from weasyprint.urls import URLFetcher

    class LocalOnly(URLFetcher):
        """Inline data and the app's own files; anything else stops the rendering."""

        def fetch(self, url, headers=None):
            if url.startswith("data:") or url.startswith(PACKAGE.as_uri() + "/"):
                return super().fetch(url, headers)
            raise ValueError(f"Pack rendering fetches nothing remote: {url[:80]}")

    return LocalOnly(allowed_protocols=("data", "file"), fail_on_errors=True)


_TEXT = re.compile(r">([^<]+)<")


def typeset(html: str) -> str:
    """French spacing in every text of the body (the style sheet before it is left alone)."""
    head, _mark, body = html.partition("<body>")
    spaced = _TEXT.sub(lambda match: ">" + french_spacing(match.group(1)) + "<", body)
    return f"{head}<body>{spaced}"


# What the template reads ------------------------------------------------------------------------


def view(content: dict, meta: dict, drawing) -> dict:
    """Everything the template shows, already in words."""
    indicators = content.get("indicators") or []
    by_id = {indicator["id"]: indicator for indicator in indicators}
    period = content.get("period") or {}
    previous = content.get("previous_period") or {}
    k = (content.get("suppression") or {}).get("k")
    return {
        "content": content,
        "meta": meta,
        "deployment": (content.get("deployment") or {}).get("name") or _("Ensemble du programme"),
        "period_label": period.get("label") or "",
        "running_title": running_title(content.get("title") or "", period.get("label") or ""),
        "period_words": period_words(period),
        "previous_label": previous.get("label") or "",
        "previous_words": period_words(previous) if previous else "",
        "frozen_words": moment_words(content.get("frozen_at")),
        "approval": approval_words(meta),
        "hash": meta.get("content_hash") or "",
        "verify_command": verify_command(filename(content, "json")),
        "headlines": [figure(by_id[key]) for key in HEADLINES if key in by_id],
        "status_counts": status_counts(content.get("targets") or []),
        "targets": [target_row(target) for target in content.get("targets") or []],
        "map": map_view(content.get("map"), drawing),
        "charts": [chart(by_id[key], k) for key in CHARTED if by_id.get(key, {}).get("parts")],
        "themes": themes(indicators),
        "definitions": definitions(indicators, k),
        "previous_pack": previous_pack(content.get("previous_pack")),
    }


def verify_command(json_name: str) -> str:
    """The command that recomputes the hash from the pack's JSON file (Python 3, any system);
    the canonical form is the use case's: sorted keys, no spaces, UTF-8."""
    return (
        "python3 -c \"import hashlib, json; c = json.load(open('" + json_name + "', "
        "encoding='utf-8'))['content']; print(hashlib.sha256(json.dumps(c, sort_keys=True, "
        "ensure_ascii=False, separators=(',', ':')).encode()).hexdigest())\""
    )


def running_title(title: str, period_label: str) -> str:
    """The footer's words: the title, with the period unless the title already says it."""
    return title if period_label in title else f"{title} — {period_label}"


def figure(indicator: dict) -> dict:
    """A headline: the value, the previous period's, and the change in words."""
    previous = indicator.get("previous") or {}
    return {
        "label": indicator["label"],
        "value": cell_text(indicator, indicator.get("unit")),
        "unit": "" if indicator.get("unit") in SYMBOL_UNITS else indicator.get("unit") or "",
        "previous": cell_text(previous, indicator.get("unit")) if previous else "—",
        "change": change_text(indicator.get("change")),
    }


def cell_text(cell: dict, unit: str | None) -> str:
    """A value as shown; "%" and "€" follow the number."""
    display = cell.get("display") or "—"
    if cell.get("suppressed") or cell.get("value") is None or unit not in SYMBOL_UNITS:
        return display
    return f"{display}{NBSP}{unit}"


def change_text(change: dict | None) -> str:
    """A change with its arrow and in words: "▲ +12,2 % (en hausse)", "– non comparable"."""
    change = change or {}
    direction = change.get("direction") or "none"
    words = direction_words(direction)
    if direction == "none" or not change.get("display"):
        return f"{DIRECTIONS['none']} {words}"
    return f"{DIRECTIONS[direction]} {change['display']} ({words})"


def status_counts(targets: list[dict]) -> list[dict]:
    """How many targets stand in each status (the first three always, the others if any)."""
    counts = dict.fromkeys(STATUS_ORDER, 0)
    for target in targets:
        status = target.get("status")
        counts[status if status in counts else "unavailable"] += 1
    words = {
        "on_track": _("en bonne voie"),
        "at_risk": _("à surveiller"),
        "off_track": _("en retard"),
        "not_started": ngettext(
            "cible pas encore commencée", "cibles pas encore commencées", counts["not_started"]
        ),
        "unavailable": ngettext(
            "cible non disponible", "cibles non disponibles", counts["unavailable"]
        ),
    }
    shown = ("on_track", "at_risk", "off_track", "unavailable")
    return [
        {"status": status, "count": counts[status], "label": words[status]}
        for status in STATUS_ORDER
        if status in shown or counts[status]
    ]


def target_row(target: dict) -> dict:
    """A target as its table row shows it, with its bar."""
    baseline = target.get("baseline") or {}
    thresholds = target.get("thresholds") or {}
    on_track, at_risk = thresholds.get("on_track", 100), thresholds.get("at_risk", 80)
    share = target.get("share")
    unit = target.get("unit") or ""
    return {
        **target,
        "place": target.get("territory_name") or target.get("deployment") or _("Tout le périmètre"),
        "baseline_value": _amount(baseline.get("value"), unit),
        "baseline_date": day_words(baseline.get("date")),
        "baseline_source": baseline.get("source") or "",
        "expected_text": _amount(target.get("expected"), unit),
        "as_of_words": day_words(target.get("as_of")),
        "actual_text": target.get("actual_display") or "—",
        "share_text": f"{decimal(share, 1)}{NBSP}%" if share is not None else "—",
        "milestones_text": "; ".join(
            _("%(value)s au %(day)s", value=_amount(m["value"], unit), day=day_words(m["date"]))
            for m in target.get("milestones") or []
        ),
        "bar": svg.target_bar(share, on_track, at_risk),
    }


def _amount(value, unit: str) -> str:
    if value is None:
        return "—"
    text = decimal(value, 1)
    return f"{text}{NBSP}{unit}" if unit in SYMBOL_UNITS else text


def map_view(content_map: dict | None, drawing) -> dict | None:
    """The map, its legend and the list of its territories; None when the pack has no map."""
    if not content_map or not content_map.get("territories"):
        return None
    territories = content_map["territories"]
    drawn = svg.choropleth(drawing, territories, content_map.get("label") or "", MAP_BOX)
    level = content_map.get("level")
    rows = sorted(territories, key=lambda row: (alphabetical(row.get("name") or ""), row["code"]))
    size = -(-len(rows) // TERRITORY_COLUMNS)
    columns = [rows[start : start + size] for start in range(0, len(rows), size)]
    return {
        **content_map,
        "svg": drawn.svg,
        "legend": [
            {"swatch": entry.swatch, "label": entry.label, "count": count_words(entry.count, level)}
            for entry in drawn.legend
        ],
        "among": among_words(level),
        "drawn": bool(drawing.outlines),
        "table": [
            [column[line] if line < len(column) else None for column in columns]
            for line in range(size)
        ],
    }


def alphabetical(name: str) -> str:
    """A name as a dictionary orders it: "Écully" among the E."""
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()


def count_words(count: int, level: str | None) -> str:
    """A number of territories of the map's level: "3 communes", "1 arrondissement"."""
    if level == "commune":
        return ngettext("%(num)d commune", "%(num)d communes", count)
    if level == "arrondissement":
        return ngettext("%(num)d arrondissement", "%(num)d arrondissements", count)
    if level == "qpv":
        return ngettext("%(num)d quartier prioritaire", "%(num)d quartiers prioritaires", count)
    return ngettext("%(num)d territoire", "%(num)d territoires", count)


def among_words(level: str | None) -> str:
    """The map's level in words: "par commune"."""
    return {
        "commune": _("par commune"),
        "arrondissement": _("par arrondissement"),
        "qpv": _("par quartier prioritaire"),
    }.get(level or "", _("par territoire"))


def chart(indicator: dict, k: int | None) -> dict:
    """A breakdown as a bar chart: by size, or in time order for a trend; a hidden part is drawn
    up to K, the bound it is below."""
    parts = [part for part in indicator["parts"] if not part.get("subcategory")]
    bars = [
        svg.Bar(
            part.get("label") or part["category"],
            None if part.get("suppressed") else float(part.get("value") or 0),
            part.get("display") or "",
        )
        for part in parts
    ]
    if indicator["id"] not in CHRONOLOGICAL:
        bars.sort(key=lambda bar: -1 if bar.value is None else bar.value, reverse=True)
    return {
        "label": indicator["label"],
        "definition": indicator.get("definition") or "",
        "unit": indicator.get("unit") or "",
        "svg": svg.bar_chart(bars, indicator["label"], k if isinstance(k, int) and k > 1 else 5),
        "has_hidden": any(bar.value is None for bar in bars),
    }


def themes(indicators: list[dict]) -> list[dict]:
    """The indicators grouped by theme, in their order, each with its row."""
    groups: dict[str, dict] = {}
    for indicator in indicators:
        group = groups.setdefault(
            indicator.get("theme") or "",
            {"label": indicator.get("theme_label") or "", "rows": []},
        )
        group["rows"].append({**indicator, **figure(indicator)})
    return list(groups.values())


def definitions(indicators: list[dict], k: int | None) -> dict:
    """The indicators' definitions, each protection text written once and referred to by a
    letter (most indicators share one of a few), with K the pack's own threshold."""
    letters: dict[str, str] = {}
    entries = []
    for indicator in indicators:
        protection = with_threshold(indicator.get("protection") or "", k)
        letter = letters.setdefault(protection, chr(ord("A") + len(letters))) if protection else ""
        entries.append({**indicator, "protection_letter": letter})
    rules = [{"letter": letter, "text": text} for text, letter in letters.items()]
    return {"entries": entries, "protections": rules}


def previous_pack(previous: dict | None) -> dict | None:
    """The pack this one is compared with, if any."""
    if not previous:
        return None
    return {
        "id": previous.get("id"),
        "period": (previous.get("period") or {}).get("label") or "",
        "hash": previous.get("content_hash") or "",
    }
