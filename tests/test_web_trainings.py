"""Training and awareness sessions in the browser (/formations), without JavaScript."""

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from ohpunaises import permissions
from ohpunaises.extensions import db
from ohpunaises.indicators import Period, compute
from ohpunaises.models import AuditEvent, Deployment, Structure, TrainingSession, user_deployments

from .conftest import make_user, signed_in_client

TODAY = dt.date.today()
SESSION = {
    "held_on": TODAY.isoformat(),
    "kind": "resident_awareness",
    "participants": "18",
    "notes": "Réunion en pied d'immeuble",
}


@pytest.fixture
def web(app, accounts):
    """web(key): a client signed in by its session cookie as the `accounts` user of that key."""

    def signed_in(key):
        return signed_in_client(app, accounts[key].user_id)

    return signed_in


@pytest.fixture
def other_deployment(app, accounts):
    """A second deployment holding Structure B (Villeurbanne), and a coordinator attached to
    the first one only. Deployments outlive each test (see conftest): removed afterwards."""
    with app.app_context():
        b = db.session.scalar(sa.select(Structure).where(Structure.name == "Structure B"))
        a = db.session.scalar(sa.select(Structure).where(Structure.name == "Structure A"))
        other = Deployment(name="Déploiement d'essai", started_on=dt.date(2025, 1, 1))
        db.session.add(other)
        b.deployment = other
        coordinator = make_user("coordinator-a@example.org", "coordinator")
        coordinator.deployments = [a.deployment]
        db.session.commit()
        ids = {"a": a.id, "b": b.id, "coordinator": coordinator.id, "deployment": other.id}
    yield ids
    with app.app_context():
        db.session.rollback()
        db.session.execute(
            sa.update(Structure)
            .where(Structure.deployment_id == ids["deployment"])
            .values(deployment_id=None)
        )
        db.session.execute(
            user_deployments.delete().where(user_deployments.c.deployment_id == ids["deployment"])
        )
        db.session.execute(sa.delete(Deployment).where(Deployment.id == ids["deployment"]))
        db.session.commit()
        db.session.remove()


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]*)"', page).group(1)


def post_session(client, **fields):
    """Fill the form as a browser without JavaScript would, and send it."""
    page = client.get("/formations/nouvelle").get_data(as_text=True)
    return client.post("/formations/nouvelle", data={"csrf_token": csrf_of(page), **fields})


def error_beside(page: str, field: str) -> str:
    return re.search(rf'<p class="error-message" id="err-{field}"[^>]*>([^<]*)</p>', page).group(1)


def stored(app) -> list[tuple]:
    """(structure, territory code, kind, participants, notes, date) of every session."""
    with app.app_context():
        sessions = db.session.scalars(sa.select(TrainingSession).order_by(TrainingSession.id))
        rows = [
            (
                t.structure.name,
                t.territory.code,
                t.kind,
                t.participants,
                t.notes,
                t.held_on,
            )
            for t in sessions
        ]
        db.session.remove()
    return rows


# Who may open the pages -------------------------------------------------------------------------


def test_the_pages_ask_to_sign_in_first(client):
    for url in ("/formations", "/formations/nouvelle"):
        response = client.get(url)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/connexion?next=/formations")


@pytest.mark.parametrize("role", ["institution", "evaluator"])
def test_roles_without_trainings_are_refused_in_french(app, web, role):
    client = web(role)
    for url in ("/formations", "/formations/nouvelle"):
        response = client.get(url)
        assert response.status_code == 403
        assert "Accès refusé" in response.get_data(as_text=True)
    token = csrf_of(client.get("/").get_data(as_text=True))  # the sign-out form's
    response = client.post("/formations/nouvelle", data={"csrf_token": token, **SESSION})
    assert response.status_code == 403
    assert stored(app) == []


def test_the_menu_shows_the_sessions_to_whom_the_table_grants_them(web):
    for role in ("agent", "partner_admin", "coordinator", "institution", "evaluator"):
        page = web(role).get("/").get_data(as_text=True)
        shown = '<a href="/formations">Formations</a>' in page
        assert shown == permissions.allows(role, "training.read"), role


# A partner admin -------------------------------------------------------------------------------


def test_a_partner_admin_records_a_session_and_sees_it(app, web):
    client = web("partner_admin")
    form = client.get("/formations/nouvelle").get_data(as_text=True)
    assert 'name="structure_id"' not in form  # theirs, fixed
    assert '<p class="fixed-value">Structure A</p>' in form
    assert f'value="{TODAY.isoformat()}"' in form
    assert '<option value="69123" selected>Lyon (69123)</option>' in form

    response = client.post(
        "/formations/nouvelle", data={"csrf_token": csrf_of(form), **SESSION, "territory": ""}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/formations"
    assert stored(app) == [
        ("Structure A", "69123", "resident_awareness", 18, "Réunion en pied d'immeuble", TODAY)
    ]
    page = client.get("/formations").get_data(as_text=True)
    assert "enregistrée : Sensibilisation d&#39;habitants, 18 participant(s)." in page
    assert "Réunion en pied d&#39;immeuble" in page
    assert re.search(r'<h3>Sessions</h3>\s*<p class="figure-value">1</p>', page)
    assert re.search(r'<h3>Participants</h3>\s*<p class="figure-value">18</p>', page)


def test_a_partner_admin_cannot_record_for_another_structure(app, web, accounts):
    response = post_session(
        web("partner_admin"), **SESSION, structure_id=str(accounts["agent_b"].structure_id)
    )
    assert response.status_code == 302
    [row] = stored(app)
    assert row[0] == "Structure A"


def test_each_creation_is_in_the_audit_log(app, web):
    assert post_session(web("partner_admin"), **SESSION).status_code == 302
    with app.app_context():
        session_id = db.session.scalar(sa.select(TrainingSession.id))
        [event] = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "training.create")
        ).all()
        assert (event.actor, event.target) == ("partner_admin@example.org", str(session_id))
        assert event.details["kind"] == "resident_awareness"
        db.session.remove()


def test_the_sessions_indicator_moves_after_a_creation(app, web):
    def figures():
        with app.app_context():
            result = compute(
                Period(), viewer_role="coordinator", ids=["training_sessions", "people_trained"]
            )
            values = {indicator.id: indicator.whole.value for indicator in result.indicators}
            db.session.remove()
        return values["training_sessions"], values["people_trained"]

    before = figures()
    assert post_session(web("partner_admin"), **SESSION).status_code == 302
    assert figures() == (before[0] + 1, before[1] + 18)


# A coordinator ---------------------------------------------------------------------------------


def test_a_coordinator_records_for_a_structure_of_their_scope(app, web, accounts):
    client = web("coordinator")
    form = client.get("/formations/nouvelle").get_data(as_text=True)
    assert '<select id="structure_id" name="structure_id"' in form
    assert ">Structure A<" in form and ">Structure B<" in form
    structure_b = str(accounts["agent_b"].structure_id)
    fields = {**SESSION, "structure_id": structure_b, "territory": "69383", "kind": "workshop"}
    response = post_session(client, **fields)
    assert response.status_code == 302
    assert stored(app) == [
        ("Structure B", "69383", "workshop", 18, "Réunion en pied d'immeuble", TODAY)
    ]
    page = client.get("/formations").get_data(as_text=True)
    assert "Lyon 3e Arrondissement" in page and ">Structure B<" in page


def test_a_coordinator_must_pick_the_structure(app, web):
    response = post_session(web("coordinator"), **SESSION)
    assert response.status_code == 422
    assert error_beside(response.get_data(as_text=True), "structure_id") == (
        "Choisissez la structure."
    )
    assert stored(app) == []


def test_a_coordinator_cannot_pick_a_structure_outside_their_deployments(app, other_deployment):
    client = signed_in_client(app, other_deployment["coordinator"])
    form = client.get("/formations/nouvelle").get_data(as_text=True)
    assert ">Structure A<" in form
    assert ">Structure B<" not in form
    fields = {**SESSION, "structure_id": str(other_deployment["b"])}
    response = client.post("/formations/nouvelle", data={"csrf_token": csrf_of(form), **fields})
    assert response.status_code == 422
    assert error_beside(response.get_data(as_text=True), "structure_id") == "Structure inconnue."
    assert stored(app) == []


def test_the_list_filters_by_year_and_structure(app, web, accounts):
    with app.app_context():
        a, b = (
            db.session.get(Structure, accounts[key].structure_id) for key in ("agent", "agent_b")
        )
        for day, structure, people in (
            ("2024-03-01", a, 5),
            ("2025-03-01", a, 7),
            ("2025-06-01", b, 11),
        ):
            db.session.add(
                TrainingSession(
                    held_on=dt.date.fromisoformat(day),
                    structure=structure,
                    territory=structure.commune,
                    kind="workshop",
                    participants=people,
                )
            )
        db.session.commit()

    def totals(client, query=""):
        page = client.get(f"/formations{query}").get_data(as_text=True)
        return [int(n) for n in re.findall(r'<p class="figure-value">(\d+)</p>', page)]

    coordinator = web("coordinator")
    assert totals(coordinator) == [3, 23]
    assert totals(coordinator, "?annee=2025") == [2, 18]
    assert totals(coordinator, f"?annee=2025&structure={a_id(accounts)}") == [1, 7]
    # A year or a structure nobody offers reads as "all"; never a 500.
    for query in ("?annee=abc", "?annee=1999", "?structure=999999", "?annee=²&structure=-1"):
        assert totals(coordinator, query) == [3, 23], query
    # The partner admin sees their structure's sessions, and is offered no structure filter.
    admin = web("partner_admin")
    assert totals(admin) == [2, 12]
    assert 'name="structure"' not in admin.get("/formations").get_data(as_text=True)
    assert totals(admin, f"?structure={accounts['agent_b'].structure_id}") == [2, 12]


def a_id(accounts) -> int:
    return accounts["agent"].structure_id


# An agent --------------------------------------------------------------------------------------


def test_an_agent_reads_their_structure_s_sessions(app, web):
    assert post_session(web("partner_admin"), **SESSION).status_code == 302
    page = web("agent").get("/formations")
    assert page.status_code == 200
    assert "Réunion en pied d&#39;immeuble" in page.get_data(as_text=True)
    other = web("agent_b").get("/formations").get_data(as_text=True)
    assert "Réunion en pied d&#39;immeuble" not in other
    assert "Aucune session enregistrée pour l'instant." in other


def test_an_agent_records_only_if_the_table_grants_it(app, web):
    """Partner admins and coordinators record; an agent records only as the table grants
    `training.create` to agents (the API follows the same grant)."""
    granted = permissions.allows("agent", "training.create")
    client = web("agent")
    page = client.get("/formations").get_data(as_text=True)
    assert ('href="/formations/nouvelle"' in page) == granted
    assert client.get("/formations/nouvelle").status_code == (200 if granted else 403)
    token = csrf_of(page)
    response = client.post("/formations/nouvelle", data={"csrf_token": token, **SESSION})
    assert response.status_code == (302 if granted else 403)
    assert len(stored(app)) == (1 if granted else 0)


# Bad input -------------------------------------------------------------------------------------

TOMORROW = (TODAY + dt.timedelta(days=1)).isoformat()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("held_on", TOMORROW, "La date ne peut pas être dans le futur."),
        ("held_on", "2100-01-01", "Date hors de la plage permise (2000 à aujourd&#39;hui)."),
        ("held_on", "1999-12-31", "Date hors de la plage permise (2000 à aujourd&#39;hui)."),
        ("held_on", "31/12/2025", "Date attendue au format AAAA-MM-JJ."),
        ("held_on", "", "Champ obligatoire."),
        ("participants", "0", "Valeur attendue entre 1 et 10000."),
        ("participants", "10001", "Valeur attendue entre 1 et 10000."),
        ("participants", "abc", "Nombre entier attendu."),
        ("participants", "-3", "Nombre entier attendu."),
        ("participants", "9" * 40, "Nombre entier attendu."),
        ("participants", "", "Champ obligatoire."),
        ("kind", "", "Champ obligatoire."),
        ("notes", "x" * 600, "Longueur maximale : 500."),
        ("notes", "nul\x00", "Caractère nul interdit."),
        ("territory", "99999", "Territoire inconnu : 99999."),
    ],
)
def test_bad_input_answers_422_beside_the_field_and_stores_nothing(app, web, field, value, message):
    response = post_session(web("partner_admin"), **{**SESSION, field: value})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert error_beside(page, field) == message
    assert "La session n'est pas enregistrée : corrigez les champs signalés." in page
    assert stored(app) == []
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == 0
        db.session.remove()


def test_an_unknown_kind_is_refused(app, web):
    response = post_session(web("partner_admin"), **{**SESSION, "kind": "conference"})
    assert response.status_code == 422
    assert error_beside(response.get_data(as_text=True), "kind").startswith("Valeur inconnue")
    assert stored(app) == []


def test_the_form_keeps_what_was_typed_and_focuses_the_first_error(web):
    response = post_session(web("partner_admin"), **{**SESSION, "participants": "abc"})
    page = response.get_data(as_text=True)
    assert 'value="abc" aria-invalid="true" aria-describedby="err-participants" autofocus' in page
    assert "Réunion en pied d&#39;immeuble</textarea>" in page
    assert 'value="resident_awareness" checked' in page


def test_a_post_without_its_csrf_token_is_refused(app, web):
    response = web("partner_admin").post("/formations/nouvelle", data=SESSION)
    assert response.status_code == 400
    assert stored(app) == []
