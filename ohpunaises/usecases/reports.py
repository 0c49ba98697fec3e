"""Reports: creation safe to retry, batch push, follow-up, and the reads each actor may make.

Placement, idempotency by client UUID and the status history are decided here, for the API,
the phone form and any other adapter alike.
"""

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
from sqlalchemy.orm import selectinload

from .. import audit
from ..errors import Conflict, DomainError, NotFound, OutOfPerimeter, Stale, invalid
from ..extensions import db
from ..models import Report, ReportAction, ReportStatusChange, Structure
from ..models.base import utcnow
from ..permissions import Actor, covers, restrict
from ..privacy import derived_key
from ..territories import (
    OutOfScope,
    Placement,
    place_commune_code,
    place_commune_codes,
    place_point,
    place_points,
    point_wkt,
    territory_by_code,
)
from ..vocabulary import VULNERABILITIES
from . import transaction

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


def create_report(actor: Actor, data: dict, source: str) -> tuple[Report, bool]:
    """Store a report, or return the one already stored under its UUID: (report, created).

    A known UUID with other content is a Conflict. Should another request store the same UUID
    between the check and the insert, the insert fails: the use case's own transaction is
    rolled back (it holds nothing else) and the twin's report is replayed.
    """
    actor.check("report.create")
    with transaction():
        try:
            return _create_or_replay(actor, data, source)
        except sa.exc.IntegrityError:
            db.session.rollback()
            return _create_or_replay(actor, data, source)


def push_reports(actor: Actor, items: list[dict], source: str) -> list:
    """Store several reports in one transaction, each in its own savepoint, in order.

    Returns, for each item, (report, created) or the DomainError that refused it alone.
    """
    actor.check("report.create")
    with transaction():
        return [_push_one(actor, data, source) for data in items]


def _push_one(actor: Actor, data: dict, source: str):
    try:
        try:
            with db.session.begin_nested():
                return _create_or_replay(actor, data, source)
        except sa.exc.IntegrityError:  # a concurrent twin of its UUID: replay it
            with db.session.begin_nested():
                return _create_or_replay(actor, data, source)
    except DomainError as error:
        return error


def _create_or_replay(actor: Actor, data: dict, source: str) -> tuple[Report, bool]:
    structure = structure_for(actor, data.get("structure_id"), "report.create")
    digest = fingerprint(data, structure.id)
    report_id = data.get("id") or uuid.uuid4()
    existing = db.session.get(Report, report_id)
    if existing is not None:
        return replay(existing, digest), False
    report = new_report(data, structure, actor, source, place(data))
    report.id, report.payload_hash = report_id, digest
    db.session.add(report)
    db.session.flush()
    return report, True


def import_reports(
    actor: Actor, structure: Structure, items: list[dict], store: bool, digests=None
) -> list:
    """Many reports of one structure at once, each decided as `create_report` decides it,
    with one query for the UUIDs already stored, one for the points' places, one for the
    communes' codes, and one batch of INSERTs per table.

    Each item carries its `id`; `digests` are their fingerprints when known. Returns, for
    each, (id, created) or the DomainError that refuses it. With store=False nothing is
    written: the outcomes are those a store would give. A twin stored meanwhile by another
    request makes the store decide the items one by one, as `push_reports` does.
    """
    actor.check("report.create")
    digests = digests or [fingerprint(data, structure.id) for data in items]
    known = _known_digests([data["id"] for data in items])
    located = dict(_located(items))
    coded = place_commune_codes(d["commune"] for d in items if d.get("commune"))
    outcomes, new = [], []
    for index, (data, digest) in enumerate(zip(items, digests, strict=True)):
        if data["id"] in known:
            outcomes.append(_replayed(data["id"], known[data["id"]], digest))
            continue
        try:
            placement = place(data, located.get(index), coded)
        except DomainError as error:
            outcomes.append(error)
            continue
        known[data["id"]] = digest
        outcomes.append((data["id"], True))
        new.append((data, digest, placement))
    if store and new:
        return _store_new(actor, structure, items, new, outcomes)
    return outcomes


def _known_digests(ids) -> dict:
    query = sa.select(Report.id, Report.payload_hash).where(Report.id.in_(set(ids)))
    return dict(db.session.execute(query).all())


def _located(items):
    indexed = [
        (i, data["location"]["coordinates"]) for i, data in enumerate(items) if data.get("location")
    ]
    placements = place_points([tuple(point) for _, point in indexed])
    return zip((i for i, _ in indexed), placements, strict=True)


def _replayed(report_id, stored_digest: str, digest: str):
    if stored_digest != digest:
        return Conflict(errors={"id": _("Cet identifiant désigne déjà un autre signalement.")})
    return report_id, False


def _store_new(actor, structure, items, new, outcomes) -> list:
    """The chunk's new reports, their actions and first status, one batch of INSERTs per
    table (`executemany`, pipelined by psycopg; the unit of work would cost more than all the
    rest, and one INSERT of many VALUES more than the batch)."""
    now = utcnow()
    reports, actions, history = [], [], []
    for data, digest, placement in new:
        columns = report_columns(data, structure.id, placement)
        reports.append(
            {
                **columns,
                "id": data["id"],
                "author_id": actor.user_id,
                "source": "import",
                "payload_hash": digest,
                "created_at": now,
                "updated_at": now,
            }
        )
        actions += [{"report_id": data["id"], "action": a} for a in dict.fromkeys(data["actions"])]
        history.append(
            {
                "report_id": data["id"],
                "status": columns["status"],
                "resolved_on": columns["resolved_on"],
                "changed_at": now,
                "changed_by_id": actor.user_id,
            }
        )
    try:
        with db.session.begin_nested():
            for table, rows in (
                (Report, reports),
                (ReportAction, actions),
                (ReportStatusChange, history),
            ):
                db.session.execute(sa.insert(table.__table__), rows)
        return outcomes
    except sa.exc.IntegrityError:  # a twin stored meanwhile: decide each again, alone
        return [_push_one(actor, dict(data, structure_id=structure.id), "import") for data in items]


def report_columns(data: dict, structure_id: int, placement: Placement) -> dict:
    """Every column a new report takes from what was sent: the row the import inserts, and
    what `new_report` builds its record from."""
    location = data.get("location")
    flags = set(data.get("vulnerabilities") or ())
    reference = data.get("dwelling_ref")
    return {
        "structure_id": structure_id,
        "intervention_date": data["intervention_date"],
        "location": WKTElement(point_wkt(*location["coordinates"]), srid=4326)
        if location
        else None,
        "commune_id": placement.commune.id,
        "arrondissement_id": placement.arrondissement.id if placement.arrondissement else None,
        "qpv_id": placement.qpv.id if placement.qpv else None,
        "housing": data["housing"],
        "status": data.get("status", "ongoing"),
        "resolved_on": data.get("resolved_on"),
        **{name: data.get(name) for name in FOLLOW_UP_FIELDS},
        **{f"vuln_{name}": name in flags for name in VULNERABILITIES},
        "dwelling_key": dwelling_key(structure_id, reference) if reference else None,
    }


def replay(existing: Report, digest: str) -> Report:
    if existing.payload_hash != digest:
        raise Conflict(errors={"id": _("Cet identifiant désigne déjà un autre signalement.")})
    return existing


def structure_for(actor: Actor, structure_id: int | None, action: str) -> Structure:
    """The structure a new record belongs to, checked against what `action` reaches."""
    if structure_id is None:
        if actor.structure_id is None:
            raise invalid("structure_id", _("Indiquez la structure du signalement."))
        own = actor.user.structure if actor.user is not None else None
        structure = own or _structure(actor.structure_id)
    else:
        structure = _structure(structure_id)
        if structure is None or not covers(actor, action, structure):
            raise invalid("structure_id", _("Structure inconnue."))
    if not structure.active:
        raise invalid("structure_id", _("Cette structure est désactivée : elle ne saisit plus."))
    return structure


def _structure(structure_id: int) -> Structure | None:
    return db.session.get(Structure, structure_id)


def place(data: dict, located: Placement | None = None, coded=None) -> Placement:
    """The report's territories, from its point (checked against its commune) or its commune;
    `located` is the point's placement, `coded` the placements of commune codes, when
    already known."""
    location, commune = data.get("location"), data.get("commune")
    try:
        if location and located is None:
            located = place_point(*location["coordinates"])
        placement = located if location else None
        if placement is None:
            return (coded or {}).get(commune) or place_commune_code(commune)
    except OutOfScope as error:
        raise OutOfPerimeter(errors={"commune": str(error)}) from error
    if not placement.in_scope:
        raise OutOfPerimeter(errors={"location": _("Ce point est hors du périmètre du programme.")})
    if commune and commune not in _codes(placement):
        raise invalid("commune", _("Le point n'est pas dans cette commune."))
    return placement


def _codes(placement: Placement) -> set[str]:
    return {t.code for t in (placement.commune, placement.arrondissement) if t is not None}


def new_report(data, structure, actor: Actor, source, placement) -> Report:
    # The territories are given as loaded too, so that the answer reads them without a query.
    report = Report(
        **report_columns(data, structure.id, placement),
        structure=structure,
        author=actor.user,
        source=source,
        commune=placement.commune,
        arrondissement=placement.arrondissement,
        qpv=placement.qpv,
    )
    report.actions = data["actions"]
    _check_costs(report)
    _record_status(report, actor)
    return report


# Follow-up ------------------------------------------------------------------------------------


def update_report(actor: Actor, report_id, data: dict, expected_version: int | None) -> Report:
    """Follow-up of a stored report the actor may edit; a status change goes into its history.

    `expected_version` is the version the actor read (None: whatever is current); another
    one means the report changed since, and nothing is written (Stale).
    """
    actor.check("report.update")
    with transaction():
        report = _reachable(actor, report_id, "report.update")
        if expected_version is not None and expected_version != report.version:
            raise Stale(_("Le signalement a changé : relisez-le avant de le modifier."))
        _follow_up(report, data, actor)
        return report


def _follow_up(report: Report, data: dict, actor: Actor):
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
    apply_follow_up(report, data)
    if (report.status, report.resolved_on) != previous:
        _record_status(report, actor)
    changed = sorted(name for name in data if name != "dwelling_ref") + (
        ["dwelling_key"] if data.get("dwelling_ref") else []
    )
    audit.record(actor, "report.update", report.id, {"fields": changed, "status": report.status})


def apply_follow_up(report: Report, data: dict):
    """Apply the follow-up fields present in `data`."""
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


def check_resolution(report: Report):
    if report.resolved_on is not None and report.resolved_on < report.intervention_date:
        raise invalid("resolved_on", _("La résolution ne peut précéder l'intervention."))


def _record_status(report: Report, actor: Actor):
    check_resolution(report)
    report.history.append(
        ReportStatusChange(
            status=report.status, resolved_on=report.resolved_on, changed_by=actor.user
        )
    )


# Reading --------------------------------------------------------------------------------------


def get_report(actor: Actor, report_id) -> Report:
    """A report the actor may read; NotFound whether it exists or not."""
    return _reachable(actor, report_id, "report.read")


def find_report(actor: Actor, report_id) -> Report | None:
    """`get_report`, or None."""
    try:
        return get_report(actor, report_id)
    except NotFound:
        return None


def _reachable(actor: Actor, report_id, action: str) -> Report:
    query = restrict(
        sa.select(Report).where(Report.id == report_id), actor, action, Report.structure_id
    )
    report = db.session.scalar(query)
    if report is None:
        raise NotFound()
    return report


def list_reports(actor: Actor, filters: dict, limit: int, cursor: str | None):
    """One page of the reports the actor may read, oldest first, and the next page's cursor."""
    return page(filtered_reports(actor, filters), limit, cursor)


def filtered_reports(actor: Actor, filters: dict, action: str = "report.read"):
    """The reports `action` reaches for the actor, matching the list filters, oldest first
    (stable under inserts)."""
    query = restrict(sa.select(Report), actor, action, Report.structure_id)
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


def recent_reports(actor: Actor, limit: int, dwelling_of=None) -> list[Report]:
    """The latest reports the actor may read, newest first; only those of the dwelling of
    `dwelling_of` (a report) when given."""
    query = restrict(sa.select(Report), actor, "report.read", Report.structure_id)
    if dwelling_of is not None:
        query = query.where(
            Report.structure_id == dwelling_of.structure_id,
            Report.dwelling_key == dwelling_of.dwelling_key,
        )
    query = query.options(
        selectinload(Report.commune),
        selectinload(Report.arrondissement),
        selectinload(Report.action_rows),
        selectinload(Report.structure),
    )
    return db.session.scalars(
        query.order_by(Report.created_at.desc(), Report.id.desc()).limit(limit)
    ).all()


def dwelling_counts(reports) -> dict[tuple[int, str], int]:
    """How many reports each (structure, dwelling) of `reports` holds, in one query."""
    keys = {r.dwelling_key for r in reports if r.dwelling_key}
    if not keys:
        return {}
    rows = db.session.execute(
        sa.select(Report.structure_id, Report.dwelling_key, sa.func.count())
        .where(Report.dwelling_key.in_(keys))
        .group_by(Report.structure_id, Report.dwelling_key)
    )
    return {(structure, key): count for structure, key, count in rows}
