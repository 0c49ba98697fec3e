"""The coordinators' essaimage workspace (/essaimage): the funnel, the silent and late partners
and their CSV, the communes' map, and "Noter un appel".

The use case is read on a hand-built programme as of 15 June 2026 (monthly reporting: May's
deadline, 10 June, has passed; June's has not), in two deployments: the default one (Lyon's
Métropole, without Villeurbanne) and "Est lyonnais" (Villeurbanne, taken from it for the test).
"""

import datetime as dt
import html
import re

import pytest
import sqlalchemy as sa

from ohpunaises.bootstrap import DEFAULT_DEPLOYMENT
from ohpunaises.cadence import period_of
from ohpunaises.errors import Forbidden, NotFound
from ohpunaises.extensions import db
from ohpunaises.models import (
    Activity,
    AuditEvent,
    Deployment,
    NothingToReport,
    Reminder,
    StageChange,
    Structure,
    TrainingSession,
    User,
)
from ohpunaises.models.base import utcnow
from ohpunaises.permissions import Actor
from ohpunaises.territories import territory_by_code
from ohpunaises.usecases import essaimage
from ohpunaises.usecases.activities import local_today
from ohpunaises.usecases.completeness import completeness

from .conftest import make_report, make_structure, make_user, signed_in_client
from .test_deployments import drop_opened_deployments

TODAY = dt.date(2026, 6, 15)
D = dt.date
ROLES_REFUSED = ("agent", "partner_admin", "institution", "evaluator")


# The programme ----------------------------------------------------------------------------------


@pytest.fixture
def east(app):
    """(default deployment id, "Est lyonnais" id): Villeurbanne moved to a second deployment,
    given back to the default one afterwards (deployments outlive each test, see conftest)."""
    with app.app_context():
        default = db.session.scalar(
            sa.select(Deployment).where(Deployment.name == DEFAULT_DEPLOYMENT)
        )
        villeurbanne = territory_by_code("69266")
        default.territories.remove(villeurbanne)
        other = Deployment(
            name="Est lyonnais", started_on=D(2026, 1, 1), territories=[villeurbanne]
        )
        db.session.add(other)
        db.session.commit()
        ids = (default.id, other.id)
        db.session.remove()
    yield ids
    with app.app_context():
        db.session.rollback()
        default = db.session.get(Deployment, ids[0])
        villeurbanne = territory_by_code("69266")
        if villeurbanne not in default.territories:
            default.territories.append(villeurbanne)
        db.session.commit()
        db.session.remove()
    drop_opened_deployments(app)


def partner(name, commune, joined=None, stages=(), kind="association", **fields):
    """A structure based in `commune`, joined on `joined` (None: not yet), with its stage
    history [(date, stage)] (its current stage the last one)."""
    structure = make_structure(name, commune, kind)
    structure.onboarded_on = joined
    for key, value in fields.items():
        setattr(structure, key, value)
    for day, stage in stages:
        db.session.add(StageChange(structure=structure, stage=stage, effective_on=day))
        structure.stage = stage
    db.session.flush()
    return structure


def declared(structure, start: dt.date):
    period = period_of("monthly", start)
    db.session.add(
        NothingToReport(
            structure_id=structure.id,
            cadence="monthly",
            period_start=period.start,
            period_end=period.end,
        )
    )


def reminded(structure, sent_on: dt.date):
    """A level-1 reminder sent to the structure that morning."""
    sent_at = dt.datetime.combine(sent_on, dt.time(7), dt.UTC)
    db.session.add(
        Reminder(
            key=f"1:s{structure.id}:{sent_on}",
            level=1,
            structure=structure,
            period_start=sent_on.replace(day=1),
            recipients=1,
            status="sent",
            attempts=1,
            sent_at=sent_at,
        )
    )


def activity(structure, kind, held_on, status="done", **fields):
    db.session.add(
        Activity(structure=structure, kind=kind, held_on=held_on, status=status, **fields)
    )


@pytest.fixture
def programme(app, east):
    """Sixteen structures, one or more at every stage; returns the ids by name and of the
    coordinators (one reaching everything, one attached to "Est lyonnais" only)."""
    with app.app_context():
        made = [
            partner("Prospect Bron 1", "69029", stages=[(D(2026, 3, 1), "prospect")]),
            partner("Prospect Bron 2", "69029", stages=[(D(2026, 5, 1), "prospect")]),
            partner(
                "Contactée",
                "69033",
                stages=[(D(2026, 2, 1), "prospect"), (D(2026, 3, 1), "contacted")],
            ),
            partner(
                "Rencontrée", "69123", stages=[(D(2026, 4, 1), "contacted"), (D(2026, 5, 1), "met")]
            ),
            partner("Conventionnée", "69033", D(2026, 6, 1), [(D(2026, 6, 1), "agreement")]),
            partner("Formée en session", "69123", D(2026, 5, 15)),
            partner("Formée au protocole", "69123", D(2026, 5, 20), trained_on=D(2026, 6, 1)),
            partner(
                "Active par signalement",
                "69123",
                D(2026, 1, 10),
                [(D(2025, 12, 1), "prospect"), (D(2026, 1, 10), "agreement")],
            ),
            partner(
                "Active par déclaration", "69123", D(2026, 3, 1), [(D(2026, 3, 1), "agreement")]
            ),
            partner(
                "Silencieuse",
                "69003",
                D(2026, 1, 5),
                [(D(2025, 11, 3), "prospect"), (D(2026, 1, 5), "agreement")],
                contact_name="Mme Lefèvre",
                contact_function="Directrice",
                contact_email="direction@silencieuse.example.org",
                contact_phone="04 72 00 00 01",
            ),
            partner("En retard", "69123", D(2026, 2, 1), kind="social_landlord"),
            partner(
                "En pause",
                "69123",
                D(2025, 10, 1),
                [(D(2025, 10, 1), "agreement"), (D(2026, 4, 1), "paused")],
            ),
            partner(
                "Sortie",
                "69123",
                D(2025, 9, 1),
                [(D(2025, 9, 1), "agreement"), (D(2026, 3, 1), "left")],
                active=False,
            ),
            partner(
                "Villeurbanne active",
                "69266",
                D(2026, 3, 1),
                [(D(2026, 1, 15), "prospect"), (D(2026, 3, 1), "agreement")],
            ),
            partner("Villeurbanne prospect", "69266", stages=[(D(2026, 6, 1), "prospect")]),
            partner(
                "Abeille silencieuse",
                "69266",
                D(2026, 2, 1),
                contact_name="M. Roux",
                contact_phone="+33 4 78 00 00 02",
            ),
        ]
        by_name = {structure.name: structure for structure in made}
        db.session.add(
            TrainingSession(
                structure=by_name["Formée en session"],
                held_on=D(2026, 5, 20),
                kind="professional_training",
                participants=8,
            )
        )
        make_report(by_name["Active par signalement"], "69123", D(2026, 2, 15))
        back = make_report(by_name["Active par signalement"], "69123", D(2026, 5, 10))
        back.created_at = dt.datetime(2026, 5, 11, 8, tzinfo=dt.UTC)
        make_report(by_name["Active par déclaration"], "69123", D(2026, 2, 20))  # before joining
        declared(by_name["Active par déclaration"], D(2026, 4, 1))
        declared(by_name["Active par déclaration"], D(2026, 5, 1))
        make_report(by_name["Silencieuse"], "69003", D(2026, 3, 12))
        make_report(by_name["En retard"], "69123", D(2026, 4, 14))
        make_report(by_name["Villeurbanne active"], "69266", D(2026, 5, 5))
        silent = by_name["Silencieuse"]
        # Reminded: one came back within 30 days, one did not; the third is too recent to tell.
        for name, sent_on in (
            ("Active par signalement", D(2026, 4, 20)),
            ("Silencieuse", D(2026, 4, 15)),
            ("En retard", D(2026, 6, 1)),
        ):
            reminded(by_name[name], sent_on)
        activity(silent, "email", D(2026, 4, 2))
        activity(silent, "call", D(2026, 5, 20))  # the last one done
        activity(silent, "call", D(2026, 6, 1), status="cancelled")
        activity(
            silent,
            "prospection_meeting",
            D(2026, 6, 25),
            status="planned",
            next_step="Relancer la direction",
            next_step_due=D(2026, 6, 20),
        )
        activity(
            silent,
            "email",
            D(2026, 5, 2),
            next_step="Envoyer le bilan",
            next_step_due=D(2026, 6, 10),
            next_step_done_at=utcnow(),
        )
        activity(
            silent,
            "call",
            D(2026, 5, 3),
            next_step="Proposer une formation",
            next_step_due=D(2026, 7, 1),
        )
        everywhere = make_user("coordination@example.org", "coordinator")
        attached = make_user("coordination-est@example.org", "coordinator")
        attached.deployments = [db.session.get(Deployment, east[1])]
        db.session.commit()
        ids = {name: structure.id for name, structure in by_name.items()}
        ids.update(coordinator=everywhere.id, east_coordinator=attached.id)
        ids.update(default=east[0], east=east[1])
        db.session.remove()
    return ids


@pytest.fixture
def ids(app, programme):
    """The ids of `programme`, inside an application context."""
    with app.app_context():
        yield programme
        db.session.remove()


def actor(user_id) -> Actor:
    return Actor.of(db.session.get(User, user_id))


def counts(funnel) -> list[int]:
    return list(funnel.counts.values())


def figures(funnel) -> tuple:
    """(prospects, converted, median days prospect → report and its count, median days
    onboarding → report and its count)."""
    return (
        funnel.prospects,
        funnel.converted,
        funnel.prospect_to_first_report.days,
        funnel.prospect_to_first_report.count,
        funnel.onboarding_to_first_report.days,
        funnel.onboarding_to_first_report.count,
    )


# The funnel -------------------------------------------------------------------------------------

# prospect, contacted, met, agreement, trained, active, silent, paused, left
LYON = [2, 1, 1, 1, 2, 3, 1, 1, 1]
EAST = [1, 0, 0, 0, 0, 1, 1, 0, 0]
BOTH = [3, 1, 1, 1, 2, 4, 2, 1, 1]


def test_the_funnel_counts_every_structure_at_its_stage_by_deployment_and_together(ids):
    found = essaimage.overview(actor(ids["coordinator"]), today=TODAY)
    assert list(found.funnel.counts) == [
        "prospect",
        "contacted",
        "met",
        "agreement",
        "trained",
        "active",
        "silent",
        "paused",
        "left",
    ]
    assert found.funnel.name == "Tous vos déploiements"
    assert counts(found.funnel) == BOTH
    assert found.funnel.total == 16
    assert [(f.name, counts(f), f.total) for f in found.by_deployment] == [
        ("Est lyonnais", EAST, 3),
        ("Métropole de Lyon", LYON, 13),
    ]


def test_conversion_and_medians_follow_their_definitions(ids):
    found = essaimage.overview(actor(ids["coordinator"]), today=TODAY)
    east, lyon = found.by_deployment
    # Lyon: six structures started before the agreement (two prospects, "Contactée",
    # "Rencontrée", "Active par signalement", "Silencieuse"), one of them active now.
    # Prospect → first report: 76 days ("Active par signalement") and 129 ("Silencieuse").
    # Onboarding → first report: 36, 66 and 72 days; "Active par déclaration" reported
    # before it joined and counts in neither.
    assert figures(lyon) == (6, 1, 102.5, 2, 66, 3)
    assert lyon.conversion == pytest.approx(1 / 6)
    assert figures(east) == (2, 1, 110, 1, 65, 1)
    assert figures(found.funnel) == (8, 2, 110, 3, 65.5, 4)
    assert found.funnel.conversion == 0.25


def test_the_share_of_reminded_partners_that_came_back_within_30_days(ids):
    overview = essaimage.overview(actor(ids["coordinator"]), today=TODAY)
    assert (overview.follow_through.reminded, overview.follow_through.reported) == (2, 1)


def test_a_deployment_chosen_narrows_everything_to_it(ids):
    found = essaimage.overview(actor(ids["coordinator"]), ids["east"], TODAY)
    assert found.deployment.name == "Est lyonnais"
    assert found.funnel.name == "Est lyonnais"
    assert counts(found.funnel) == EAST
    assert [f.name for f in found.by_deployment] == ["Est lyonnais"]
    assert [p.name for p in found.quiet] == ["Abeille silencieuse"]
    assert [(c.code, c.state) for c in found.communes] == [("69266", "active")]
    lyon = essaimage.overview(actor(ids["coordinator"]), ids["default"], TODAY)
    assert counts(lyon.funnel) == LYON
    assert [p.name for p in lyon.quiet] == ["Silencieuse", "En retard"]
    assert len(lyon.communes) == 57


def test_a_coordinator_attached_to_one_deployment_sees_only_it(ids):
    coordinator = actor(ids["east_coordinator"])
    found = essaimage.overview(coordinator, today=TODAY)
    assert [d.name for d in found.deployments] == ["Est lyonnais"]
    assert counts(found.funnel) == EAST
    assert [f.name for f in found.by_deployment] == ["Est lyonnais"]
    assert [p.name for p in found.quiet] == ["Abeille silencieuse"]
    assert len(found.communes) == 1
    with pytest.raises(NotFound):
        essaimage.overview(coordinator, ids["default"], TODAY)


def test_the_operator_reads_everything_and_other_roles_nothing(ids):
    found = essaimage.overview(Actor.operator(), today=TODAY)
    assert counts(found.funnel) == BOTH
    for role in ROLES_REFUSED:
        with pytest.raises(Forbidden):
            essaimage.overview(Actor.operator(role), today=TODAY)


# Silent and late partners -----------------------------------------------------------------------


def test_silent_then_late_partners_each_by_name_with_what_to_call_them_about(ids):
    quiet = essaimage.overview(actor(ids["coordinator"]), today=TODAY).quiet
    assert [(p.name, p.state, p.missed, p.oldest_missed.name) for p in quiet] == [
        ("Abeille silencieuse", "silent", 4, "2026-02"),
        ("Silencieuse", "silent", 2, "2026-04"),
        ("En retard", "late", 1, "2026-05"),
    ]
    abeille, silent, late = quiet
    assert (silent.structure_id, silent.kind, silent.commune, silent.deployment) == (
        ids["Silencieuse"],
        "association",
        "Albigny-sur-Saône",
        "Métropole de Lyon",
    )
    assert (
        silent.contact_name,
        silent.contact_function,
        silent.contact_email,
        silent.contact_phone,
    ) == ("Mme Lefèvre", "Directrice", "direction@silencieuse.example.org", "04 72 00 00 01")
    assert silent.last_report == D(2026, 3, 12)
    # The cancelled call and the meeting planned are not done: the call of 20 May is the last.
    assert (silent.last_activity_on, silent.last_activity_kind) == (D(2026, 5, 20), "call")
    # The step done is closed; of the two open, the one due first.
    assert (silent.next_step, silent.next_step_due) == ("Relancer la direction", D(2026, 6, 20))
    assert (late.kind, late.last_report, late.contact_name) == (
        "social_landlord",
        D(2026, 4, 14),
        None,
    )
    assert (late.last_activity_on, late.next_step) == (None, None)
    assert (abeille.last_report, abeille.deployment) == (None, "Est lyonnais")


def test_the_csv_of_silent_and_late_partners_is_for_french_spreadsheets_and_audited(ids):
    body = essaimage.silent_csv(actor(ids["coordinator"]), today=TODAY)
    assert body.startswith("\ufeff".encode())
    lines = body.decode("utf-8-sig").split("\n")
    assert lines == [
        "Structure;Type;Commune;Déploiement;État;Contact;Fonction;Courriel;Téléphone;"
        "Dernier signalement;Périodes manquées;Plus ancienne période manquée;"
        "Dernière activité;Type de la dernière activité;Prochaine étape;"
        "Échéance de la prochaine étape",
        # A leading "+" would start a formula in a spreadsheet: the cell is quoted.
        "Abeille silencieuse;Association;Villeurbanne;Est lyonnais;silencieuse;M. Roux;;;"
        "'+33 4 78 00 00 02;;4;2026-02;;;;",
        "Silencieuse;Association;Albigny-sur-Saône;Métropole de Lyon;silencieuse;Mme Lefèvre;"
        "Directrice;direction@silencieuse.example.org;04 72 00 00 01;2026-03-12;2;2026-04;"
        "2026-05-20;Appel;Relancer la direction;2026-06-20",
        "En retard;Bailleur social;Lyon;Métropole de Lyon;en retard;;;;;2026-04-14;1;2026-05;;;;",
        "",
    ]
    (event,) = db.session.scalars(sa.select(AuditEvent)).all()
    assert (event.action, event.target, event.details) == (
        "export.silent_partners",
        "silencieuses.csv",
        {"deployment": None, "rows": 3},
    )


# The communes -----------------------------------------------------------------------------------


def test_each_commune_of_the_deployments_is_active_prospect_or_none(ids):
    communes = essaimage.overview(actor(ids["coordinator"]), today=TODAY).communes
    assert len(communes) == 58
    states = {commune.code: commune.state for commune in communes}
    assert states["69123"] == "active"  # Lyon: three active partners among others
    assert states["69266"] == "active"  # Villeurbanne: active, a prospect and a silent one
    assert states["69029"] == "prospect"  # Bron: two prospects, nobody else
    # Cailloux: a contacted one, and an agreement signed but no report yet.
    assert states["69033"] == "prospect"
    assert states["69003"] == "none"  # Albigny: a silent partner only
    assert states["69034"] == "none"  # Caluire: no structure
    assert [sum(s == state for s in states.values()) for state in ("active", "prospect")] == [
        2,
        2,
    ]
    assert list(states.values()).count("none") == 54
    assert communes[0].name == "Albigny-sur-Saône"


# Pages ------------------------------------------------------------------------------------------


@pytest.fixture
def live(app):
    """A programme as of the real today: a silent partner, a late one, an active one and a
    prospect, in the default deployment; the ids of the structures and of a coordinator."""
    with app.app_context():
        today = local_today()
        last_due = period_of("monthly", today).previous()
        if today <= last_due.deadline:
            last_due = last_due.previous()
        joined = today - dt.timedelta(days=200)
        silent = partner(
            "Sans nouvelles",
            "69259",
            joined,
            contact_name="Mme Diallo",
            contact_email="m.diallo@sans-nouvelles.example.org",
        )
        late = partner("Un mois de retard", "69123", joined)
        make_report(late, "69123", last_due.previous().start)
        active = partner("Partenaire actif", "69123", joined)
        make_report(active, "69123", last_due.start)
        partner("Prospect du jour", "69029", stages=[(today, "prospect")])
        coordinator = make_user("coordination@example.org", "coordinator")
        db.session.commit()
        ids = {"silent": silent.id, "late": late.id, "coordinator": coordinator.id}
        db.session.remove()
    return ids


def test_structures_outside_every_deployment_are_counted_apart(app, live):
    with app.app_context():
        db.session.get(Structure, live["late"]).deployment = None
        db.session.commit()
        found = essaimage.overview(Actor.operator())
        assert [(f.name, f.total) for f in found.by_deployment] == [
            ("Métropole de Lyon", 3),
            ("Hors déploiement", 1),
        ]
        assert found.funnel.total == 4
        db.session.remove()


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]*)"', page).group(1)


def test_the_page_shows_the_funnel_the_partners_to_call_and_the_map(app, live):
    client = signed_in_client(app, live["coordinator"])
    response = client.get("/essaimage")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<a href="/essaimage" aria-current="page">Essaimage</a>' in page
    rows = re.findall(
        r'<tr class="stage-(\w+)">\s*<th scope="row">([^<]*)</th>.*?<strong>(\d+)</strong>',
        page,
        re.S,
    )
    assert rows == [
        ("prospect", "Prospect", "1"),
        ("contacted", "Contacté", "0"),
        ("met", "Rencontré", "0"),
        ("agreement", "Convention signée", "0"),
        ("trained", "Formé", "0"),
        ("active", "Actif", "2"),
        ("silent", "Silencieux", "1"),
        ("paused", "En pause", "0"),
        ("left", "Sorti", "0"),
    ]
    # The prospect of today is the only one that started before the agreement.
    assert "0 sur 1 (0\xa0%)" in page
    called = re.findall(r'<tr id="structure-(\d+)">', page)
    assert called == [str(live["silent"]), str(live["late"])]
    assert "Sans nouvelles</a>" in page and "Un mois de retard</a>" in page
    assert "Partenaire actif</a>" not in page
    assert 'href="mailto:m.diallo@sans-nouvelles.example.org"' in page
    assert page.count(">Noter un appel<") == 2
    assert 'href="/essaimage/silencieuses.csv"' in page
    # The map: Leaflet from the app, the classes in the legend and on the communes.
    assert "/static/vendor/leaflet/leaflet.js" in page and "cdn" not in page.lower()
    for label in (
        "Au moins un partenaire actif",
        "Seulement des prospects (avant la convention)",
        "Aucun partenaire actif",
    ):
        assert label in page
    assert page.count('"fill": "#2166ac"') == 1  # Lyon
    assert page.count('"fill": "#f4a582"') == 1  # Bron
    assert page.count('"fill": "#f2f2f2"') == 56
    nonce = re.search(
        r"script-src 'self' 'nonce-([^']+)'", response.headers["Content-Security-Policy"]
    )
    assert f'<script nonce="{nonce.group(1)}">' in page


def test_the_csv_is_answered_as_a_download(app, live):
    client = signed_in_client(app, live["coordinator"])
    response = client.get("/essaimage/silencieuses.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert disposition == f'attachment; filename="silencieuses-{dt.date.today().isoformat()}.csv"'
    assert (
        response.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    lines = response.get_data().decode("utf-8-sig").split("\n")
    assert len(lines) == 4  # the header, two partners, the final line end
    assert lines[1].startswith(
        "Sans nouvelles;Association;Vénissieux;Métropole de Lyon;silencieuse;"
    )
    assert lines[2].startswith("Un mois de retard;Association;Lyon;Métropole de Lyon;en retard;")


def test_noter_un_appel_records_a_call_today_and_opens_the_structure_s_follow_up(app, live):
    client = signed_in_client(app, live["coordinator"])
    token = csrf_of(client.get("/essaimage").get_data(as_text=True))
    url = f"/essaimage/structures/{live['silent']}/appel"
    assert client.post(url).status_code == 400  # no CSRF token: refused
    response = client.post(url, data={"csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/structures/{live['silent']}#suivi"
    with app.app_context():
        (call,) = db.session.scalars(sa.select(Activity)).all()
        assert (call.structure_id, call.kind, call.status, call.held_on) == (
            live["silent"],
            "call",
            "done",
            local_today(),
        )
        assert call.created_by_id == live["coordinator"]
        events = db.session.scalars(sa.select(AuditEvent)).all()
        assert [(e.action, e.target) for e in events] == [("activity.record", str(call.id))]
        db.session.remove()
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Appel noté avec « Sans nouvelles »." in page
    assert re.search(r'id="suivi".*<span class="badge badge-done">Faite</span>', page, re.S)


def test_a_bad_or_foreign_deployment_is_refused_in_words(app, live, east):
    with app.app_context():
        user = make_user("coordination-est@example.org", "coordinator")
        user.deployments = [db.session.get(Deployment, east[1])]
        db.session.commit()
        attached = user.id
        db.session.remove()
    client = signed_in_client(app, attached)
    response = client.get("/essaimage?deploiement=abc")
    assert response.status_code == 400
    assert "Déploiement invalide" in response.get_data(as_text=True)
    assert client.get(f"/essaimage?deploiement={east[0]}").status_code == 404
    assert client.get(f"/essaimage/silencieuses.csv?deploiement={east[0]}").status_code == 404
    token = csrf_of(client.get("/essaimage").get_data(as_text=True))
    url = f"/essaimage/structures/{live['silent']}/appel"
    assert client.post(url, data={"csrf_token": token}).status_code == 404
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Activity.id))) == 0
        db.session.remove()


@pytest.mark.parametrize("role", ROLES_REFUSED)
def test_other_roles_are_refused_the_pages_and_the_call(app, live, role):
    with app.app_context():
        structure = db.session.get(Structure, live["late"])
        field = role in ("agent", "partner_admin")
        user = make_user(f"{role}@example.org", role, structure if field else None)
        db.session.commit()
        user_id = user.id
        db.session.remove()
    client = signed_in_client(app, user_id)
    home = client.get("/").get_data(as_text=True)
    assert ">Essaimage</a>" not in home
    assert client.get("/essaimage").status_code == 403
    assert client.get("/essaimage/silencieuses.csv").status_code == 403
    token = csrf_of(home)
    url = f"/essaimage/structures/{live['late']}/appel"
    assert client.post(url, data={"csrf_token": token}).status_code == 403


def test_the_page_counts_periods_expected_and_received_by_quarter_and_kind(app, live):
    page = signed_in_client(app, live["coordinator"]).get("/essaimage")
    text = html.unescape(page.get_data(as_text=True))
    assert "Par trimestre, sur les quatre derniers trimestres achevés" in text
    assert "Par type de structure, sur les mêmes trimestres" in text
    with app.app_context():
        # The four quarters ended before today's: the window the page reads.
        end = period_of("quarterly", local_today()).start - dt.timedelta(days=1)
        start = period_of("quarterly", end).previous().previous().previous().start
        coordinator = actor(live["coordinator"])
        for by in ("quarter", "kind"):
            total = completeness(coordinator, by, start, end)[-1]
            row = (
                f'<th scope="row">Ensemble</th>\n      <td class="number">'
                f'<span class="cell-label">Attendues : </span>{total.expected}</td>\n'
                f'      <td class="number"><span class="cell-label">Reçues : </span>'
                f"{total.received}</td>"
            )
            assert row in text, by
        db.session.remove()
    # Three partners joined 200 days ago: at least one whole quarter is owed by each.
    assert total.expected >= 3
