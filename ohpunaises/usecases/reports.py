"""Creating and following up reports: placement, idempotency by client UUID, status history."""

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import uuid

import sqlalchemy as sa
from flask_babel import gettext as _
from geoalchemy2 import WKTElement
from geoalchemy2.shape import to_shape

from . import audit
from .auth import may_write_for, scope_reports
from .extensions import db
from .models import Report, ReportStatusChange, Structure
from .models.base import utcnow
from .privacy import derived_key
from .territories import (
    OutOfScope,
    Placement,
    place_commune_code,
    place_point,
    point_wkt,
    territory_by_code,
)
from .vocabulary import VULNERABILITIES

FOLLOW_UP_FIELDS = (
    "building_type",
    "household_size",
    "infestation_level",
    "confirmation",
    "cost_total",
    "cost_payer",
    "cost_household",
    "notes",
)


class ReportError(Exception):
    """A report refused as sent: an HTTP status, a title and errors by field."""

    def __init__(self, status: int, title: str, errors: dict[str, str] | None = None):
        super().__init__(title)
        self.status, self.title, self.errors = status, title, errors or {}

    def field_errors(self) -> list[dict]:
        return [{"field": field, "message": message} for field, message in self.errors.items()]


def invalid(field: str, message: str) -> ReportError:
    return ReportError(422, _("Données invalides"), {field: message})


# Keys -----------------------------------------------------------------------------------------


def dwelling_key(structure_id: int, reference: str) -> str:
    """A keyed hash of the structure and its own dwelling reference; the reference is not kept."""
    normalised = " ".join(reference.split()).casefold()
    message = f"{structure_id}\x1f{normalised}".encode()
    return hmac.new(derived_key("dwelling"), message, hashlib.sha256).hexdigest()


def fingerprint(data: dict, structure_id: int) -> str:
    """What a creation request says, so that a retry can be told from a different report."""
    content = {key: value for key, value in data.items() if key != "id"}
    content["structure_id"] = structure_id
    for key in ("actions", "vulnerabilities"):
        if key in content:
            content[key] = sorted(content[key])
    canonical = json.dumps(content, sort_keys=True, default=str, separators=(",", ":"))
    return hmac.new(derived_key("payload"), canonical.encode(), hashlib.sha256).hexdigest()


# Creation -------------------------------------------------------------------------------------


def create_report(data: dict, user, source: str) -> tuple[Report, bool]:
    """Store a report, or return the one already stored under its UUID.

    Returns (report, created). A known UUID with other content is a 409. Should another
    request store the same UUID between the check and the insert, the flush raises
    IntegrityError: `store_report` (or a batch's savepoint) then asks again.
    """
    structure = structure_for(data.get("structure_id"), user)
    digest = fingerprint(data, structure.id)
    report_id = data.get("id") or uuid.uuid4()
    existing = db.session.get(Report, report_id)
    if existing is not None:
        return replay(existing, digest), False
    report = new_report(data, structure, user, source, place(data))
    report.id, report.payload_hash = report_id, digest
    db.session.add(report)
    db.session.flush()
    return report, True


def store_report(data: dict, user, source: str) -> tuple[Report, bool]:
    """`create_report` as the request's whole transaction: a concurrent twin is replayed."""
    try:
        return create_report(data, user, source)
    except sa.exc.IntegrityError:
        db.session.rollback()
        return create_report(data, user, source)  # finds the twin's report this time


def replay(existing: Report, digest: str) -> Report:
    if existing.payload_hash != digest:
        raise ReportError(
            409,
            _("Conflit"),
            {"id": _("Cet identifiant désigne déjà un autre signalement.")},
        )
    return existing


def structure_for(structure_id: int | None, user) -> Structure:
    """The structure a new report belongs to, checked against the user's rights."""
    if structure_id is None:
        if user.structure is None:
            raise invalid("structure_id", _("Indiquez la structure du signalement."))
        return user.structure
    structure = db.session.get(Structure, structure_id)
    if structure is None or not may_write_for(user, structure):
        raise invalid("structure_id", _("Structure inconnue."))
    return structure


def place(data: dict) -> Placement:
    """The report's territories, from its point (checked against its commune) or its commune."""
    location, commune = data.get("location"), data.get("commune")
    try:
        placement = place_point(*location["coordinates"]) if location else None
        if placement is None:
            return place_commune_code(commune)
    except OutOfScope as error:
        raise ReportError(422, _("Hors périmètre"), {"commune": str(error)}) from error
    if not placement.in_scope:
        raise ReportError(
            422,
            _("Hors périmètre"),
            {"location": _("Ce point est hors du périmètre du programme.")},
        )
    if commune and commune not in _codes(placement):
        raise invalid("commune", _("Le point n'est pas dans cette commune."))
    return placement


def _codes(placement: Placement) -> set[str]:
    return {t.code for t in (placement.commune, placement.arrondissement) if t is not None}


def new_report(data, structure, user, source, placement) -> Report:
    location = data.get("location")
    report = Report(
        structure=structure,
        author=user,
        source=source,
        intervention_date=data["intervention_date"],
        location=WKTElement(point_wkt(*location["coordinates"]), srid=4326) if location else None,
        commune=placement.commune,
        arrondissement=placement.arrondissement,
        qpv=placement.qpv,
        housing=data["housing"],
        status=data.get("status", "ongoing"),
        resolved_on=data.get("resolved_on"),
    )
    apply_follow_up(report, data, user)
    _record_status(report, user)
    return report


# Follow-up ------------------------------------------------------------------------------------


def apply_follow_up(report: Report, data: dict, user):
    """Apply the follow-up fields present in `data`, recording any status change."""
    for name in FOLLOW_UP_FIELDS:
        if name in data:
            setattr(report, name, data[name])
    if data.get("actions") is not None:
        report.actions = data["actions"]
    if data.get("vulnerabilities") is not None:
        flags = set(data["vulnerabilities"])
        for name in VULNERABILITIES:
            setattr(report, f"vuln_{name}", name in flags)
    if data.get("dwelling_ref"):
        report.dwelling_key = dwelling_key(report.structure.id, data["dwelling_ref"])
    _check_costs(report)


def _check_costs(report):
    total, household = report.cost_total, report.cost_household
    if total is not None and household is not None and household > total:
        raise invalid("cost_household", _("La part du ménage dépasse le coût total."))


def update_report(report: Report, data: dict, user):
    """Follow-up of a stored report; a status change goes into its history."""
    previous = (report.status, report.resolved_on)
    # Actions live in their own table: touch the report so that its version and ETag move.
    report.updated_at = utcnow()
    if "status" in data:
        report.status = data["status"]
    if "resolved_on" in data:
        report.resolved_on = data["resolved_on"]
    if report.status == "resolved" and report.resolved_on is None:
        report.resolved_on = dt.date.today()
    check_resolution(report)
    apply_follow_up(report, data, user)
    if (report.status, report.resolved_on) != previous:
        _record_status(report, user)
    changed = sorted(name for name in data if name != "dwelling_ref") + (
        ["dwelling_key"] if data.get("dwelling_ref") else []
    )
    audit.record(user, "report.update", report.id, {"fields": changed, "status": report.status})


def check_resolution(report: Report):
    if report.resolved_on is not None and report.resolved_on < report.intervention_date:
        raise invalid("resolved_on", _("La résolution ne peut précéder l'intervention."))


def _record_status(report: Report, user):
    check_resolution(report)
    report.history.append(
        ReportStatusChange(status=report.status, resolved_on=report.resolved_on, changed_by=user)
    )


# Reading --------------------------------------------------------------------------------------


def visible_report(report_id, user) -> Report | None:
    """The report if the user may read it; None whether it exists or not."""
    query = scope_reports(sa.select(Report).where(Report.id == report_id), user)
    return db.session.scalar(query)


def filtered_reports(user, filters: dict):
    """The user's reports matching the list filters, oldest first (stable under inserts)."""
    query = scope_reports(sa.select(Report), user)
    if filters.get("date_from"):
        query = query.where(Report.intervention_date >= filters["date_from"])
    if filters.get("date_to"):
        query = query.where(Report.intervention_date <= filters["date_to"])
    for name in ("status", "source"):
        if filters.get(name):
            query = query.where(getattr(Report, name) == filters[name])
    if filters.get("structure"):
        query = query.where(Report.structure_id == filters["structure"])
    if filters.get("territory"):
        query = query.where(territory_filter(filters["territory"]))
    return query.order_by(Report.created_at, Report.id)


def territory_filter(code: str):
    """Reports in the territory with this code, whatever its level."""
    territory = territory_by_code(code)
    if territory is None:
        raise invalid("territory", _("Territoire inconnu : %(code)s.", code=code))
    column = {
        "commune": Report.commune_id,
        "arrondissement": Report.arrondissement_id,
        "qpv": Report.qpv_id,
    }[territory.level]
    return column == territory.id


def page(query, limit: int, cursor: str | None) -> tuple[list[Report], str | None]:
    """One page of a keyset-paginated query, and the cursor of the next page."""
    if cursor:
        created_at, report_id = decode_cursor(cursor)
        query = query.where(sa.tuple_(Report.created_at, Report.id) > (created_at, report_id))
    reports = db.session.scalars(query.limit(limit + 1)).all()
    if len(reports) <= limit:
        return reports, None
    last = reports[limit - 1]
    return reports[:limit], encode_cursor(last)


def encode_cursor(report: Report) -> str:
    raw = json.dumps([report.created_at.isoformat(), str(report.id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str):
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, report_id = json.loads(raw)
        return dt.datetime.fromisoformat(created_at), uuid.UUID(report_id)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError) as error:
        raise invalid("cursor", _("Curseur invalide.")) from error


def etag(report: Report) -> str:
    return f'"{report.version}"'


def report_view(report: Report, with_dwelling: bool = False) -> dict:
    """The report as the API shows it."""
    view = {
        name: getattr(report, name)
        for name in (
            "id",
            "structure_id",
            "source",
            "intervention_date",
            "housing",
            "status",
            "resolved_on",
            "actions",
            "created_at",
            "updated_at",
            "version",
            *FOLLOW_UP_FIELDS,
        )
    }
    view["location"] = _point(report.location)
    view["commune"] = report.commune.code
    view["arrondissement"] = report.arrondissement.code if report.arrondissement else None
    view["qpv"] = report.qpv.code if report.qpv else None
    view["vulnerabilities"] = [n for n in VULNERABILITIES if getattr(report, f"vuln_{n}")]
    view["history"] = [_step(change) for change in report.history]
    if with_dwelling:
        view["dwelling_reports"] = dwelling_reports(report)
    return view


def _point(location):
    if location is None:
        return None
    point = to_shape(location)
    return {"type": "Point", "coordinates": [point.x, point.y]}


def _step(change: ReportStatusChange) -> dict:
    author = change.changed_by
    return {
        "status": change.status,
        "resolved_on": change.resolved_on,
        "changed_at": change.changed_at,
        "changed_by": (author.display_name or author.email) if author else None,
    }


def dwelling_reports(report: Report) -> int:
    """How many reports the structure holds for this report's dwelling, itself included."""
    if report.dwelling_key is None:
        return 1
    return db.session.scalar(
        sa.select(sa.func.count()).where(
            Report.structure_id == report.structure_id,
            Report.dwelling_key == report.dwelling_key,
        )
    )
