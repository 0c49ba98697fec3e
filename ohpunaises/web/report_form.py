"""The phone form's fields: what it offers, and how a plain POST becomes an API-shaped report.

The page's script builds the same JSON from the same fields (static/js/report-form.js), so
both paths meet ReportCreateSchema with the same data and get the same messages.
"""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from markupsafe import Markup, escape
from werkzeug.datastructures import MultiDict

from ..api.problems import flatten
from ..extensions import db
from ..models import Structure, Territory
from ..permissions import Actor, structures_within

TEXT_FIELDS = (
    "intervention_date",
    "housing",
    "infestation_level",
    "building_type",
    "confirmation",
    "cost_payer",
    "status",
    "resolved_on",
    "dwelling_ref",
    "notes",
)
LIST_FIELDS = ("actions", "vulnerabilities")
NUMBER_FIELDS = ("cost_total", "cost_household")
# Fields under "Plus de détails": the section opens when one of them holds a value or an error.
DETAIL_FIELDS = (
    "building_type",
    "household_size",
    "vulnerabilities",
    "confirmation",
    "cost_total",
    "cost_payer",
    "cost_household",
    "dwelling_ref",
    "notes",
    "resolved_on",
)
# Every field the page shows, in page order: the first one in error takes the focus.
FORM_FIELDS = (
    "structure_id",
    "intervention_date",
    "location",
    "commune",
    "housing",
    "infestation_level",
    "actions",
    *DETAIL_FIELDS[:-1],
    "status",
    "resolved_on",
)
CODE_IN_LABEL = re.compile(r"\(([^()]+)\)$")


def communes() -> list[tuple[str, str]]:
    """(code, name) of every commune and arrondissement loaded, by name: the place picker."""
    rows = db.session.execute(
        sa.select(Territory.code, Territory.name)
        .where(Territory.level.in_(("commune", "arrondissement")))
        .order_by(Territory.name, Territory.code)
    )
    return [tuple(row) for row in rows]


def commune_label(code: str, name: str) -> str:
    """What the picker shows and fills in: "Villeurbanne (69266)"."""
    return f"{name} ({code})"


def commune_code(text: str, known: list[tuple[str, str]]) -> str | None:
    """The code the agent meant: a code, a name, or a picker label; None if none matches."""
    text = " ".join(text.split())
    match = CODE_IN_LABEL.search(text)
    candidates = [text, match.group(1).strip()] if match else [text]
    by_code = {code: code for code, _name in known}
    by_name = {name.casefold(): code for code, name in known}
    for candidate in candidates:
        code = by_code.get(candidate) or by_name.get(candidate.casefold())
        if code:
            return code
    return None


def writable_structures(actor: Actor, action: str = "report.create") -> list[Structure]:
    """The active structures the actor may report for (or that `action` reaches), by name."""
    query = sa.select(Structure).where(Structure.active.is_(True), structures_within(actor, action))
    return list(db.session.scalars(query.order_by(Structure.name)))


def today() -> dt.date:
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return dt.datetime.now(zone).date()


def default_values(user, report_id) -> MultiDict:
    """A blank form: today, and social housing for a social landlord's agents."""
    values = MultiDict({"id": str(report_id), "intervention_date": today().isoformat()})
    values["status"] = "ongoing"
    if user.structure is not None and user.structure.kind == "social_landlord":
        values["housing"] = "social"
    return values


def payload_from_form(form: MultiDict, known: list[tuple[str, str]]) -> tuple[dict, dict]:
    """The report as the API would receive it, and the errors found before validation."""
    data, errors = {}, {}
    for name in TEXT_FIELDS:
        if value := form.get(name, "").strip():
            data[name] = value
    for name in LIST_FIELDS:
        if values := [value for value in form.getlist(name) if value]:
            data[name] = values
    if report_id := form.get("id", "").strip():
        data["id"] = report_id
    if structure := form.get("structure_id", "").strip():
        data["structure_id"] = _integer(structure)
    if size := form.get("household_size", "").strip():
        data["household_size"] = _integer(size)
    for name in NUMBER_FIELDS:
        if amount := form.get(name, "").strip():
            data[name] = _number(amount)
    if location := _location(form):
        data["location"] = location
    if place := form.get("commune", "").strip():
        data["commune"] = commune_code(place, known)
        if data["commune"] is None:
            errors["commune"] = [_("Commune inconnue : choisissez-la dans la liste.")]
    return data, errors


def _integer(text: str):
    """A whole number typed in ASCII digits; anything else stays text, which the schema refuses
    ("Nombre entier attendu."): "²" is a digit to Python, and 5,000 digits overflow int()."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else text


def _number(text: str):
    try:
        return float(text.replace(",", ".").replace(" ", ""))
    except ValueError:
        return text  # the schema answers "Nombre attendu."


def _location(form: MultiDict) -> dict | None:
    longitude, latitude = form.get("longitude", "").strip(), form.get("latitude", "").strip()
    if not (longitude and latitude):
        return None
    return {"type": "Point", "coordinates": [_number(longitude), _number(latitude)]}


def errors_by_field(errors: list[dict]) -> dict[str, list[str]]:
    """{field: [messages]} from the API's error list; "location.coordinates" counts as location."""
    grouped = {}
    for error in errors:
        field = error["field"].split(".")[0] or "_schema"
        grouped.setdefault(field, []).append(error["message"])
    return grouped


def schema_errors(messages) -> dict[str, list[str]]:
    return errors_by_field(flatten(messages))


def general_errors(errors: dict, shown: tuple[str, ...]) -> list[str]:
    """Messages about no field of the page (a conflict, a missing structure), for the summary."""
    return [
        message for field, messages in errors.items() if field not in shown for message in messages
    ]


def aria_helper(errors: dict, shown: tuple[str, ...]):
    """aria(names, hint, focus): an input's aria attributes for the fields it answers for."""
    first_error = next((name for name in shown if name in errors), None)

    def aria(names, hint=None, focus=True) -> Markup:
        failing = [name for name in names if name in errors]
        described_by = ([hint] if hint else []) + [f"err-{name}" for name in failing]
        attributes = ['aria-invalid="true"'] if failing else []
        if described_by:
            attributes.append(f'aria-describedby="{escape(" ".join(described_by))}"')
        if focus and first_error in names:
            attributes.append("autofocus")
        return Markup("".join(f" {attribute}" for attribute in attributes))

    return aria
