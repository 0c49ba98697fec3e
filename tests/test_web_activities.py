"""Partner follow-up in the browser (a structure's "Suivi", the activity form, /a-faire) and
through the API (/api/v1/structures/<id>/activities, /api/v1/activities/<id>, /api/v1/todo)."""

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from ohpunaises.auth import issue_token
from ohpunaises.extensions import db
from ohpunaises.models import Activity, AuditEvent, User
from ohpunaises.usecases.activities import local_today

from .conftest import ApiClient, signed_in_client
from .test_activities import NOTE, PARTICIPANTS, follow_up  # noqa: F401  (a fixture)


@pytest.fixture
def today(app):
    with app.app_context():
        return local_today()


@pytest.fixture
def web(app, follow_up):  # noqa: F811
    """web(key): a client signed in as that account of `follow_up` (or a role of `accounts`)."""

    def signed_in(key):
        return signed_in_client(app, follow_up[key])

    return signed_in


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]*)"', page).group(1)


def send_form(client, url: str, data: dict, page: str | None = None):
    """POST `data` to `url` with the CSRF token of `page` (default: the same address)."""
    token = csrf_of(client.get(page or url).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token})


def error_beside(page: str, field: str) -> str:
    return re.search(rf'<p class="error-message" id="err-{field}">([^<]*)</p>', page).group(1)


def stored(app) -> list[tuple]:
    """(structure id, kind, status, held_on, participants, note, next step, due, owner, done)."""
    with app.app_context():
        rows = [
            (
                a.structure_id,
                a.kind,
                a.status,
                a.held_on,
                a.participants,
                a.note,
                a.next_step,
                a.next_step_due,
                a.next_step_owner_id,
                a.next_step_done_at is not None,
            )
            for a in db.session.scalars(sa.select(Activity).order_by(Activity.id))
        ]
        db.session.remove()
    return rows


def audited(app) -> list[str]:
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
        db.session.remove()
    return actions


def form_of(today, **fields) -> dict:
    return {"kind": "call", "status": "done", "held_on": today.isoformat(), **fields}


# The form ---------------------------------------------------------------------------------------


def test_a_coordinator_notes_a_meeting_and_its_next_step(app, web, follow_up, today):  # noqa: F811
    client = web("coordinator")
    url = f"/structures/{follow_up['a']}/activites/nouvelle"
    form = client.get(url).get_data(as_text=True)
    assert f'value="{today.isoformat()}"' in form
    assert '<option value="call" selected>Appel</option>' in form
    assert "coordinator-a</option>" in form and "coordinator-b</option>" not in form

    due = today + dt.timedelta(days=10)
    data = form_of(
        today,
        kind="prospection_meeting",
        participants=PARTICIPANTS,
        note=NOTE,
        next_step="Envoyer la convention",
        next_step_due=due.isoformat(),
        next_step_owner_id=str(follow_up["coordinator_a"]),
    )
    response = send_form(client, url, data)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/structures/{follow_up['a']}#suivi"
    assert stored(app) == [
        (
            follow_up["a"],
            "prospection_meeting",
            "done",
            today,
            PARTICIPANTS,
            NOTE,
            "Envoyer la convention",
            due,
            follow_up["coordinator_a"],
            False,
        )
    ]
    assert audited(app) == ["activity.record"]

    page = client.get(f"/structures/{follow_up['a']}").get_data(as_text=True)
    suivi = page[page.index('id="suivi"') :]
    assert "Activité notée." in page
    assert "<h2>Suivi</h2>" in suivi
    assert "Réunion de prospection" in suivi and "Faite" in suivi
    assert "Mme Durand (CCAS)" in suivi
    assert "Envoyer la convention" in suivi and "coordinator-a" in suivi
    assert f"/structures/{follow_up['a']}/activites/nouvelle" in suivi


def test_a_next_step_without_a_due_date_is_refused_beside_the_field(app, web, follow_up, today):  # noqa: F811
    client = web("coordinator")
    url = f"/structures/{follow_up['a']}/activites/nouvelle"
    response = send_form(client, url, form_of(today, next_step="Relancer", note=NOTE))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Le formulaire n'a pas été enregistré" in page
    assert error_beside(page, "next_step_due") == "Donnez une échéance à la prochaine étape."
    assert NOTE.replace("'", "&#39;") in page  # what was typed stays
    assert stored(app) == [] and audited(app) == []


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"held_on": "2026-13-45"}, "held_on", "Date invalide"),
        ({"held_on": ""}, "held_on", "Champ obligatoire."),
        ({"kind": "visite"}, "kind", "Choisissez le type d&#39;activité."),
        ({"status": ""}, "status", "Choisissez l&#39;état de l&#39;activité."),
        ({"next_step_owner_id": "abc"}, "next_step_owner_id", "Choix invalide."),
        ({"note": "x" * 2001}, "note", "2000 caractères au plus."),
        ({"held_on": "1999-01-01"}, "held_on", "Date hors des limites."),
    ],
)
def test_bad_input_gets_a_french_message_never_an_error_page(
    app,
    web,
    follow_up,  # noqa: F811
    today,
    fields,
    field,
    message,
):
    client = web("coordinator")
    url = f"/structures/{follow_up['a']}/activites/nouvelle"
    response = send_form(client, url, form_of(today, **fields))
    assert response.status_code == 422
    assert message in error_beside(response.get_data(as_text=True), field)
    assert stored(app) == []


def test_a_form_without_its_csrf_token_stores_nothing(app, web, follow_up, today):  # noqa: F811
    client = web("coordinator")
    response = client.post(f"/structures/{follow_up['a']}/activites/nouvelle", data=form_of(today))
    assert response.status_code == 400
    assert stored(app) == []


def test_an_activity_is_edited_and_its_step_marked_done(app, web, follow_up, today):  # noqa: F811
    client = web("coordinator")
    new = f"/structures/{follow_up['a']}/activites/nouvelle"
    planned = form_of(
        today,
        status="planned",
        kind="steering_committee",
        next_step="Réserver la salle",
        next_step_due=today.isoformat(),
    )
    assert send_form(client, new, planned).status_code == 302
    with app.app_context():
        activity_id = db.session.scalar(sa.select(Activity.id))
    edit = f"/activites/{activity_id}/modifier"
    form = client.get(edit).get_data(as_text=True)
    assert 'value="planned" checked' in form
    assert 'value="Réserver la salle"' in form
    response = send_form(client, edit, {**planned, "status": "done", "next_step_done": "1"})
    assert response.status_code == 302
    (row,) = stored(app)
    assert (row[2], row[6], row[9]) == ("done", "Réserver la salle", True)
    assert audited(app) == ["activity.record", "activity.update"]


def test_a_coordinator_of_another_deployment_gets_404(app, web, follow_up, today):  # noqa: F811
    client = web("coordinator")
    assert send_form(client, f"/structures/{follow_up['b']}/activites/nouvelle", form_of(today))
    with app.app_context():
        activity_id = db.session.scalar(sa.select(Activity.id))
    other = web("coordinator_a")
    token = csrf_of(other.get("/a-faire").get_data(as_text=True))
    for method, url in (
        ("GET", f"/structures/{follow_up['b']}/activites/nouvelle"),
        ("GET", f"/activites/{activity_id}/modifier"),
        ("POST", f"/activites/{activity_id}/etape-faite"),
    ):
        response = other.open(url, method=method, data={"csrf_token": token})
        assert response.status_code == 404, url
        assert "Ressource introuvable" in response.get_data(as_text=True)
    page = other.get(f"/structures/{follow_up['a']}").get_data(as_text=True)
    assert 'id="suivi"' in page


def test_partner_staff_never_see_the_follow_up(app, accounts, follow_up, today):  # noqa: F811
    coordinator = signed_in_client(app, follow_up["coordinator"])
    url = f"/structures/{follow_up['a']}/activites/nouvelle"
    assert send_form(coordinator, url, form_of(today, note=NOTE)).status_code == 302
    admin = signed_in_client(app, accounts["partner_admin"].user_id)
    page = admin.get(f"/structures/{follow_up['a']}").get_data(as_text=True)
    assert admin.get(f"/structures/{follow_up['a']}").status_code == 200
    assert 'id="suivi"' not in page and "Durand" not in page
    assert ">À faire</a>" not in page
    assert admin.get("/a-faire").status_code == 403
    assert admin.get(url).status_code == 403


# The "à faire" list -----------------------------------------------------------------------------


def test_the_todo_page_lists_the_steps_due_and_marks_one_done(app, web, follow_up, today):  # noqa: F811
    client = web("coordinator_a")
    empty = client.get("/a-faire").get_data(as_text=True)
    assert "Rien à faire aujourd'hui" in empty
    assert ">À faire</a>" in empty
    new = f"/structures/{follow_up['a']}/activites/nouvelle"
    late = (today - dt.timedelta(days=3)).isoformat()
    for step, due in (("Relancer le bailleur", late), ("Plus tard", "")):
        fields = {"next_step": step, "next_step_due": due or (today + dt.timedelta(days=3))}
        held_on = (today - dt.timedelta(days=5)).isoformat()
        assert send_form(client, new, form_of(today, held_on=held_on, **fields)).status_code == 302

    page = client.get("/a-faire").get_data(as_text=True)
    assert "Relancer le bailleur" in page and "Plus tard" not in page
    assert "3 jours" in page and "Structure A" in page
    done = re.search(r'action="(/activites/\d+/etape-faite)"', page).group(1)
    response = client.post(done, data={"csrf_token": csrf_of(page), "retour": "a-faire"})
    assert response.status_code == 302 and response.headers["Location"] == "/a-faire"
    assert "Rien à faire aujourd'hui" in client.get("/a-faire").get_data(as_text=True)
    assert [row[9] for row in stored(app)] == [True, False]
    assert audited(app)[-1] == "activity.next_step_done"


# The API ----------------------------------------------------------------------------------------


@pytest.fixture
def api(app, client, accounts, follow_up):  # noqa: F811
    """API clients: those of `accounts`, and coordinator_a's."""
    with app.app_context():
        token = issue_token(db.session.get(User, follow_up["coordinator_a"]))[0]
        db.session.commit()
    return {**accounts, "coordinator_a": ApiClient(client, token, follow_up["coordinator_a"])}


def test_the_api_notes_lists_and_changes_activities(app, api, follow_up, today):  # noqa: F811
    coordinator = api["coordinator"]
    url = f"/api/v1/structures/{follow_up['a']}/activities"
    created = coordinator.post(url, json={})
    assert created.status_code == 201
    call = created.get_json()
    assert (call["kind"], call["status"], call["held_on"]) == ("call", "done", today.isoformat())
    body = {
        "kind": "email",
        "note": NOTE,
        "next_step": "Relancer",
        "next_step_due": today.isoformat(),
    }
    email = coordinator.post(url, json=body).get_json()
    listed = coordinator.get(url).get_json()
    assert [a["id"] for a in listed] == [email["id"], call["id"]]
    assert listed[0]["note"] == NOTE

    todo = api["coordinator_a"].get("/api/v1/todo").get_json()
    assert [(t["activity"]["id"], t["structure_name"], t["days_late"]) for t in todo] == [
        (email["id"], "Structure A", 0)
    ]
    patched = coordinator.patch(f"/api/v1/activities/{email['id']}", json={"next_step_done": True})
    assert patched.status_code == 200 and patched.get_json()["next_step_done_at"]
    assert api["coordinator_a"].get("/api/v1/todo").get_json() == []
    assert audited(app) == ["activity.record", "activity.record", "activity.update"]


def test_the_api_refuses_as_problems(app, api, follow_up, today):  # noqa: F811
    url = f"/api/v1/structures/{follow_up['a']}/activities"
    invalid = api["coordinator"].post(url, json={"next_step": "Relancer", "color": "red"})
    assert invalid.status_code == 422
    assert invalid.content_type == "application/problem+json"
    assert {e["field"] for e in invalid.get_json()["errors"]} == {"color"}
    no_due = api["coordinator"].post(url, json={"next_step": "Relancer"})
    assert no_due.status_code == 422
    assert no_due.get_json()["errors"] == [
        {"field": "next_step_due", "message": "Donnez une échéance à la prochaine étape."}
    ]
    future = api["coordinator"].post(
        url, json={"held_on": (today + dt.timedelta(days=3)).isoformat()}
    )
    assert future.status_code == 422
    assert future.get_json()["errors"][0]["field"] == "held_on"
    assert stored(app) == []

    elsewhere = f"/api/v1/structures/{follow_up['b']}/activities"
    activity = api["coordinator"].post(elsewhere, json={}).get_json()["id"]
    for method, path, body in (
        ("GET", elsewhere, None),
        ("POST", elsewhere, {}),
        ("PATCH", f"/api/v1/activities/{activity}", {"status": "cancelled"}),
    ):
        refused = api["coordinator_a"].request(method, path, json=body)
        assert refused.status_code == 404, path
        assert refused.content_type == "application/problem+json"
    for role in ("agent", "partner_admin", "institution", "evaluator"):
        refused = api[role].get(url)
        assert refused.status_code == 403
        assert refused.get_json()["title"] == "Accès refusé"
    assert len(stored(app)) == 1


def test_the_api_document_describes_the_follow_up(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    listed = paths["/api/v1/structures/{structure_id}/activities"]
    assert set(listed) >= {"get", "post"}
    assert listed["post"]["x-permission"]["action"] == "activity.record"
    assert "patch" in paths["/api/v1/activities/{activity_id}"]
    assert paths["/api/v1/todo"]["get"]["x-permission"]["roles"] == {
        "coordinator": "deployments",
        "operator": "all",
    }
