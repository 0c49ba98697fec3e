"""Reminders to the partners that miss a reporting period, and the coordinators' weekly digest
(DESIGN §2, partner follow-up; docs/operations.md, "Relances").

Three levels, planned from each structure's record (`ohpunaises.cadence`) as of a day:

1. A structure that follows the programme, has not opted out, and missed exactly one period
   (the last one whose deadline passed): an e-mail to its partner admins (active, password
   chosen) or, without any, to its contact address.
2. The same, two periods missed in a row: a second e-mail to the same people, and a call for
   the coordination — an unowned "call" activity due that day, on every coordinator's
   "à faire" list. The call is created once, with the reminder's first attempt, whether its
   e-mail leaves or not.
3. Each active coordinator (password chosen): once per ISO week, a digest of the silent and
   late structures of their deployments; none when there are none.

A reminder is keyed by (level, structure or coordinator, period): "1:s12:2026-11-01",
"3:u5:2026-11-30" (the Monday of the week). It is committed as pending before its messages
leave, then committed sent or failed; a failed or pending one still due is tried again by the
next run, a sent one never. Its messages carry a Message-ID derived from its key and the
address, so that a message sent again after a crash between the server's acceptance and the
commit reads as the same message. A level 1 or 2 reminder sent is written as an "email"
activity on its structure; every attempt is in the audit log (no address).
"""

import dataclasses
import datetime as dt
import email.utils
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import audit, mail
from ..cadence import Record, ReportingPeriod, local_today, period_words, records
from ..errors import Invalid
from ..extensions import db
from ..models import Activity, NothingToReport, Reminder, Report, Structure, User
from ..models.base import utcnow
from ..permissions import Actor, covers
from . import transaction
from .people import public_address

PARTNER_LEVELS = (1, 2)
LEVELS = (1, 2, 3)
TEMPLATES = {1: "reminder_missed", 2: "reminder_second", 3: "reminder_digest"}
LEVEL_LABELS = {
    1: _l("Niveau 1 (première relance)"),
    2: _l("Niveau 2 (deuxième relance et appel)"),
    3: _l("Niveau 3 (résumé hebdomadaire de la coordination)"),
}
ERROR_LENGTH = 300  # what Reminder.error keeps
FOLLOW_THROUGH_DAYS = 30
FORM_PATH = "/saisie"  # where a partner reports, or declares "rien à signaler"


@dataclass(frozen=True)
class Recipient:
    """Where a reminder goes, in which language."""

    email: str
    language: str = "fr"
    name: str = ""


@dataclass(frozen=True)
class Line:
    """A silent or late structure in a coordinator's digest."""

    structure_id: int
    name: str
    silent: bool  # two periods or more missed in a row; else late (one)
    since: ReportingPeriod  # the first of the periods missed in a row
    missed: int
    last_report: dt.date | None
    contact_name: str | None
    contact_email: str | None
    contact_phone: str | None
    opted_out: bool


@dataclass(frozen=True)
class Planned:
    """A reminder due on a day, and what an earlier run made of it."""

    level: int
    key: str
    period_start: dt.date  # the period's first day (level 3: the week's Monday)
    recipients: tuple[Recipient, ...]
    structure_id: int | None = None
    structure_name: str = ""
    periods: tuple[ReportingPeriod, ...] = ()  # missed in a row, oldest first (levels 1, 2)
    user_id: int | None = None  # the coordinator (level 3)
    lines: tuple[Line, ...] = ()  # the digest (level 3)
    status: str | None = None  # the stored reminder's: None (never tried), pending, failed, sent
    reminder_id: int | None = None
    attempts: int = 0

    @property
    def period(self) -> ReportingPeriod | None:
        """The period the reminder is for (levels 1 and 2)."""
        return self.periods[-1] if self.periods else None

    @property
    def done(self) -> bool:
        return self.status == "sent"

    @property
    def period_label(self) -> str:
        """The period as the audit log names it: "2026-11", "2026-Q4", or "2026-W49"."""
        if self.period is not None:
            return self.period.name
        year, week, _day = self.period_start.isocalendar()
        return f"{year}-W{week:02d}"


@dataclass
class Count:
    """What became of one level's reminders in a run."""

    due: int = 0  # not sent by an earlier run (a dry run stops here)
    sent: int = 0
    failed: int = 0
    already: int = 0  # sent by an earlier run


@dataclass(frozen=True)
class Failure:
    planned: Planned
    error: str


@dataclass
class Summary:
    """A run: what was due, and the counts by level."""

    today: dt.date
    dry_run: bool
    planned: list[Planned]
    counts: dict[int, Count] = field(default_factory=lambda: {level: Count() for level in LEVELS})
    failures: list[Failure] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(count.failed for count in self.counts.values())


@dataclass(frozen=True)
class FollowThrough:
    """Reminded structures, and those of them that reported within 30 days."""

    reminded: int
    reported: int

    @property
    def share(self) -> float | None:
        return self.reported / self.reminded if self.reminded else None


# Planning ---------------------------------------------------------------------------------------


def plan(today: dt.date) -> list[Planned]:
    """Every reminder due on `today`, with the stored state of each (writes nothing; it holds
    addresses: for the use case below and its dry run, not for a page)."""
    structures = db.session.scalars(
        sa.select(Structure)
        .where(Structure.active, Structure.onboarded_on.is_not(None))
        .order_by(Structure.name, Structure.id)
    ).all()
    following = [record for record in records(structures, today) if record.following]
    missed = {record.structure.id: record.missed_in_a_row() for record in following}
    planned = _partner_reminders(following, missed)
    planned += _digests(following, missed, today)
    return _with_stored(planned)


def _partner_reminders(following: list[Record], missed: dict) -> list[Planned]:
    """Levels 1 and 2: one or two periods missed in a row, reminders not opted out of."""
    due = [
        record
        for record in following
        if not record.structure.reminders_opted_out
        and len(missed[record.structure.id]) in PARTNER_LEVELS
    ]
    admins = _partner_admins([record.structure.id for record in due])
    planned = []
    for record in due:
        structure, periods = record.structure, tuple(missed[record.structure.id])
        level, period = len(periods), periods[-1]
        recipients = admins.get(structure.id) or _contact(structure)
        planned.append(
            Planned(
                level=level,
                key=f"{level}:s{structure.id}:{period.start.isoformat()}",
                period_start=period.start,
                recipients=tuple(recipients),
                structure_id=structure.id,
                structure_name=structure.name,
                periods=periods,
            )
        )
    return sorted(planned, key=lambda p: (p.level, p.structure_name, p.structure_id))


def _partner_admins(structure_ids: list[int]) -> dict[int, list[Recipient]]:
    """The active partner admins (password chosen) of these structures, by address."""
    found = defaultdict(list)
    if not structure_ids:
        return found
    users = db.session.scalars(
        sa.select(User)
        .where(
            User.role == "partner_admin",
            User.active,
            User.password_hash.is_not(None),
            User.structure_id.in_(structure_ids),
        )
        .order_by(User.email)
    )
    for user in users:
        found[user.structure_id].append(Recipient(user.email, user.language, user.display_name))
    return found


def _contact(structure: Structure) -> list[Recipient]:
    address = (structure.contact_email or "").strip()
    return [Recipient(address, "fr", structure.contact_name or "")] if address else []


def _digests(following: list[Record], missed: dict, today: dt.date) -> list[Planned]:
    """Level 3: each active coordinator's silent and late structures, when there are some."""
    behind = [record for record in following if missed[record.structure.id]]
    behind.sort(key=lambda r: (-len(missed[r.structure.id]), r.structure.name, r.structure.id))
    monday = today - dt.timedelta(days=today.weekday())
    coordinators = db.session.scalars(
        sa.select(User)
        .where(User.role == "coordinator", User.active, User.password_hash.is_not(None))
        .order_by(User.email)
    )
    planned = []
    for user in coordinators:
        actor = Actor.of(user)
        lines = tuple(
            _line(record, missed[record.structure.id])
            for record in behind
            if covers(actor, "partner.list", record.structure)
        )
        if lines:
            planned.append(
                Planned(
                    level=3,
                    key=f"3:u{user.id}:{monday.isoformat()}",
                    period_start=monday,
                    recipients=(Recipient(user.email, user.language, user.display_name),),
                    user_id=user.id,
                    lines=lines,
                )
            )
    return planned


def _line(record: Record, missed: list[ReportingPeriod]) -> Line:
    structure = record.structure
    return Line(
        structure_id=structure.id,
        name=structure.name,
        silent=len(missed) >= 2,
        since=missed[0],
        missed=len(missed),
        last_report=record.last_report,
        contact_name=structure.contact_name,
        contact_email=structure.contact_email,
        contact_phone=structure.contact_phone,
        opted_out=structure.reminders_opted_out,
    )


def _with_stored(planned: list[Planned]) -> list[Planned]:
    """The planned reminders with the state an earlier run stored for each."""
    stored = {}
    keys = [item.key for item in planned]
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        stored.update(
            (reminder.key, reminder)
            for reminder in db.session.scalars(sa.select(Reminder).where(Reminder.key.in_(chunk)))
        )
    return [
        dataclasses.replace(
            item, status=found.status, reminder_id=found.id, attempts=found.attempts
        )
        if (found := stored.get(item.key)) is not None
        else item
        for item in planned
    ]


# Sending ----------------------------------------------------------------------------------------


def send_reminders(actor: Actor, today: dt.date | None = None, dry_run: bool = False) -> Summary:
    """Send every reminder due on `today` (the programme's today by default) that no earlier
    run sent; a dry run counts them and writes nothing."""
    actor.check("reminder.send")
    today = today or local_today()
    base_url = public_address()
    if not dry_run:
        _check_delivery()
    summary = Summary(today, dry_run, plan(today))
    for planned in summary.planned:
        count = summary.counts[planned.level]
        if planned.done:
            count.already += 1
            continue
        count.due += 1
        if dry_run:
            continue
        claimed = _claim(planned, today)
        if claimed is None:  # another run took it meanwhile
            continue
        error = _deliver(planned, base_url)
        _settle(actor, planned, claimed, today, error)
        if error is None:
            count.sent += 1
        else:
            count.failed += 1
            summary.failures.append(Failure(planned, error))
    return summary


def _check_delivery():
    """In production, a mail server: without one, messages are files nobody reads, and a
    reminder written to one would count as sent."""
    config = current_app.config
    if config["ENV_NAME"] == "production" and not config.get("SMTP_SERVER"):
        raise Invalid(
            _(
                "Aucun serveur de messagerie n'est réglé (OHPUNAISES_SMTP_URL) : aucune relance "
                "n'est envoyée."
            )
        )


def _claim(planned: Planned, today: dt.date) -> int | None:
    """Store the reminder as pending, one attempt more (a level 2's call task with its first
    attempt); None when another run stored or claimed it first."""
    try:
        with transaction():
            if planned.reminder_id is None:
                reminder = Reminder(
                    key=planned.key,
                    level=planned.level,
                    structure_id=planned.structure_id,
                    user_id=planned.user_id,
                    period_start=planned.period_start,
                    recipients=len(planned.recipients),
                    status="pending",
                    attempts=1,
                )
                db.session.add(reminder)
                db.session.flush()
                if planned.level == 2:
                    db.session.add(_call_task(planned, today))
                return reminder.id
            claimed = db.session.execute(
                sa.update(Reminder)
                .where(
                    Reminder.id == planned.reminder_id,
                    Reminder.attempts == planned.attempts,
                    Reminder.status != "sent",
                )
                .values(
                    status="pending",
                    attempts=Reminder.attempts + 1,
                    recipients=len(planned.recipients),
                )
                .execution_options(synchronize_session=False)
            )
            return planned.reminder_id if claimed.rowcount == 1 else None
    except sa.exc.IntegrityError:
        return None


def _deliver(planned: Planned, base_url: str) -> str | None:
    """Send the reminder's messages; None when all left, else why not (French, clipped)."""
    try:
        if not planned.recipients:
            reason = _("aucune adresse : ni administrateur de la structure, ni contact")
            raise mail.MailError(reason, "NoRecipient")
        for recipient in planned.recipients:
            mail.send(_message(planned, recipient, base_url))
    except mail.MailError as error:
        return error.message()[:ERROR_LENGTH]
    return None


def _settle(actor: Actor, planned: Planned, reminder_id: int, today: dt.date, error):
    """Store what became of the reminder, its activity when sent, and its audit event."""
    with transaction():
        reminder = db.session.get(Reminder, reminder_id)
        db.session.refresh(reminder)  # claimed by an UPDATE the session did not see
        if error is None:
            reminder.status, reminder.sent_at, reminder.error = "sent", utcnow(), None
            if planned.level in PARTNER_LEVELS:
                db.session.add(_sent_activity(planned, today))
        else:
            reminder.status, reminder.error = "failed", error
        details = {"level": planned.level, "period": planned.period_label}
        details["status"] = reminder.status
        audit.record(actor, "reminder.send", f"reminder:{reminder.id}", details)


def _call_task(planned: Planned, today: dt.date) -> Activity:
    """The coordination's call after a second reminder: unowned, due the day of the run."""
    first, second = (_said(period) for period in planned.periods)
    next_step = _(
        "Appeler %(structure)s : rien reçu pour %(first)s ni pour %(second)s",
        structure=planned.structure_name,
        first=first,
        second=second,
    )
    note = _(
        "Deux périodes de suite sans signalement ni « rien à signaler » (%(first)s, "
        "%(second)s) : deuxième relance automatique par courriel.",
        first=first,
        second=second,
    )
    return Activity(
        structure_id=planned.structure_id,
        kind="call",
        status="planned",
        held_on=today,
        note=note,
        next_step=next_step[:300],
        next_step_due=today,
        next_step_owner_id=None,
        created_by_id=None,
    )


def _sent_activity(planned: Planned, today: dt.date) -> Activity:
    """A level 1 or 2 reminder sent, as the structure's activity."""
    if planned.level == 1:
        note = _(
            "Relance automatique (niveau 1) envoyée par courriel : rien reçu pour %(period)s.",
            period=_said(planned.period),
        )
    else:
        first, second = (_said(period) for period in planned.periods)
        note = _(
            "Deuxième relance automatique (niveau 2) envoyée par courriel : rien reçu pour "
            "%(first)s ni pour %(second)s.",
            first=first,
            second=second,
        )
    return Activity(
        structure_id=planned.structure_id,
        kind="email",
        status="done",
        held_on=today,
        note=note,
        created_by_id=None,
    )


# Messages ---------------------------------------------------------------------------------------


def _said(period: ReportingPeriod) -> str:
    return period_words(period, in_sentence=True)


def message_id(key: str, address: str) -> str:
    """The Message-ID of a reminder's message to one address: the same at every attempt."""
    sender = email.utils.parseaddr(current_app.config["MAIL_FROM"])[1]
    domain = sender.rpartition("@")[2] or "localhost"
    digest = hashlib.sha256(address.strip().lower().encode()).hexdigest()[:16]
    return f"<reminder.{key.replace(':', '.')}.{digest}@{domain}>"


def _message(planned: Planned, recipient: Recipient, base_url: str) -> mail.Message:
    """The reminder's message to one recipient, in their language."""
    language = recipient.language if recipient.language in mail.LANGUAGES else "fr"
    with force_locale(language):
        if planned.level == 3:
            context = _digest_context(planned, base_url)
        else:
            context = {
                "structure": planned.structure_name,
                "periods": [_said(period) for period in planned.periods],
                "period": _said(planned.period),
                "link": base_url + FORM_PATH,
            }
    message = mail.compose(
        TEMPLATES[planned.level], recipient.email, language, name=recipient.name, **context
    )
    return dataclasses.replace(message, message_id=message_id(planned.key, recipient.email))


def _digest_context(planned: Planned, base_url: str) -> dict:
    lines = [
        {**dataclasses.asdict(line), "since": _said(line.since)}
        | {"link": f"{base_url}/structures/{line.structure_id}"}
        for line in planned.lines
    ]
    return {
        "week": format_date(planned.period_start, "long"),
        "silent": [line for line in lines if line["silent"]],
        "late": [line for line in lines if not line["silent"]],
        "link": base_url + "/a-faire",
    }


# The follow-through indicator -------------------------------------------------------------------


def follow_through(structure_ids, today: dt.date) -> FollowThrough:
    """Of these structures, those reminded, and those of them that reported after a reminder.

    A reminder counts when it is of level 1 or 2, was sent, and its 30 days are over by
    `today`: sent at least 30 days before midnight at the start of `today` (programme's time
    zone). A structure is reminded when it has at least one such reminder; it reported when,
    for at least one of them, a report of the structure reached the platform (`created_at`), or
    the structure declared "rien à signaler" (`declared_at`), from the moment the reminder was
    sent until 30 days later (excluded). Structures are counted, not reminders; any report
    counts, whatever period it is for.
    """
    ids = sorted(set(structure_ids))
    if not ids:
        return FollowThrough(0, 0)
    window = dt.timedelta(days=FOLLOW_THROUGH_DAYS)
    midnight = dt.datetime.combine(
        today, dt.time(), ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    )
    sent = db.session.execute(
        sa.select(Reminder.structure_id, Reminder.sent_at).where(
            Reminder.structure_id.in_(ids),
            Reminder.level.in_(PARTNER_LEVELS),
            Reminder.status == "sent",
            Reminder.sent_at <= midnight - window,
        )
    ).all()
    reminded = {structure_id for structure_id, _sent_at in sent}
    reported = set()
    for start in range(0, len(sent), 200):
        chunk = sent[start : start + 200]
        reported |= _arrived(Report.structure_id, Report.created_at, chunk, window)
        reported |= _arrived(
            NothingToReport.structure_id, NothingToReport.declared_at, chunk, window
        )
    return FollowThrough(len(reminded), len(reported))


def _arrived(structure_column, moment_column, sent: list, window: dt.timedelta) -> set[int]:
    """The structures with a row whose moment falls in the window after one of its reminders."""
    within = [
        sa.and_(
            structure_column == structure_id,
            moment_column >= sent_at,
            moment_column < sent_at + window,
        )
        for structure_id, sent_at in sent
    ]
    query = sa.select(structure_column).where(sa.or_(*within)).distinct()
    return set(db.session.scalars(query))
