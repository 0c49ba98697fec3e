"""Importing a partner's spreadsheet: sent, checked (a dry run that stores nothing), mapped,
then imported, each line as POST /api/v1/reports would store it, with source "import".

A line's UUID is the file's own when it has one; otherwise it is derived from the structure
and what identifies the intervention: its dwelling reference and date when the line gives a
reference, its whole content when it does not. Importing a file twice therefore stores
nothing new, and a line that changed since its import is a conflict, never a silent
replacement. The file is read in chunks, by a job that says how far it got, and each chunk of
an import is committed with its progress, so a job lost with its process is taken up again
where it stopped.
"""

import datetime as dt
import logging
import uuid

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import audit, jobs
from ..errors import Conflict, DomainError, Invalid, NotFound, OutOfPerimeter, invalid
from ..extensions import db
from ..imports import fields
from ..imports.places import PlaceIndex
from ..imports.reading import Unreadable, errors_file, read_table
from ..imports.rows import Converter
from ..models import ImportMapping, ReportImport, Structure, User
from ..models.base import utcnow
from ..permissions import Actor, restrict
from . import reports, transaction

log = logging.getLogger(__name__)

CHUNK = 1000
PREVIEW_POINTS = 5000
UNKNOWN_WORDS = 50  # per field: past that, the file needs fixing more than a mapping
STALE_JOB = dt.timedelta(minutes=10)
ERROR_COLUMN = "erreur"
FAILURE_CHECKING = _l(
    "La vérification s'est arrêtée sur une erreur inattendue : renvoyez le fichier."
)
FAILURE_STORING = _l(
    "L'import s'est arrêté sur une erreur inattendue. Les lignes déjà enregistrées le restent : "
    "renvoyez le même fichier pour importer les autres (rien ne sera enregistré deux fois)."
)
NAMESPACE = uuid.UUID("7d4c1c44-5f0e-4d49-9a55-0f3a2b1e6c10")


# Sending and mapping ---------------------------------------------------------------------------


def max_bytes() -> int:
    return current_app.config["IMPORT_MAX_MB"] * 1024 * 1024


def upload_limit() -> int:
    """The largest request that may carry a file: the file and its multipart envelope."""
    return max_bytes() + 64 * 1024


def start_import(
    actor: Actor,
    structure_id: int | None,
    filename: str,
    data: bytes,
    sheet: str | None = None,
    mapping_name: str | None = None,
    background: bool = True,
) -> ReportImport:
    """Keep the file, guess (or take the saved) mapping, and start its check."""
    job = _new_import(actor, structure_id, filename, data, sheet, mapping_name)
    _run(check_file, job.id, background)
    return job


def import_at_once(
    actor: Actor,
    structure_id: int | None,
    filename: str,
    data: bytes,
    sheet: str | None = None,
    mapping_name: str | None = None,
    valid_only: bool = False,
) -> ReportImport:
    """Check and store in one pass and one transaction (the command line): each chunk is
    stored as it is checked, and the whole is rolled back when a line is refused without
    `valid_only`, leaving the import checked, as a dry run leaves it."""
    job = _new_import(actor, structure_id, filename, data, sheet, mapping_name)
    with transaction():
        job.status, job.valid_only = "importing", valid_only
        audit.record(actor, "import.commit", job.id, {"valid_only": valid_only})
    _process(job.id, store=True, at_once=True)
    db.session.expire_all()
    return db.session.get(ReportImport, job.id)


def _new_import(actor, structure_id, filename, data, sheet, mapping_name) -> ReportImport:
    actor.check("report.import")
    structure = reports.structure_for(actor, structure_id, "report.import")
    if len(data) > max_bytes():
        raise too_large(len(data))
    saved = _saved_mapping(structure.id, mapping_name) if mapping_name else None
    try:
        table = read_table(data, filename, sheet, fields.field_for_header, max_bytes())
    except Unreadable as error:
        raise invalid("file", str(error)) from error
    with transaction():
        job = ReportImport(
            structure_id=structure.id,
            created_by_id=actor.user_id,
            filename=filename[-200:] or "import",
            size=len(data),
            body=data,
            sheet=table.sheet,
            description=table.describe(),
            mapping_name=mapping_name,
            columns=_columns(table.headers, saved),
            values=saved.values if saved else {},
            counts={},
        )
        db.session.add(job)
        db.session.flush()
        audit.record(actor, "import.send", job.id, {"structure": structure.id, "file": filename})
    return job


def too_large(size: int) -> Invalid:
    return invalid(
        "file",
        _(
            "Fichier trop volumineux : %(size)s Mo, au plus %(max)s Mo.",
            size=round(size / 1024 / 1024, 1),
            max=current_app.config["IMPORT_MAX_MB"],
        ),
    )


def _columns(headers: list[str], saved: ImportMapping | None) -> dict[str, str]:
    guessed = fields.guess_mapping(headers)
    if saved is None:
        return guessed
    return {header: saved.columns.get(header, guessed[header]) for header in headers}


def _mapping_named(structure_id: int, name: str) -> ImportMapping | None:
    return db.session.scalar(
        sa.select(ImportMapping).where(
            ImportMapping.structure_id == structure_id, ImportMapping.name == name
        )
    )


def _saved_mapping(structure_id: int, name: str) -> ImportMapping:
    mapping = _mapping_named(structure_id, name)
    if mapping is None:
        raise invalid("mapping", _("Correspondance inconnue : « %(name)s ».", name=name))
    return mapping


def set_mapping(
    actor: Actor,
    import_id,
    columns: dict[str, str],
    values: dict[str, dict[str, str]],
    save_as: str | None = None,
    background: bool = True,
) -> ReportImport:
    """Say which column fills which field and which words stand for which code, then check
    the file again; saved under `save_as` for the structure's next files."""
    job = get_import(actor, import_id)
    if job.status in ("importing", "imported"):
        raise Conflict(_("Ce fichier est déjà importé : envoyez-le de nouveau pour le relire."))
    if job.status == "checking":
        raise Conflict(_("La vérification est en cours : attendez qu'elle finisse."))
    columns, values = _checked_mapping(job, columns, values)
    with transaction():
        job.columns, job.values, job.status = columns, values, "checking"
        job.rows_done, job.counts = 0, {}
        if save_as:
            _save_mapping(actor, job.structure_id, save_as.strip()[:100], columns, values)
            job.mapping_name = save_as.strip()[:100]
        audit.record(actor, "import.map", job.id, {"saved_as": save_as})
    _run(check_file, job.id, background)
    return job


def _checked_mapping(job: ReportImport, columns: dict, values: dict):
    errors = {}
    for header, name in columns.items():
        if header not in job.columns:
            errors[f"columns.{header}"] = _("Colonne absente du fichier.")
        elif name and name not in fields.BY_NAME:
            errors[f"columns.{header}"] = _("Champ inconnu : %(name)s.", name=name)
    taken = [name for name in {**job.columns, **columns}.values() if name]
    for name in {n for n in taken if taken.count(n) > 1}:
        errors[name] = _("Ce champ est donné par plusieurs colonnes.")
    cleaned_values = {}
    for name, mapping in values.items():
        vocabulary = fields.BY_NAME[name].vocabulary if name in fields.BY_NAME else None
        if vocabulary is None:
            errors[f"values.{name}"] = _("Ce champ n'a pas de liste de valeurs.")
            continue
        wrong = sorted(code for code in mapping.values() if code not in vocabulary)
        if wrong:
            errors[f"values.{name}"] = _("Codes inconnus : %(codes)s.", codes=", ".join(wrong))
        cleaned_values[name] = {fields.normalised(k): v for k, v in mapping.items()}
    if errors:
        raise Invalid(errors=errors)
    return {**job.columns, **columns}, cleaned_values


def _save_mapping(actor: Actor, structure_id: int, name: str, columns: dict, values: dict):
    mapping = _mapping_named(structure_id, name)
    if mapping is None:
        mapping = ImportMapping(structure_id=structure_id, name=name)
        db.session.add(mapping)
    mapping.columns, mapping.values, mapping.updated_by_id = columns, values, actor.user_id


def saved_mappings(actor: Actor) -> list[tuple[str, list[str]]]:
    """The mappings saved by the structures the actor imports for, by structure:
    [(structure's name, [mapping names])]."""
    actor.check("report.import")
    query = restrict(
        sa.select(Structure.name, ImportMapping.name).join(
            Structure, Structure.id == ImportMapping.structure_id
        ),
        actor,
        "report.import",
        ImportMapping.structure_id,
    )
    grouped: dict[str, list[str]] = {}
    for structure, name in db.session.execute(query.order_by(Structure.name, ImportMapping.name)):
        grouped.setdefault(structure, []).append(name)
    return list(grouped.items())


# Reading ---------------------------------------------------------------------------------------


def get_import(actor: Actor, import_id) -> ReportImport:
    """An import of a structure the actor imports for; NotFound otherwise."""
    actor.check("report.import")
    query = restrict(
        sa.select(ReportImport).where(ReportImport.id == import_id),
        actor,
        "report.import",
        ReportImport.structure_id,
    )
    job = db.session.scalar(query)
    if job is None:
        raise NotFound()
    _revive(job)
    return job


def list_imports(actor: Actor, limit: int = 20) -> list[ReportImport]:
    """The latest imports of the structures the actor imports for, newest first."""
    actor.check("report.import")
    query = restrict(sa.select(ReportImport), actor, "report.import", ReportImport.structure_id)
    return db.session.scalars(query.order_by(ReportImport.created_at.desc()).limit(limit)).all()


def errors_csv(actor: Actor, import_id) -> tuple[str, bytes]:
    """The lines in error, as the file wrote them, with one more column saying why."""
    job = get_import(actor, import_id)
    table = read_table(job.body, job.filename, job.sheet, fields.field_for_header, max_bytes())
    by_line: dict[int, list[str]] = {}
    for line, header, message in job.errors:
        by_line.setdefault(line, []).append(f"{header} : {message}" if header else message)
    joined = {
        number: _("Ligne %(n)s · %(errors)s", n=number, errors=" ; ".join(messages))
        for number, messages in by_line.items()
    }
    body = errors_file(table, job.body, joined, ERROR_COLUMN)
    stem = job.filename.rsplit(".", 1)[0]
    return f"{stem}-erreurs.csv", body


# Importing -------------------------------------------------------------------------------------


def commit_import(actor: Actor, import_id, valid_only: bool = False, background: bool = True):
    """Store the checked file: only when every line is clean, or, in so many words, only
    its valid lines."""
    job = get_import(actor, import_id)
    if job.status != "checked":
        raise Conflict(_("Le fichier n'est pas prêt à importer (état : %(s)s).", s=job.status))
    refused = job.counts.get("invalid", 0) + job.counts.get("conflicts", 0)
    if refused and not valid_only:
        raise invalid(
            "valid_only",
            _(
                "%(n)s ligne(s) en erreur : corrigez le fichier, ou choisissez « importer les "
                "lignes valides ».",
                n=refused,
            ),
        )
    if not job.counts.get("valid"):
        raise invalid("file", _("Aucune ligne nouvelle à importer."))
    with transaction():
        job.status, job.valid_only, job.rows_done = "importing", valid_only, 0
        audit.record(actor, "import.commit", job.id, {"valid_only": valid_only})
    _run(import_file, job.id, background)
    return job


def check_file(import_id) -> None:
    """The job of the dry run: every line read, placed and compared with what is stored."""
    _process(import_id, store=False)


def import_file(import_id) -> None:
    """The job of the import: the valid lines stored, chunk by chunk."""
    _process(import_id, store=True)


def _run(function, import_id, background: bool):
    if background:
        jobs.submit(function, import_id)
    else:
        function(import_id)
        db.session.expire_all()


def _revive(job: ReportImport):
    """Take up a job its process lost: silent for too long in a running state."""
    if job.status not in ("checking", "importing") or job.updated_at > utcnow() - STALE_JOB:
        return
    with transaction():
        claimed = db.session.execute(
            sa.update(ReportImport)
            .where(ReportImport.id == job.id, ReportImport.updated_at == job.updated_at)
            .values(updated_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
    if claimed:
        jobs.submit(check_file if job.status == "checking" else import_file, job.id)


def _process(import_id, store: bool, at_once: bool = False) -> None:
    """Go through the file; a failure is kept on the import, in French, and logged whole."""
    job = db.session.get(ReportImport, import_id)
    try:
        _go_through(job, store, at_once)
    except Exception:
        log.exception("import %s failed", import_id)
        db.session.rollback()
        job = db.session.get(ReportImport, import_id)
        with transaction():
            job.status = "failed"
            job.failure = str(FAILURE_STORING if store else FAILURE_CHECKING)


def _go_through(job: ReportImport, store: bool, at_once: bool) -> None:
    actor = _actor_of(job)
    structure = db.session.get(Structure, job.structure_id)
    table = read_table(job.body, job.filename, job.sheet, fields.field_for_header, max_bytes())
    converter = Converter(table.headers, job.columns, job.values, PlaceIndex.loaded())
    tally = Tally(converter.missing(), converter.headers)
    chunk = []
    for number, cells in table.rows():
        chunk.append(converter.line(number, cells))
        if len(chunk) == CHUNK:
            _chunk(job, actor, structure, chunk, tally, store, commit=not at_once)
            chunk = []
    _chunk(job, actor, structure, chunk, tally, store, commit=not at_once)
    if at_once and tally.refused() and not job.valid_only:
        db.session.rollback()  # nothing stored until the file is clean
        job, store = db.session.get(ReportImport, job.id), False
    else:
        db.session.commit()
    with transaction():
        job.counts, job.errors, job.preview = tally.counts(store), tally.errors, tally.preview
        job.unknown_words = tally.unknown
        job.rows_total = tally.rows
        if store:
            job.status, job.committed_at = "imported", utcnow()
            audit.record(actor, "import.done", job.id, job.counts)
        else:
            job.status, job.checked_at = "checked", utcnow()


def _actor_of(job: ReportImport) -> Actor:
    user = db.session.get(User, job.created_by_id) if job.created_by_id else None
    return Actor.of(user) if user is not None else Actor.operator("coordinator")


def _chunk(job, actor, structure, lines, tally, store: bool, commit: bool = True):
    if not lines:
        return
    ready = list(tally.sorted_out(lines, structure.id))
    items, digests = [line.data for line in ready], [line.digest for line in ready]
    outcomes = reports.import_reports(actor, structure, items, store, digests)
    for line, outcome in zip(ready, outcomes, strict=True):
        tally.outcome(line, outcome)
    job.rows_done = tally.rows
    if commit:
        db.session.commit()


class Tally:
    """What the lines of a file came to, and their UUIDs seen so far."""

    def __init__(self, missing: list[str], headers: dict[str, str]):
        self.headers = headers  # field → the file's header
        self.rows = 0
        self.valid = self.already = self.conflicts = self.stored = 0
        self.errors: list[tuple[int, str, str]] = []
        self.invalid_lines: set[int] = set()
        self.preview: list[list] = []
        self.unknown: dict[str, list[str]] = {}
        self.seen: dict[uuid.UUID, tuple[int, str]] = {}
        self.missing = [str(fields.BY_NAME[name].label) for name in missing]

    def sorted_out(self, lines, structure_id: int):
        """The lines that may go on to the use case; the others are noted here."""
        for line in lines:
            self.rows += 1
            if self.missing:
                message = _("Colonne manquante : %(names)s.", names=", ".join(self.missing))
                self.error(line.number, "", message)
                continue
            if not line.valid:
                for header, message in line.errors:
                    self.error(line.number, header, message)
                for name, word in line.unknown:
                    self._unknown(name, word)
                self._point(line, "invalid")
                continue
            line.digest = reports.fingerprint(line.data, structure_id)  # the id is not in it
            line.data.setdefault("id", line_id(structure_id, line.data, line.digest))
            twin = self._twin(line)
            if twin:
                self.error(line.number, "", twin)
                continue
            yield line

    def _twin(self, line) -> str | None:
        digest = line.digest
        first = self.seen.setdefault(line.data["id"], (line.number, digest))
        if first[0] == line.number:
            return None
        if first[1] == digest:
            return _("Ligne en double : identique à la ligne %(n)s.", n=first[0])
        return _("Même intervention que la ligne %(n)s, mais un autre contenu.", n=first[0])

    def outcome(self, line, outcome):
        if isinstance(outcome, DomainError):
            state = "outside" if isinstance(outcome, OutOfPerimeter) else "invalid"
            self.conflicts += isinstance(outcome, Conflict)
            for name, message in (outcome.errors or {"": outcome.message()}).items():
                header = self._header_for(name)
                if isinstance(outcome, Conflict):
                    message = _(
                        "Déjà importée avec un autre contenu : rien n'est remplacé. Corrigez "
                        "le signalement dans l'application, ou donnez à la ligne un autre "
                        "identifiant."
                    )
                self.error(line.number, header, message, count=not isinstance(outcome, Conflict))
            self._point(line, state)
            return
        _report_id, created = outcome
        if created:
            self.valid += 1
        else:
            self.already += 1
        self._point(line, "valid" if created else "already")

    def _header_for(self, name: str) -> str:
        """The file's header for a field the use case names (the point: its latitude)."""
        fallbacks = {"location": ("latitude",), "commune": ("commune", "postcode", "latitude")}
        for field in (name, *fallbacks.get(name, ())):
            if field in self.headers:
                return self.headers[field]
        return ""

    def error(self, number: int, header: str, message: str, count: bool = True):
        self.errors.append((number, header, str(message)))
        if count:
            self.invalid_lines.add(number)

    def _unknown(self, name: str, word: str):
        words = self.unknown.setdefault(name, [])
        if word not in words and len(words) < UNKNOWN_WORDS:
            words.append(word)

    def _point(self, line, state: str):
        if line.point is not None and len(self.preview) < PREVIEW_POINTS:
            self.preview.append([round(line.point[0], 5), round(line.point[1], 5), state])

    def refused(self) -> int:
        return len(self.invalid_lines) + self.conflicts

    def counts(self, store: bool) -> dict:
        counts = {
            "rows": self.rows,
            "valid": self.valid,
            "invalid": len(self.invalid_lines),
            "already": self.already,
            "conflicts": self.conflicts,
        }
        if store:
            counts["stored"] = self.valid
        return counts


def line_id(structure_id: int, data: dict, digest: str) -> uuid.UUID:
    """The UUID of a line without one: its dwelling and date when it names its dwelling, else
    its whole content (`digest`, its fingerprint), within its structure."""
    if data.get("dwelling_ref"):
        identity = f"{fields.normalised(data['dwelling_ref'])}|{data['intervention_date']}"
    else:
        identity = digest
    return uuid.uuid5(NAMESPACE, f"{structure_id}|{identity}")
