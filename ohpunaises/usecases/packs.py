"""Packs (DESIGN §2): the figures of a deployment and a period, frozen for a steering committee
or a funder (docs/steering.md).

A coordinator freezes a pack: every indicator as institutions read it (small counts hidden),
the previous period of the same length beside it, the targets where they stand at the
period's end, the map's values by commune, the definitions and the suppression applied. The
content is canonical JSON, stored once with its SHA-256; approval (by another coordinator
where the deployment has one) makes it visible to the deployment's institutions and
evaluators. Nothing ever rewrites the content: corrections made later show as differences
between the pack and today's figures. Files (PDF, XLSX, CSV, JSON) are rendered from the
content; the PDF by a job whose progress the pages show.
"""

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import format_date, format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import audit, jobs, privacy
from .. import packs as outputs
from ..errors import Conflict, Forbidden, NotFound, invalid
from ..extensions import db
from ..indicators import INDICATORS, Period, compute
from ..indicators import cache as figures_cache
from ..models import Pack, PackFile, User, user_deployments
from ..models.base import utcnow
from ..permissions import Actor
from ..vocabulary import ACTIONS, STRUCTURE_KINDS
from . import transaction
from .deployments import set_for
from .targets import list_targets

log = logging.getLogger(__name__)

PACK_READER = "institution"  # packs are frozen as institutions read the figures
MAP_INDICATOR = "reports_per_10000"
FORMAT_VERSION = 1
STALE_RENDER = dt.timedelta(minutes=10)  # a job silent this long is started again
SOURCES = (
    "Signalements, structures, formations et déclarations saisis par les partenaires "
    "d'Oh Punaises! (données de la plateforme).",
    "Population : INSEE, recensement de la population (populations légales).",
    "Contours : IGN Admin Express (communes et arrondissements), ANCT (quartiers prioritaires).",
)


@dataclass(frozen=True)
class PackView:
    """A pack as its readers see it; `verified`: the content still has its hash."""

    id: int
    deployment_id: int | None
    deployment: str | None
    period_start: dt.date
    period_end: dt.date
    status: str
    content: dict
    content_hash: str
    verified: bool
    data_version: str | None
    created_by: str | None
    created_at: dt.datetime
    approved_by: str | None
    approved_at: dt.datetime | None

    @property
    def title(self) -> str:
        return self.content["title"]

    @property
    def meta(self) -> dict:
        """What renderers print beside the frozen content."""
        return {
            "id": self.id,
            "status": self.status,
            "content_hash": self.content_hash,
            "created_by": self.created_by,
            "approved_by": self.approved_by,
            "approved_at": self.approved_at.isoformat() if self.approved_at else None,
        }


@dataclass(frozen=True)
class Difference:
    """A figure of the pack that reads otherwise today."""

    kind: str  # "indicator" or "target"
    id: str
    label: str
    frozen: str
    today: str


@dataclass(frozen=True)
class PackFileState:
    """A rendered file, or how far its job has got, and the pack it is of."""

    pack: PackView
    format: str
    status: str
    progress: int
    body: bytes | None
    error: str | None

    @property
    def filename(self) -> str:
        return outputs.filename(self.pack.content, self.format)

    @property
    def media_type(self) -> str:
        return outputs.MEDIA_TYPES[self.format]


# Periods ----------------------------------------------------------------------------------------


def period_kind(start: dt.date, end: dt.date) -> str | None:
    """ "month", "quarter" or "year" for a calendar period, None for any other."""
    if not privacy.on_the_grid(start, end):
        return None
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    return {1: "month", 3: "quarter", 12: "year"}[months]


def previous_period(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """The calendar period of the same length just before."""
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    index = start.year * 12 + start.month - 1 - months
    first = dt.date(index // 12, index % 12 + 1, 1)
    return first, start - dt.timedelta(days=1)


QUARTER_NAMES = {
    1: _l("1er trimestre %(year)s"),
    2: _l("2e trimestre %(year)s"),
    3: _l("3e trimestre %(year)s"),
    4: _l("4e trimestre %(year)s"),
}


def period_label(start: dt.date, end: dt.date) -> str:
    """ "novembre 2026", "4e trimestre 2026", "année 2026"."""
    kind = period_kind(start, end)
    if kind == "year":
        return _("année %(year)s", year=start.year)
    if kind == "quarter":
        quarter = (start.month - 1) // 3 + 1
        return str(QUARTER_NAMES[quarter]) % {"year": start.year}
    return format_date(start, "MMMM y")


def _period(start: dt.date, end: dt.date) -> dict:
    return {"start": start.isoformat(), "end": end.isoformat(), "label": period_label(start, end)}


# Reading ----------------------------------------------------------------------------------------


def _visible(actor: Actor):
    """Packs the actor may read: all of their deployments' for who freezes them, approved
    ones only for the others; readers attached to deployments, only those deployments'."""
    actor.check("pack.read")
    conditions = []
    if not actor.may("pack.create"):
        conditions.append(Pack.status == "approved")
    deployments = actor.deployment_ids
    if deployments is not None:
        conditions.append(Pack.deployment_id.in_(deployments))
    return sa.and_(sa.true(), *conditions)


def list_packs(actor: Actor) -> list[PackView]:
    """The packs the actor may read, the latest period first."""
    packs = db.session.scalars(
        sa.select(Pack).where(_visible(actor)).order_by(Pack.period_end.desc(), Pack.id.desc())
    ).all()
    return [_view(pack) for pack in packs]


def get_pack(actor: Actor, pack_id: int) -> PackView:
    """One pack the actor may read; NotFound otherwise (a draft, for an institution)."""
    return _view(_find(actor, pack_id))


def _find(actor: Actor, pack_id: int) -> Pack:
    pack = db.session.scalar(sa.select(Pack).where(Pack.id == pack_id, _visible(actor)))
    if pack is None:
        raise NotFound(_("Aucun pack n° %(id)s.", id=pack_id))
    return pack


def verify(pack: Pack) -> bool:
    """Whether the stored content still has the hash it was frozen with."""
    return hashlib.sha256(pack.content.encode("utf-8")).hexdigest() == pack.content_hash


def _view(pack: Pack) -> PackView:
    return PackView(
        id=pack.id,
        deployment_id=pack.deployment_id,
        deployment=pack.deployment.name if pack.deployment else None,
        period_start=pack.period_start,
        period_end=pack.period_end,
        status=pack.status,
        content=json.loads(pack.content),
        content_hash=pack.content_hash,
        verified=verify(pack),
        data_version=pack.data_version,
        created_by=pack.created_by.email if pack.created_by else None,
        created_at=pack.created_at,
        approved_by=pack.approved_by.email if pack.approved_by else None,
        approved_at=pack.approved_at,
    )


# Freezing ---------------------------------------------------------------------------------------


def freeze_pack(actor: Actor, deployment_id: int | None, start: dt.date, end: dt.date) -> PackView:
    """A new draft pack of the deployment's figures (None: the whole programme) for a
    calendar month, quarter or year."""
    actor.check("pack.create")
    if period_kind(start, end) is None:
        raise invalid(
            "from", _("Un pack porte sur un mois, un trimestre ou une année civils entiers.")
        )
    if end >= dt.date.today():
        raise invalid("to", _("Un pack porte sur une période terminée."))
    deployment = set_for(actor, deployment_id, "pack.create")
    content = pack_content(actor, deployment, start, end)
    text = canonical(content)
    with transaction() as session:
        pack = Pack(
            deployment_id=deployment.id if deployment else None,
            period_start=start,
            period_end=end,
            status="draft",
            content=text,
            content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            data_version=content["data_version"],
            created_by_id=actor.user_id,
        )
        session.add(pack)
        session.flush()
        audit.record(
            actor,
            "pack.create",
            f"pack:{pack.id}",
            {
                "period": content["period"],
                "deployment": pack.deployment_id,
                "hash": pack.content_hash,
            },
        )
    return _view(pack)


def canonical(content: dict) -> str:
    """The one text a content is stored and hashed as."""
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def pack_content(actor: Actor, deployment, start: dt.date, end: dt.date) -> dict:
    """Every figure of the pack, as institutions read them (the content frozen)."""
    scope = None if deployment is None else (deployment.id,)
    result = compute(Period(start, end), None, "commune", PACK_READER, deployments=scope)
    before_start, before_end = previous_period(start, end)
    before = compute(Period(before_start, before_end), None, None, PACK_READER, deployments=scope)
    previous = {indicator.id: indicator.whole for indicator in before.indicators}
    name = deployment.name if deployment else _("Ensemble du programme")
    return {
        "format": FORMAT_VERSION,
        "title": f"{name} — {period_label(start, end)}",
        "deployment": {"id": deployment.id, "name": deployment.name} if deployment else None,
        "period": _period(start, end),
        "previous_period": _period(before_start, before_end),
        "frozen_at": utcnow().isoformat(timespec="seconds"),
        "author": actor.label,
        "data_version": data_version(),
        "suppression": _suppression(result.suppression),
        "indicators": [
            _indicator(indicator, previous[indicator.id]) for indicator in result.indicators
        ],
        "targets": [
            view.as_dict()
            for view in list_targets(
                actor,
                as_of=end,
                deployment_id=scope[0] if scope else None,
                whole=scope is None,
                viewer_role=PACK_READER,
            )
        ],
        "map": _map(result, deployment),
        "previous_pack": _previous_pack(deployment, start, end),
        "sources": list(SOURCES),
    }


def data_version() -> str:
    """The figures' data version: the sequence's value, or a digest of SQLite's aggregates."""
    version = figures_cache.current_version()
    if version[0] == "sequence":
        return str(version[1])
    return "sqlite-" + hashlib.sha256(repr(version).encode()).hexdigest()[:16]


def _suppression(applied) -> dict:
    """The protection the pack's figures were read under, and its note."""
    return {
        "applied": applied.applied,
        "k": applied.k,
        "perturbation": applied.perturbation,
        "note": _(
            "Chiffres tels que les institutions les lisent : chaque effectif est décalé d'un "
            "petit écart aléatoire, toujours le même pour les mêmes signalements (%(most)s au "
            "plus), les effectifs de 1 à %(below)s sont masqués (« < %(k)s »), et les valeurs "
            "qui reposent sur un effectif masqué aussi (« s »).",
            most=applied.perturbation,
            below=applied.k - 1,
            k=applied.k,
        ),
    }


def _figure(figure) -> dict:
    return {"value": figure.value, "display": figure.display, "suppressed": figure.suppressed}


def _indicator(indicator, before) -> dict:
    described = INDICATORS[indicator.id].describe()
    whole = indicator.whole
    return {
        **{key: described[key] for key in ("id", "label", "theme", "theme_label", "unit")},
        **{key: described[key] for key in ("definition", "basis", "protection", "shape")},
        **_figure(whole),
        "parts": [_part(part) for part in getattr(whole, "parts", ())],
        "previous": _figure(before),
        "change": change(whole, before, described["shape"]),
    }


def _part(part) -> dict:
    vocabulary = {**ACTIONS, **STRUCTURE_KINDS}
    label = vocabulary.get(part.category)
    if label is None and len(part.category) == 7 and part.category[4:6] == "-Q":
        label = _("T%(quarter)s %(year)s", quarter=part.category[-1], year=part.category[:4])
    return {
        "category": part.category,
        "label": str(label or part.category),
        "subcategory": part.subcategory,
        **_figure(part),
    }


def change(now, before, shape: str) -> dict:
    """How a figure moved since the previous period: in points for a share, else in percent."""
    new, old = now.value, before.value
    if not all(isinstance(value, int | float) for value in (new, old)) or (
        now.suppressed or before.suppressed
    ):
        return {"percent": None, "points": None, "direction": "none", "display": "—"}
    direction = "up" if new > old else "down" if new < old else "same"
    if shape == "share":
        points = round(new - old, 1)
        shown = format_decimal(points, format="+#,##0.0;-#,##0.0")
        return {"percent": None, "points": points, "direction": direction, "display": f"{shown} pt"}
    if old == 0:
        return {"percent": None, "points": None, "direction": direction, "display": "—"}
    percent = round((new - old) * 100 / abs(old), 1)
    shown = format_decimal(percent, format="+#,##0.0;-#,##0.0")
    return {
        "percent": percent,
        "points": None,
        "direction": direction,
        "display": f"{shown}\u00a0%",
    }


def _map(result, deployment) -> dict:
    indicator = result.indicator(MAP_INDICATOR)
    codes = None
    if deployment is not None:
        codes = {territory.code for territory in deployment.territories}
    return {
        "indicator": MAP_INDICATOR,
        "label": indicator.label,
        "unit": indicator.unit,
        "level": "commune",
        "territories": [
            {"code": item.territory.code, "name": item.territory.name, **_figure(item.figure)}
            for item in indicator.territories
            if codes is None or item.territory.code in codes
        ],
    }


def _previous_pack(deployment, start: dt.date, end: dt.date) -> dict | None:
    """The last approved pack of the same deployment over a period of the same length."""
    kind = period_kind(start, end)
    candidates = db.session.scalars(
        sa.select(Pack)
        .where(
            Pack.status == "approved",
            Pack.period_end < start,
            Pack.deployment_id.is_(None)
            if deployment is None
            else Pack.deployment_id == deployment.id,
        )
        .order_by(Pack.period_end.desc(), Pack.id.desc())
    )
    for pack in candidates:
        if period_kind(pack.period_start, pack.period_end) == kind:
            frozen = json.loads(pack.content)
            return {
                "id": pack.id,
                "period": frozen["period"],
                "content_hash": pack.content_hash,
                "values": {item["id"]: item["display"] for item in frozen["indicators"]},
            }
    return None


# Approving --------------------------------------------------------------------------------------


def approve_pack(actor: Actor, pack_id: int) -> PackView:
    """The draft approved: visible from now on to the deployment's institutions and
    evaluators. By another coordinator than its author where the deployment has one."""
    actor.check("pack.approve")
    pack = _find(actor, pack_id)
    if pack.status != "draft":
        raise Conflict(_("Seul un pack en projet peut être approuvé."))
    if pack.created_by_id == actor.user_id and _second_coordinator(pack, actor):
        raise Forbidden(
            _(
                "Un autre membre de la coordination de ce déploiement doit approuver ce pack : "
                "son auteur ne l'approuve seul que s'il n'y a personne d'autre."
            )
        )
    if not verify(pack):
        raise Conflict(_("Le contenu de ce pack ne correspond plus à son empreinte."))
    with transaction():
        pack.status, pack.approved_by_id, pack.approved_at = "approved", actor.user_id, utcnow()
        _forget_files(pack)
        audit.record(actor, "pack.approve", f"pack:{pack.id}", {"hash": pack.content_hash})
    return _view(pack)


def withdraw_pack(actor: Actor, pack_id: int) -> PackView:
    """A draft set aside (an approved pack stays: it was shown)."""
    actor.check("pack.approve")
    pack = _find(actor, pack_id)
    if pack.status != "draft":
        raise Conflict(_("Un pack approuvé ne se retire pas : il a été diffusé."))
    with transaction():
        pack.status, pack.withdrawn_at = "withdrawn", utcnow()
        _forget_files(pack)
        audit.record(actor, "pack.withdraw", f"pack:{pack.id}")
    return _view(pack)


def _second_coordinator(pack: Pack, actor: Actor) -> bool:
    """Whether another active coordinator reaches the pack's deployment."""
    others = sa.select(User.id).where(
        User.role == "coordinator", User.active.is_(True), User.id != actor.user_id
    )
    if pack.deployment_id is not None:
        attached = sa.select(user_deployments.c.user_id).where(
            user_deployments.c.deployment_id == pack.deployment_id
        )
        anywhere = ~sa.exists().where(user_deployments.c.user_id == User.id)
        others = others.where(sa.or_(User.id.in_(attached), anywhere))
    else:
        others = others.where(~sa.exists().where(user_deployments.c.user_id == User.id))
    return db.session.scalar(sa.select(sa.exists(others))) or False


def _forget_files(pack: Pack) -> None:
    """Files printed the former status: they are rendered again."""
    db.session.execute(sa.delete(PackFile).where(PackFile.pack_id == pack.id))


# Comparing with today ---------------------------------------------------------------------------


def differences(actor: Actor, pack_id: int) -> list[Difference]:
    """The pack's figures that read otherwise today (corrections and late reports)."""
    actor.check("pack.create")
    pack = _find(actor, pack_id)
    frozen = json.loads(pack.content)
    today = pack_content(actor, pack.deployment, pack.period_start, pack.period_end)
    found = []
    now = {item["id"]: item for item in today["indicators"]}
    for item in frozen["indicators"]:
        current = now.get(item["id"])
        if current is not None and current["display"] != item["display"]:
            found.append(
                Difference(
                    "indicator", item["id"], item["label"], item["display"], current["display"]
                )
            )
    targets_now = {str(target["id"]): target for target in today["targets"]}
    for target in frozen["targets"]:
        current = targets_now.get(str(target["id"]))
        shown = _target_text(current) if current else _("cible supprimée")
        if shown != _target_text(target):
            label = f"{target['indicator_label']} — {target['agreement']}"
            found.append(
                Difference("target", str(target["id"]), label, _target_text(target), shown)
            )
    return found


def _target_text(target: dict) -> str:
    return f"{target['actual_display']} ({target['status_label']})"


# Files ------------------------------------------------------------------------------------------


def pack_file(actor: Actor, pack_id: int, fmt: str) -> PackFileState:
    """The pack in `fmt`: at once for tables and JSON; the PDF from its job, started on the
    first request (and again when it failed or went silent)."""
    view = get_pack(actor, pack_id)
    if fmt not in outputs.FORMATS:
        raise NotFound(_("Format inconnu : %(format)s.", format=fmt))
    if fmt != "pdf":
        body = outputs.render(view.content, view.meta, fmt)
        return PackFileState(view, fmt, "ready", 100, body, None)
    state = _file_row(pack_id, fmt)
    if _claimed(state.id):
        jobs.submit(render_file, state.id)
        return PackFileState(view, fmt, "rendering", 0, None, None)
    return PackFileState(view, fmt, state.status, state.progress, state.body, state.error)


def _file_row(pack_id: int, fmt: str) -> PackFile:
    row = db.session.scalar(
        sa.select(PackFile).where(PackFile.pack_id == pack_id, PackFile.format == fmt)
    )
    if row is not None:
        return row
    try:
        with transaction() as session:
            row = PackFile(pack_id=pack_id, format=fmt, status="pending", progress=0)
            session.add(row)
    except sa.exc.IntegrityError:  # another request made it first
        row = db.session.scalar(
            sa.select(PackFile).where(PackFile.pack_id == pack_id, PackFile.format == fmt)
        )
    return row


def _claimed(file_id: int) -> bool:
    """Whether this request takes the rendering on: the file waits for a job, or its job
    failed or went silent. One request wins; the others read its progress."""
    now = utcnow()
    waiting = sa.or_(
        PackFile.status.in_(("pending", "failed")),
        sa.and_(PackFile.status == "rendering", PackFile.started_at < now - STALE_RENDER),
    )
    with transaction():
        claimed = db.session.execute(
            sa.update(PackFile)
            .where(PackFile.id == file_id, waiting)
            .values(status="rendering", progress=0, started_at=now, error=None)
            .execution_options(synchronize_session=False)
        ).rowcount
    return claimed == 1


def render_file(file_id: int) -> None:
    """The job: render the file, saying how far it got; a failure is kept, in French."""
    row = db.session.get(PackFile, file_id)
    if row is None:
        return
    pack = db.session.get(Pack, row.pack_id)
    view = _view(pack)
    fmt = row.format
    db.session.rollback()

    def advance(percent: int) -> None:
        with transaction():
            db.session.execute(
                sa.update(PackFile).where(PackFile.id == file_id).values(progress=int(percent))
            )

    try:
        body = outputs.render(view.content, view.meta, fmt, progress=advance)
    except Exception:
        log.exception("pack %s: rendering %s failed", view.id, fmt)
        _finish(file_id, status="failed", error=_("Le fichier n'a pas pu être produit."))
        return
    _finish(file_id, status="ready", progress=100, body=body)


def _finish(file_id: int, **values) -> None:
    db.session.rollback()
    with transaction():
        db.session.execute(
            sa.update(PackFile).where(PackFile.id == file_id).values(finished_at=utcnow(), **values)
        )
