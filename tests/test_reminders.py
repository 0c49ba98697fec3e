"""Reminders to the partners that miss a reporting period (`ohpunaises relances send`): the
three levels on hand-built structures, through a real SMTP server, run as of fixed dates.

On 2026-12-15 (a Tuesday; its week starts on Monday 2026-12-14, ISO week 2026-W51), monthly
structures that joined on 2026-09-01 owe September, October and November (November's deadline,
December 10, has passed; December's has not):

- Alpha Habitat reported September and October: late for November (level 1);
- Bêta Entraide reported September only: October and November missed (level 2);
- Gamma Santé never reported: three periods missed (silent, in the digests only);
- Delta Logement reported every month: nothing due;
- Epsilon Aide missed November but opted out of reminders: in the digests only;
- Iota Services reported September and October and declared "rien à signaler" for November;
- Kappa Est, in a second deployment, missed November (level 1, to its contact address);
- Zêta Habitat reports quarterly since 2026-01-01: the third quarter missed (level 1).

Coordinators: Camille (no deployment: sees every structure), Estelle (the second deployment
only: Kappa Est), one invited without a password yet and one deactivated (neither gets a
digest).
"""

import datetime as dt
import json
import re

import pytest
import sqlalchemy as sa

from ohpunaises.errors import Forbidden
from ohpunaises.extensions import db
from ohpunaises.models import (
    Activity,
    AuditEvent,
    Deployment,
    NothingToReport,
    Reminder,
    Structure,
    User,
)
from ohpunaises.permissions import Actor
from ohpunaises.usecases import activities, reminders
from ohpunaises.usecases.reminders import FollowThrough, follow_through

from . import smtp
from .conftest import make_report, make_structure, make_user
from .smtp import free_port
from .test_deployments import drop_opened_deployments

smtp_server = smtp.smtp_server  # the fixture, used by name

BASE_URL = "https://ohpunaises.example.org"
SENDER = "Oh Punaises! <ne-pas-repondre@ohpunaises.example.org>"
DAY = "2026-12-15"
FIRST_RUN = [
    "Relances du 2026-12-15.",
    "Niveau 1 (première relance) : 3 envoyée(s), 0 en échec, 0 déjà envoyée(s).",
    "Niveau 2 (deuxième relance et appel) : 1 envoyée(s), 0 en échec, 0 déjà envoyée(s).",
    "Niveau 3 (résumé hebdomadaire de la coordination) : 2 envoyée(s), 0 en échec, "
    "0 déjà envoyée(s).",
]
UTC = dt.UTC
STOP = "demandez-le à la coordination du programme : elle les arrête pour votre structure."


def at(year, month, day, hour=10) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=UTC)


@pytest.fixture
def programme(app):
    """The structures and accounts of the module's docstring: {name: id}."""
    with app.app_context():
        east = Deployment(name="Déploiement Est", started_on=dt.date(2026, 1, 1))
        db.session.add(east)

        def joined(name, code="69123", onboarded=dt.date(2026, 9, 1), **fields):
            structure = make_structure(name, code)
            structure.onboarded_on = onboarded
            for key, value in fields.items():
                setattr(structure, key, value)
            return structure

        def reported(structure, *days):
            for day in days:
                report = make_report(structure, "69123", day)
                report.created_at = at(day.year, day.month, day.day) + dt.timedelta(days=1)

        september, october, november = (dt.date(2026, m, 10) for m in (9, 10, 11))
        alpha = joined("Alpha Habitat", contact_email="contact@alpha.example.org")
        reported(alpha, september, october)
        beta = joined(
            "Bêta Entraide",
            "69266",
            contact_name="Claire Bêta",
            contact_email="contact@beta.example.org",
            contact_phone="04 72 00 00 00",
        )
        reported(beta, dt.date(2026, 9, 5))
        gamma = joined("Gamma Santé", "69259")
        delta = joined("Delta Logement")
        reported(delta, september, october, november)
        epsilon = joined("Epsilon Aide", reminders_opted_out=True)
        reported(epsilon, september, october)
        iota = joined("Iota Services")
        reported(iota, september, october)
        kappa = joined("Kappa Est", contact_email="kappa@est.example.org")
        kappa.deployment = east
        reported(kappa, september, october)
        zeta = joined("Zêta Habitat", onboarded=dt.date(2026, 1, 1), reporting_cadence="quarterly")
        reported(zeta, dt.date(2026, 2, 3), dt.date(2026, 5, 4))
        db.session.flush()
        db.session.add(
            NothingToReport(
                structure_id=iota.id,
                cadence="monthly",
                period_start=dt.date(2026, 11, 1),
                period_end=dt.date(2026, 11, 30),
                declared_at=at(2026, 12, 2),
            )
        )

        make_user("alpha-admin@example.org", "partner_admin", alpha)
        make_user("alpha-agent@example.org", "agent", alpha)
        make_user("alpha-invited@example.org", "partner_admin", alpha).password_hash = None
        make_user("alpha-gone@example.org", "partner_admin", alpha).active = False
        make_user("gamma-admin@example.org", "partner_admin", gamma)
        make_user("delta-admin@example.org", "partner_admin", delta)
        make_user("epsilon-admin@example.org", "partner_admin", epsilon)
        make_user("iota-admin@example.org", "partner_admin", iota)
        make_user("zeta-admin@example.org", "partner_admin", zeta).language = "en"
        camille = make_user("camille@example.org", "coordinator")
        camille.display_name = "Camille"
        estelle = make_user("estelle@example.org", "coordinator")
        estelle.deployments = [east]
        make_user("invited-coordinator@example.org", "coordinator").password_hash = None
        make_user("gone-coordinator@example.org", "coordinator").active = False
        db.session.commit()
        ids = {s.name: s.id for s in (alpha, beta, gamma, delta, epsilon, iota, kappa, zeta)}
        ids |= {"camille": camille.id, "estelle": estelle.id}
        db.session.remove()
    yield ids
    drop_opened_deployments(app)


def mailing_app(make_app, url: str):
    return make_app(
        OHPUNAISES_SMTP_URL=url, OHPUNAISES_BASE_URL=BASE_URL, OHPUNAISES_MAIL_FROM=SENDER
    )


@pytest.fixture
def mailing(make_app, smtp_server, programme):
    """An application sending through a real SMTP server, the server, and the ids."""
    return mailing_app(make_app, smtp_server.url), smtp_server, programme


def relances(app, *args):
    """`ohpunaises relances send` through click's runner, on this application."""
    return app.test_cli_runner().invoke(args=["relances", "send", *args])


def rows(app) -> dict[str, int]:
    """The rows of the tables a run writes to."""
    with app.app_context():
        found = {
            model.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (Reminder, Activity, AuditEvent)
        }
        db.session.remove()
    return found


def stored(app) -> dict[str, tuple]:
    """Each reminder by key: (status, attempts, error, sent or not)."""
    with app.app_context():
        found = {
            r.key: (r.status, r.attempts, r.error, r.sent_at is not None)
            for r in db.session.scalars(sa.select(Reminder))
        }
        db.session.remove()
    return found


def activities_of(app, ids, name) -> list[tuple]:
    with app.app_context():
        found = [
            (
                a.kind,
                a.status,
                a.held_on,
                a.note,
                a.next_step,
                a.next_step_due,
                a.next_step_owner_id,
                a.created_by_id,
            )
            for a in db.session.scalars(
                sa.select(Activity).where(Activity.structure_id == ids[name]).order_by(Activity.id)
            )
        ]
        db.session.remove()
    return found


def audited(app) -> list[tuple]:
    with app.app_context():
        found = sorted(
            (e.details["level"], e.details["period"], e.details["status"], json.dumps(e.details))
            for e in db.session.scalars(
                sa.select(AuditEvent).where(AuditEvent.action == "reminder.send")
            )
        )
        db.session.remove()
    return found


def by_recipient(messages) -> dict:
    found = {message["To"]: message for message in messages}
    assert len(found) == len(messages)
    return found


def plain(message) -> str:
    """The text body, its lines joined (wrapped at 72 columns)."""
    return " ".join(message.get_body(("plain",)).get_content().split())


def html_of(message) -> str:
    return message.get_body(("html",)).get_content()


def first_run_keys(ids) -> set[str]:
    return {
        f"1:s{ids['Alpha Habitat']}:2026-11-01",
        f"1:s{ids['Kappa Est']}:2026-11-01",
        f"1:s{ids['Zêta Habitat']}:2026-07-01",
        f"2:s{ids['Bêta Entraide']}:2026-11-01",
        f"3:u{ids['camille']}:2026-12-14",
        f"3:u{ids['estelle']}:2026-12-14",
    }


# The three levels -------------------------------------------------------------------------------


def test_a_run_sends_each_level_to_its_people_and_writes_it_down(mailing):
    app, server, ids = mailing
    result = relances(app, "--date", DAY)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == FIRST_RUN

    messages = by_recipient(server.wait_for(6))
    assert sorted(messages) == [
        "alpha-admin@example.org",
        "camille@example.org",
        "contact@beta.example.org",
        "estelle@example.org",
        "kappa@est.example.org",
        "zeta-admin@example.org",
    ]
    assert stored(app) == {key: ("sent", 1, None, True) for key in first_run_keys(ids)}

    email_done = "Relance automatique (niveau 1) envoyée par courriel : rien reçu pour "
    day = dt.date(2026, 12, 15)
    assert activities_of(app, ids, "Alpha Habitat") == [
        ("email", "done", day, email_done + "novembre 2026.", None, None, None, None)
    ]
    assert activities_of(app, ids, "Zêta Habitat") == [
        ("email", "done", day, email_done + "le 3e trimestre 2026.", None, None, None, None)
    ]
    call, sent = activities_of(app, ids, "Bêta Entraide")
    assert call == (
        "call",
        "planned",
        day,
        "Deux périodes de suite sans signalement ni « rien à signaler » (octobre 2026, "
        "novembre 2026) : deuxième relance automatique par courriel.",
        "Appeler Bêta Entraide : rien reçu pour octobre 2026 ni pour novembre 2026",
        day,
        None,
        None,
    )
    assert sent == (
        "email",
        "done",
        day,
        "Deuxième relance automatique (niveau 2) envoyée par courriel : rien reçu pour "
        "octobre 2026 ni pour novembre 2026.",
        None,
        None,
        None,
        None,
    )
    for name in ("Gamma Santé", "Delta Logement", "Epsilon Aide", "Iota Services"):
        assert activities_of(app, ids, name) == []
    assert rows(app) == {"reminders": 6, "activities": 5, "audit_events": 6}

    events = audited(app)
    assert [event[:3] for event in events] == [
        (1, "2026-11", "sent"),
        (1, "2026-11", "sent"),
        (1, "2026-Q3", "sent"),
        (2, "2026-11", "sent"),
        (3, "2026-W51", "sent"),
        (3, "2026-W51", "sent"),
    ]
    assert all("@" not in event[3] for event in events)

    with app.app_context():
        for coordinator in ("camille", "estelle"):
            todo = activities.todo(Actor.of(db.session.get(User, ids[coordinator])), day)
            names = [item.structure.name for item in todo]
            assert names == (["Bêta Entraide"] if coordinator == "camille" else [])
        db.session.remove()


def test_the_messages_name_the_period_say_how_to_answer_and_how_to_stop(mailing):
    app, server, ids = mailing
    assert relances(app, "--date", DAY).exit_code == 0
    messages = by_recipient(server.wait_for(6))

    first = messages["alpha-admin@example.org"]
    assert first["Subject"] == "Oh Punaises! : rien reçu pour novembre 2026 (Alpha Habitat)"
    text = plain(first)
    assert (
        "Pour novembre 2026, nous n'avons rien reçu de votre structure, Alpha Habitat : ni "
        "signalement, ni déclaration « rien à signaler »." in text
    )
    assert "sinon, déclarez-le avec le bouton « Rien à signaler » : une minute suffit." in text
    assert f"{BASE_URL}/saisie" in text and f'href="{BASE_URL}/saisie"' in html_of(first)
    assert STOP in text and STOP in html_of(first)
    key = f"1:s{ids['Alpha Habitat']}:2026-11-01"
    # A long header may be folded onto its own line: its value is what it holds, trimmed.
    message_id = first["Message-ID"].strip()
    assert message_id == reminders_message_id(app, key, "alpha-admin@example.org")
    assert re.fullmatch(
        r"<reminder\.1\.s\d+\.2026-11-01\.[0-9a-f]{16}@ohpunaises\.example\.org>",
        message_id,
    )

    second = messages["contact@beta.example.org"]
    assert second["Subject"] == (
        "Oh Punaises! : deuxième relance, rien reçu depuis octobre 2026 (Bêta Entraide)"
    )
    text = plain(second)
    assert "ni pour octobre 2026, ni pour novembre 2026" in text
    assert "La coordination du programme va vous appeler" in text
    assert "déclarez-le avec le bouton « Rien à signaler »" in text
    assert f"{BASE_URL}/saisie" in text and "demandez-le à la coordination" in text

    quarter = messages["zeta-admin@example.org"]
    assert quarter["Content-Language"] == "en"  # its admin reads English
    assert quarter["Subject"].endswith("(Zêta Habitat)")
    assert messages["kappa@est.example.org"]["Subject"] == (
        "Oh Punaises! : rien reçu pour novembre 2026 (Kappa Est)"
    )

    digest = messages["camille@example.org"]
    assert digest["Subject"] == (
        "Oh Punaises! : partenaires à relancer, semaine du 14 décembre 2026"
    )
    text = plain(digest)
    assert text.startswith("Bonjour Camille,")
    names = ["Gamma Santé", "Bêta Entraide", "Alpha Habitat", "Epsilon Aide"]
    names += ["Kappa Est", "Zêta Habitat"]
    assert [text.index(f"- {name}") for name in names] == sorted(
        text.index(f"- {name}") for name in names
    )
    assert text.index("Silencieuses") < text.index("- Gamma Santé")
    assert text.index("- Bêta Entraide") < text.index("En retard") < text.index("- Alpha")
    assert "Delta Logement" not in text and "Iota Services" not in text
    assert (
        "- Bêta Entraide Rien reçu depuis octobre 2026 (2 périodes de suite) Dernier "
        "signalement : 5 septembre 2026 Contact : Claire Bêta, contact@beta.example.org, "
        f"04 72 00 00 00 {BASE_URL}/structures/{ids['Bêta Entraide']}" in text
    )
    assert (
        "- Gamma Santé Rien reçu depuis septembre 2026 (3 périodes de suite) Aucun "
        "signalement à ce jour Aucun contact noté" in text
    )
    assert "- Zêta Habitat Rien reçu pour le 3e trimestre 2026" in text
    assert "- Epsilon Aide Rien reçu pour novembre 2026 Dernier signalement : 10 octobre " in text
    assert text.count("Relances automatiques désactivées pour cette structure") == 1
    assert f"{BASE_URL}/a-faire" in text and f'href="{BASE_URL}/a-faire"' in html_of(digest)
    assert "Pour ne plus le recevoir, voyez-le avec la coordination" in text
    assert f'href="{BASE_URL}/structures/{ids["Gamma Santé"]}"' in html_of(digest)

    for message in messages.values():
        lines = message.get_body(("plain",)).get_content().splitlines()
        assert [line for line in lines if line.lstrip()[:1] in ("»", ":", ";")] == []
        assert max(len(line) for line in lines if "://" not in line) <= 72

    east = plain(messages["estelle@example.org"])
    assert "- Kappa Est" in east
    assert [name for name in names if f"- {name}" in east] == ["Kappa Est"]


def reminders_message_id(app, key, address) -> str:
    with app.app_context():
        return reminders.message_id(key, address)


def test_a_second_run_the_same_day_sends_nothing(mailing):
    app, server, _ids = mailing
    assert relances(app, "--date", DAY).exit_code == 0
    server.wait_for(6)
    after_first = rows(app)

    again = relances(app, "--date", DAY)
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines() == [
        "Relances du 2026-12-15.",
        "Niveau 1 (première relance) : 0 envoyée(s), 0 en échec, 3 déjà envoyée(s).",
        "Niveau 2 (deuxième relance et appel) : 0 envoyée(s), 0 en échec, 1 déjà envoyée(s).",
        "Niveau 3 (résumé hebdomadaire de la coordination) : 0 envoyée(s), 0 en échec, "
        "2 déjà envoyée(s).",
    ]
    assert len(server.messages()) == 6
    assert rows(app) == after_first == {"reminders": 6, "activities": 5, "audit_events": 6}
    assert set(stored(app).values()) == {("sent", 1, None, True)}


def test_a_period_later_the_second_reminder_and_its_call(mailing):
    app, server, ids = mailing
    assert relances(app, "--date", DAY).exit_code == 0
    server.wait_for(6)
    server.clear()

    later = relances(app, "--date", "2027-01-15")
    assert later.exit_code == 0, later.output
    assert later.stdout.splitlines() == [
        "Relances du 2027-01-15.",
        "Niveau 1 (première relance) : 2 envoyée(s), 0 en échec, 0 déjà envoyée(s).",
        "Niveau 2 (deuxième relance et appel) : 3 envoyée(s), 0 en échec, 0 déjà envoyée(s).",
        "Niveau 3 (résumé hebdomadaire de la coordination) : 2 envoyée(s), 0 en échec, "
        "0 déjà envoyée(s).",
    ]
    messages = by_recipient(server.wait_for(7))
    assert sorted(messages) == [
        "alpha-admin@example.org",
        "camille@example.org",
        "delta-admin@example.org",
        "estelle@example.org",
        "iota-admin@example.org",
        "kappa@est.example.org",
        "zeta-admin@example.org",
    ]
    assert "ni pour novembre 2026, ni pour décembre 2026" in plain(
        messages["alpha-admin@example.org"]
    )
    # Zêta's admin reads English.
    assert "for either Q3 2026 or Q4 2026" in plain(messages["zeta-admin@example.org"])
    new_keys = set(stored(app)) - first_run_keys(ids)
    assert new_keys == {
        f"1:s{ids['Delta Logement']}:2026-12-01",
        f"1:s{ids['Iota Services']}:2026-12-01",
        f"2:s{ids['Alpha Habitat']}:2026-12-01",
        f"2:s{ids['Kappa Est']}:2026-12-01",
        f"2:s{ids['Zêta Habitat']}:2026-10-01",
        f"3:u{ids['camille']}:2027-01-11",
        f"3:u{ids['estelle']}:2027-01-11",
    }
    call = activities_of(app, ids, "Alpha Habitat")[1]
    assert call[:2] == ("call", "planned")
    assert call[4:] == (
        "Appeler Alpha Habitat : rien reçu pour novembre 2026 ni pour décembre 2026",
        dt.date(2027, 1, 15),
        None,
        None,
    )
    with app.app_context():
        camille = Actor.of(db.session.get(User, ids["camille"]))
        estelle = Actor.of(db.session.get(User, ids["estelle"]))
        todo = activities.todo(camille, dt.date(2027, 1, 15))
        assert [(item.structure.name, item.days_late) for item in todo] == [
            ("Bêta Entraide", 31),
            ("Alpha Habitat", 0),
            ("Kappa Est", 0),
            ("Zêta Habitat", 0),
        ]
        assert [item.structure.name for item in activities.todo(estelle, dt.date(2027, 1, 15))] == [
            "Kappa Est"
        ]
        db.session.remove()


def test_opted_out_structures_get_no_reminder_but_stay_in_the_digest(mailing):
    app, server, ids = mailing
    for day in (DAY, "2027-01-15", "2027-02-15"):
        assert relances(app, "--date", day).exit_code == 0
    received = server.messages()
    assert [m for m in received if m["To"] == "epsilon-admin@example.org"] == []
    assert activities_of(app, ids, "Epsilon Aide") == []
    with app.app_context():
        own = db.session.scalars(
            sa.select(Reminder.key).where(Reminder.structure_id == ids["Epsilon Aide"])
        ).all()
        db.session.remove()
    assert own == []
    digests = [m for m in received if m["To"] == "camille@example.org"]
    assert len(digests) == 3
    assert all("- Epsilon Aide" in plain(digest) for digest in digests)


def test_a_report_or_a_declaration_stops_the_reminders(mailing):
    """Run first on 2027-01-15: Delta reported December and Iota declared it had nothing, so
    neither is reminded; Bêta (three periods missed) and Gamma (four) get no level 1 or 2,
    only the digests; Alpha, Kappa and Zêta, two periods missed, get their level 2."""
    app, server, ids = mailing
    with app.app_context():
        delta = db.session.get(Structure, ids["Delta Logement"])
        make_report(delta, "69123", dt.date(2026, 12, 7))
        db.session.add(
            NothingToReport(
                structure_id=ids["Iota Services"],
                cadence="monthly",
                period_start=dt.date(2026, 12, 1),
                period_end=dt.date(2026, 12, 31),
            )
        )
        db.session.commit()
        db.session.remove()
    assert relances(app, "--date", "2027-01-15").exit_code == 0
    recipients = sorted(m["To"] for m in server.wait_for(5))
    assert recipients == [
        "alpha-admin@example.org",
        "camille@example.org",
        "estelle@example.org",
        "kappa@est.example.org",
        "zeta-admin@example.org",
    ]
    assert set(stored(app)) == {
        f"2:s{ids['Alpha Habitat']}:2026-12-01",
        f"2:s{ids['Kappa Est']}:2026-12-01",
        f"2:s{ids['Zêta Habitat']}:2026-10-01",
        f"3:u{ids['camille']}:2027-01-11",
        f"3:u{ids['estelle']}:2027-01-11",
    }
    digest = plain(by_recipient(server.messages())["camille@example.org"])
    assert "- Bêta Entraide Rien reçu depuis octobre 2026 (3 périodes de suite)" in digest
    assert "- Gamma Santé Rien reçu depuis septembre 2026 (4 périodes de suite)" in digest
    assert "Delta Logement" not in digest and "Iota Services" not in digest


# Failures and retries ---------------------------------------------------------------------------


def test_a_failing_server_is_retried_by_the_next_run_and_sent_once(
    make_app, smtp_server, programme
):
    ids = programme
    down = mailing_app(make_app, f"smtp://127.0.0.1:{free_port()}")
    failed = relances(down, "--date", DAY)
    assert failed.exit_code == 1
    reason = "Le message n'a pas pu être envoyé : le serveur 127.0.0.1 est injoignable"
    assert f"Échec : Alpha Habitat, niveau 1, novembre 2026 : {reason}" in failed.stderr
    assert f"compte n° {ids['camille']}, semaine du 2026-12-14 : {reason}" in failed.stderr
    assert failed.stdout.splitlines()[1] == (
        "Niveau 1 (première relance) : 0 envoyée(s), 3 en échec, 0 déjà envoyée(s)."
    )
    assert stored(down) == {key: ("failed", 1, reason, False) for key in first_run_keys(ids)}
    # The call of the level 2 is the coordination's, whether its e-mail left or not.
    assert [a[:2] for a in activities_of(down, ids, "Bêta Entraide")] == [("call", "planned")]
    assert rows(down) == {"reminders": 6, "activities": 1, "audit_events": 6}
    assert {event[2] for event in audited(down)} == {"failed"}

    up = mailing_app(make_app, smtp_server.url)
    retried = relances(up, "--date", DAY)
    assert retried.exit_code == 0, retried.output
    assert retried.stdout.splitlines() == FIRST_RUN
    assert len(smtp_server.wait_for(6)) == 6
    assert stored(up) == {key: ("sent", 2, None, True) for key in first_run_keys(ids)}
    assert [a[:2] for a in activities_of(up, ids, "Bêta Entraide")] == [
        ("call", "planned"),
        ("email", "done"),
    ]
    assert rows(up) == {"reminders": 6, "activities": 5, "audit_events": 12}

    for _run in range(2):
        assert relances(up, "--date", DAY).exit_code == 0
    assert len(smtp_server.messages()) == 6
    assert rows(up) == {"reminders": 6, "activities": 5, "audit_events": 12}


def test_a_failed_reminder_is_not_retried_once_its_period_arrives(make_app, smtp_server, programme):
    ids = programme
    down = mailing_app(make_app, f"smtp://127.0.0.1:{free_port()}")
    assert relances(down, "--date", DAY).exit_code == 1
    with down.app_context():
        alpha = db.session.get(Structure, ids["Alpha Habitat"])
        make_report(alpha, "69123", dt.date(2026, 11, 20))
        db.session.commit()
        db.session.remove()

    up = mailing_app(make_app, smtp_server.url)
    result = relances(up, "--date", DAY)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1] == (
        "Niveau 1 (première relance) : 2 envoyée(s), 0 en échec, 0 déjà envoyée(s)."
    )
    recipients = sorted(m["To"] for m in smtp_server.wait_for(5))
    assert "alpha-admin@example.org" not in recipients and len(recipients) == 5
    alpha_key = f"1:s{ids['Alpha Habitat']}:2026-11-01"
    assert stored(up)[alpha_key][:2] == ("failed", 1)
    assert "Alpha Habitat" not in plain(by_recipient(smtp_server.messages())["camille@example.org"])


def test_a_resend_after_a_crash_carries_the_same_message_id(mailing):
    """The run stopped after the server took Alpha's message and before it stored it sent:
    the reminder is pending, its activity and audit event were never written."""
    app, server, ids = mailing
    assert relances(app, "--date", DAY).exit_code == 0
    first = by_recipient(server.wait_for(6))["alpha-admin@example.org"]
    key = f"1:s{ids['Alpha Habitat']}:2026-11-01"
    with app.app_context():
        reminder = db.session.scalar(sa.select(Reminder).where(Reminder.key == key))
        reminder.status, reminder.sent_at = "pending", None
        db.session.execute(sa.delete(Activity).where(Activity.structure_id == ids["Alpha Habitat"]))
        db.session.execute(
            sa.delete(AuditEvent).where(AuditEvent.target == f"reminder:{reminder.id}")
        )
        db.session.commit()
        db.session.remove()
    server.clear()

    again = relances(app, "--date", DAY)
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines()[1] == (
        "Niveau 1 (première relance) : 1 envoyée(s), 0 en échec, 2 déjà envoyée(s)."
    )
    (resent,) = server.wait_for(1)
    assert resent["To"] == "alpha-admin@example.org"
    assert resent["Message-ID"].strip() == first["Message-ID"].strip()
    assert stored(app)[key] == ("sent", 2, None, True)
    assert [a[0] for a in activities_of(app, ids, "Alpha Habitat")] == ["email"]
    assert rows(app) == {"reminders": 6, "activities": 5, "audit_events": 6}


def test_a_structure_without_any_address_is_a_failure_to_fix(mailing):
    app, server, _ids = mailing
    with app.app_context():
        lost = make_structure("Lambda Sans Adresse", "69123")
        lost.onboarded_on = dt.date(2026, 9, 1)
        make_report(lost, "69123", dt.date(2026, 10, 2))
        make_report(lost, "69123", dt.date(2026, 9, 2))
        db.session.commit()
        lost_id = lost.id
        db.session.remove()
    result = relances(app, "--date", DAY)
    assert result.exit_code == 1
    reason = (
        "Le message n'a pas pu être envoyé : aucune adresse : ni administrateur de la "
        "structure, ni contact"
    )
    assert f"Échec : Lambda Sans Adresse, niveau 1, novembre 2026 : {reason}" in result.stderr
    assert stored(app)[f"1:s{lost_id}:2026-11-01"] == ("failed", 1, reason, False)
    assert len(server.wait_for(6)) == 6


# The dry run ------------------------------------------------------------------------------------


def test_the_dry_run_lists_what_would_leave_and_changes_nothing(mailing):
    app, server, ids = mailing
    before = rows(app)
    result = relances(app, "--dry-run", "--date", DAY)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "Essai au 2026-12-15 : rien n'est envoyé ni écrit.",
        "Niveau 1 (première relance) : 3 à envoyer, 0 déjà envoyée(s).",
        "  Alpha Habitat, niveau 1, novembre 2026 → alpha-admin@example.org",
        "  Kappa Est, niveau 1, novembre 2026 → kappa@est.example.org",
        "  Zêta Habitat, niveau 1, 3e trimestre 2026 → zeta-admin@example.org",
        "Niveau 2 (deuxième relance et appel) : 1 à envoyer, 0 déjà envoyée(s).",
        "  Bêta Entraide, niveau 2, novembre 2026 → contact@beta.example.org",
        "Niveau 3 (résumé hebdomadaire de la coordination) : 2 à envoyer, 0 déjà envoyée(s).",
        f"  compte n° {ids['camille']}, semaine du 2026-12-14 → camille@example.org",
        f"  compte n° {ids['estelle']}, semaine du 2026-12-14 → estelle@example.org",
    ]
    assert rows(app) == before == {"reminders": 0, "activities": 0, "audit_events": 0}
    assert server.messages() == []


def test_the_dry_run_after_a_failure_names_the_retries(make_app, smtp_server, programme):
    down = mailing_app(make_app, f"smtp://127.0.0.1:{free_port()}")
    assert relances(down, "--date", DAY).exit_code == 1
    before = rows(down)
    up = mailing_app(make_app, smtp_server.url)
    result = relances(up, "--dry-run", "--date", DAY)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "  Alpha Habitat, niveau 1, novembre 2026 (nouvel essai) → alpha-admin@example.org" in (
        lines
    )
    assert sum("(nouvel essai)" in line for line in lines) == 6
    assert rows(up) == before == {"reminders": 6, "activities": 1, "audit_events": 6}
    assert smtp_server.messages() == []


# The command line -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["2026-13-01", "demain", "15/12/2026", "1999-12-31", "20261215"])
def test_a_bad_date_is_refused_in_french(mailing, value):
    app, server, _ids = mailing
    result = relances(app, "--date", value)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Date invalide pour --date : {value} (attendu : AAAA-MM-JJ, entre 2000 et 2100).\n"
    )
    assert "Traceback" not in result.output
    assert rows(app) == {"reminders": 0, "activities": 0, "audit_events": 0}
    assert server.messages() == []


def test_the_command_is_listed_with_its_options(app):
    result = app.test_cli_runner().invoke(args=["relances", "send", "--help"])
    assert result.exit_code == 0
    assert "--dry-run" in result.output and "--date" in result.output


def test_in_production_without_a_mail_server_nothing_is_sent(make_app, programme):
    """Without OHPUNAISES_SMTP_URL, messages would be files nobody reads, counted as sent."""
    production = make_app(OHPUNAISES_ENV="production", OHPUNAISES_BASE_URL=BASE_URL)
    refused = relances(production, "--date", DAY)
    assert refused.exit_code == 1
    assert (
        "Erreur : Aucun serveur de messagerie n'est réglé (OHPUNAISES_SMTP_URL) : aucune "
        "relance n'est envoyée." in refused.stderr
    )
    assert rows(production) == {"reminders": 0, "activities": 0, "audit_events": 0}
    trial = relances(production, "--dry-run", "--date", DAY)
    assert trial.exit_code == 0, trial.output
    assert trial.stdout.splitlines()[1] == (
        "Niveau 1 (première relance) : 3 à envoyer, 0 déjà envoyée(s)."
    )


def test_only_the_operator_sends_reminders(app, programme):
    with app.app_context():
        for role in ("coordinator", "partner_admin", "agent"):
            with pytest.raises(Forbidden):
                reminders.send_reminders(Actor.operator(role), dt.date(2026, 12, 15))
        db.session.remove()
    assert rows(app) == {"reminders": 0, "activities": 0, "audit_events": 0}


# Follow-through -----------------------------------------------------------------------------------


def test_follow_through_counts_reminded_structures_that_reported_within_30_days(app):
    """As of 2027-03-01, the reminders sent 30 days before its start in Paris count (by
    2027-01-29 23:00 UTC); each was sent at 10:00 UTC on its day:

    A: reminded 2027-01-05, a report arrived 2027-01-20: reported;
    B: reminded 2027-01-05, a report arrived 2027-02-10 (36 days later): not reported;
    C: reminded 2027-01-05, declared "rien à signaler" 2027-01-06: reported;
    D: reminded 2027-02-15: its 30 days are not over, not counted;
    E: a reminder that failed, and a digest: not counted;
    G: reminded 2026-11-10 (nothing within 30 days) and 2027-01-05 (a report 2027-01-10):
       one structure, reported;
    H: reminded 2027-01-05, its report arrived the day before: not reported.
    """
    with app.app_context():
        made = {name: make_structure(f"Structure {name}", "69123") for name in "ABCDEGH"}
        ids = {name: structure.id for name, structure in made.items()}

        def reminded(name, sent_at, level=1, status="sent"):
            db.session.add(
                Reminder(
                    key=f"{level}:s{ids[name]}:{sent_at.date().isoformat()}",
                    level=level,
                    structure_id=ids[name],
                    period_start=sent_at.date().replace(day=1),
                    status=status,
                    attempts=1,
                    sent_at=sent_at if status == "sent" else None,
                )
            )

        def arrived(name, created_at):
            make_report(made[name], "69123", created_at.date()).created_at = created_at

        for name in "ABCEGH":
            reminded(name, at(2027, 1, 5))
        reminded("D", at(2027, 2, 15))
        reminded("G", at(2026, 11, 10), level=2)
        db.session.flush()
        failed = db.session.scalar(sa.select(Reminder).where(Reminder.structure_id == ids["E"]))
        failed.status, failed.sent_at = "failed", None
        db.session.add(
            Reminder(
                key="3:u1:2027-01-04",
                level=3,
                period_start=dt.date(2027, 1, 4),
                status="sent",
                attempts=1,
                sent_at=at(2027, 1, 5),
            )
        )
        arrived("A", at(2027, 1, 20))
        arrived("B", at(2027, 2, 10))
        arrived("D", at(2027, 2, 20))
        arrived("E", at(2027, 1, 6))
        arrived("G", at(2027, 1, 10))
        arrived("H", at(2027, 1, 4))
        db.session.add(
            NothingToReport(
                structure_id=ids["C"],
                cadence="monthly",
                period_start=dt.date(2026, 12, 1),
                period_end=dt.date(2026, 12, 31),
                declared_at=at(2027, 1, 6),
            )
        )
        db.session.commit()

        everyone = list(ids.values())
        found = follow_through(everyone, dt.date(2027, 3, 1))
        assert found == FollowThrough(reminded=5, reported=3)
        assert found.share == 0.6
        assert follow_through([ids["A"], ids["B"]], dt.date(2027, 3, 1)) == FollowThrough(2, 1)
        # A's 30 days end on 2027-02-04 at 10:00 UTC: over by the start of 2027-02-05 in
        # Paris, not by the start of 2027-02-04.
        assert follow_through([ids["A"]], dt.date(2027, 2, 5)) == FollowThrough(1, 1)
        assert follow_through([ids["A"]], dt.date(2027, 2, 4)) == FollowThrough(0, 0)
        assert follow_through([ids["D"], ids["E"]], dt.date(2027, 3, 1)).share is None
        assert follow_through([], dt.date(2027, 3, 1)) == FollowThrough(0, 0)
        db.session.remove()
