"""Partner follow-up (DESIGN §2): activities on a structure, their next steps, and each
coordinator's "à faire" list, through the use cases.

Two deployments: the default one holds "Structure A" (Lyon), a second one "Structure B"
(Villeurbanne). `coordinator` of `accounts` is attached to none (sees both); `coordinator_a`
to the first only, `coordinator_b` to the second only.
"""

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from ohpunaises.errors import Forbidden, Invalid, NotFound
from ohpunaises.extensions import db
from ohpunaises.models import Activity, AuditEvent, Deployment, Structure, User
from ohpunaises.permissions import Actor
from ohpunaises.usecases import activities
from ohpunaises.usecases.activities import local_today

from .conftest import make_user
from .test_deployments import drop_opened_deployments

NOTE = "Mme Durand, du CCAS, rappelle que les visites à domicile reprennent en janvier."
PARTICIPANTS = "Mme Durand (CCAS), M. Petit (chargé de mission)"


@pytest.fixture
def follow_up(app, accounts):
    """{"a", "b": structure ids; "coordinator", "coordinator_a", "coordinator_b", "retired":
    account ids}; "retired" is a deactivated coordinator. Deployments outlive each test (see
    conftest): the second one is removed afterwards."""
    with app.app_context():
        a = db.session.scalar(sa.select(Structure).where(Structure.name == "Structure A"))
        b = db.session.scalar(sa.select(Structure).where(Structure.name == "Structure B"))
        other = Deployment(name="Déploiement d'essai", started_on=dt.date(2025, 1, 1))
        db.session.add(other)
        b.deployment = other
        coordinator_a = make_user("coordinator-a@example.org", "coordinator")
        coordinator_a.deployments = [a.deployment]
        coordinator_b = make_user("coordinator-b@example.org", "coordinator")
        coordinator_b.deployments = [other]
        retired = make_user("retired@example.org", "coordinator")
        retired.active = False
        db.session.commit()
        ids = {
            "a": a.id,
            "b": b.id,
            "coordinator": accounts["coordinator"].user_id,
            "coordinator_a": coordinator_a.id,
            "coordinator_b": coordinator_b.id,
            "retired": retired.id,
            "agent": accounts["agent"].user_id,
        }
        db.session.remove()
    yield ids
    drop_opened_deployments(app)


@pytest.fixture
def ids(app, follow_up):
    """The ids of `follow_up`, inside an application context that ends before it is undone."""
    with app.app_context():
        yield follow_up
        db.session.remove()


def actor(key_or_id) -> Actor:
    return Actor.of(db.session.get(User, key_or_id))


def stored() -> list[Activity]:
    return db.session.scalars(sa.select(Activity).order_by(Activity.id)).all()


def audited(action: str | None = None) -> list[AuditEvent]:
    query = sa.select(AuditEvent).order_by(AuditEvent.id)
    if action:
        query = query.where(AuditEvent.action == action)
    return db.session.scalars(query).all()


# Recording ------------------------------------------------------------------------------------


def test_with_no_data_a_coordinator_notes_a_call_made_today(ids):
    coordinator = actor(ids["coordinator"])
    activity = activities.record_activity(coordinator, ids["a"], {})
    (kept,) = stored()
    assert kept.id == activity.id
    assert (kept.kind, kept.status, kept.held_on) == ("call", "done", local_today())
    assert kept.structure_id == ids["a"]
    assert kept.created_by_id == ids["coordinator"]
    assert kept.next_step is None and kept.note is None


def test_an_activity_and_its_next_step_are_stored_and_audited_without_their_words(ids):
    due = local_today() + dt.timedelta(days=7)
    data = {
        "kind": "steering_committee",
        "held_on": local_today() - dt.timedelta(days=1),
        "status": "done",
        "participants": f"  {PARTICIPANTS}  ",
        "note": NOTE,
        "next_step": "Envoyer le compte rendu",
        "next_step_due": due,
        "next_step_owner_id": ids["coordinator_a"],
    }
    activity = activities.record_activity(actor(ids["coordinator"]), ids["a"], data)
    (kept,) = stored()
    assert kept.participants == PARTICIPANTS  # trimmed
    assert (kept.note, kept.next_step, kept.next_step_due) == (NOTE, data["next_step"], due)
    assert kept.next_step_owner_id == ids["coordinator_a"]
    (event,) = audited()
    assert (event.action, event.target) == ("activity.record", str(activity.id))
    assert event.details == {
        "structure": ids["a"],
        "kind": "steering_committee",
        "status": "done",
        "held_on": data["held_on"].isoformat(),
        "next_step_due": due.isoformat(),
        "next_step_owner": ids["coordinator_a"],
    }
    written = json.dumps(event.details, ensure_ascii=False)
    assert "Durand" not in written and "compte rendu" not in written


def test_a_planned_activity_may_be_dated_up_to_a_year_ahead(ids):
    ahead = local_today() + dt.timedelta(days=300)
    data = {"kind": "technical_committee", "status": "planned", "held_on": ahead}
    activities.record_activity(actor(ids["coordinator"]), ids["a"], data)
    assert [(a.status, a.held_on) for a in stored()] == [("planned", ahead)]


TODAY = dt.date.today()
REFUSED = [
    ({"next_step": "Relancer"}, "next_step_due", "Donnez une échéance à la prochaine étape."),
    ({"next_step_due": TODAY}, "next_step", "Décrivez la prochaine étape"),
    ({"held_on": dt.date(1999, 12, 31)}, "held_on", "antérieure à 2000"),
    ({"held_on": TODAY + dt.timedelta(days=2)}, "held_on", "faite ne peut pas être datée dans"),
    (
        {"status": "planned", "held_on": TODAY + dt.timedelta(days=400)},
        "held_on",
        "dépasser d'un an",
    ),
    (
        {"next_step": "Relancer", "next_step_due": TODAY + dt.timedelta(days=500)},
        "next_step_due",
        "dans un an",
    ),
    ({"kind": "visit"}, "kind", "type d'activité"),
    ({"status": "postponed"}, "status", "état de l'activité"),
    ({"note": "x" * 2001}, "note", "2000 caractères au plus"),
    ({"participants": "x" * 501}, "participants", "500 caractères au plus"),
    ({"next_step": "x" * 301, "next_step_due": TODAY}, "next_step", "300 caractères au plus"),
    ({"note": "a\x00b"}, "note", "Caractère nul interdit"),
    ({"participants": "M. \ud800"}, "participants", "Texte UTF-8 invalide"),
]
OWNERS = {
    "agent": "an agent",
    "retired": "an inactive coordinator",
    "coordinator_b": "a coordinator of another deployment",
}


@pytest.mark.parametrize(("data", "field", "message"), REFUSED)
def test_an_invalid_activity_is_refused_in_french_and_nothing_is_stored(ids, data, field, message):
    with pytest.raises(Invalid) as refused:
        activities.record_activity(actor(ids["coordinator"]), ids["a"], data)
    assert message in str(refused.value.errors[field])
    assert stored() == [] and audited() == []


@pytest.mark.parametrize("owner", OWNERS)
def test_a_next_step_belongs_only_to_an_active_coordinator_who_follows_the_structure(ids, owner):
    data = {"next_step": "Relancer", "next_step_due": TODAY, "next_step_owner_id": ids[owner]}
    with pytest.raises(Invalid) as refused:
        activities.record_activity(actor(ids["coordinator"]), ids["a"], data)
    assert "personne active de la coordination" in str(refused.value.errors["next_step_owner_id"])
    assert stored() == []
    owners = {user.id for user in activities.owner_choices(db.session.get(Structure, ids["a"]))}
    assert owners == {ids["coordinator"], ids["coordinator_a"]}


# Scope ------------------------------------------------------------------------------------------


def test_a_coordinator_of_another_deployment_finds_nothing(ids):
    other = activities.record_activity(actor(ids["coordinator"]), ids["b"], {})
    coordinator_a = actor(ids["coordinator_a"])
    for attempt in (
        lambda: activities.record_activity(coordinator_a, ids["b"], {}),
        lambda: activities.list_activities(coordinator_a, ids["b"]),
        lambda: activities.update_activity(coordinator_a, other.id, {"status": "cancelled"}),
        lambda: activities.complete_next_step(coordinator_a, other.id),
    ):
        with pytest.raises(NotFound):
            attempt()
    assert [(a.structure_id, a.status) for a in stored()] == [(ids["b"], "done")]
    assert [e.action for e in audited()] == ["activity.record"]
    assert activities.list_activities(actor(ids["coordinator_b"]), ids["b"]) == [other]


@pytest.mark.parametrize("role", ["agent", "partner_admin", "institution", "evaluator"])
def test_no_other_role_reads_or_notes_the_follow_up(ids, accounts, role):
    activity = activities.record_activity(actor(ids["coordinator"]), ids["a"], {})
    someone = actor(accounts[role].user_id)
    for attempt in (
        lambda: activities.record_activity(someone, ids["a"], {}),
        lambda: activities.list_activities(someone, ids["a"]),
        lambda: activities.update_activity(someone, activity.id, {"status": "cancelled"}),
        lambda: activities.complete_next_step(someone, activity.id),
        lambda: activities.todo(someone),
    ):
        with pytest.raises(Forbidden):
            attempt()
    assert len(stored()) == 1


# Changing -------------------------------------------------------------------------------------


def test_a_planned_meeting_held_is_marked_done_and_only_the_change_is_audited(ids):
    coordinator = actor(ids["coordinator"])
    data = {"kind": "prospection_meeting", "status": "planned", "held_on": TODAY, "note": NOTE}
    activity = activities.record_activity(coordinator, ids["a"], data)
    activities.update_activity(coordinator, activity.id, {"status": "done", "note": NOTE + "!"})
    (kept,) = stored()
    assert (kept.status, kept.note) == ("done", NOTE + "!")
    update = audited("activity.update")[0]
    assert update.details["fields"] == ["note", "status"]
    assert "Durand" not in json.dumps(update.details, ensure_ascii=False)
    activities.update_activity(coordinator, activity.id, {"status": "done"})  # nothing changes
    assert len(audited("activity.update")) == 1


def test_a_planned_activity_in_the_future_cannot_be_marked_done(ids):
    coordinator = actor(ids["coordinator"])
    later = TODAY + dt.timedelta(days=20)
    data = {"kind": "webinar", "status": "planned", "held_on": later}
    activity = activities.record_activity(coordinator, ids["a"], data)
    with pytest.raises(Invalid) as refused:
        activities.update_activity(coordinator, activity.id, {"status": "done"})
    assert "held_on" in refused.value.errors
    db.session.expire_all()
    assert stored()[0].status == "planned"
    assert audited("activity.update") == []


def test_a_next_step_done_leaves_the_lists_and_a_new_one_opens_again(ids):
    coordinator = actor(ids["coordinator"])
    step = {"next_step": "Envoyer la convention", "next_step_due": TODAY}
    activity = activities.record_activity(coordinator, ids["a"], step)
    assert activities.open_next_steps(coordinator, ids["a"]) == [activity]
    activities.complete_next_step(coordinator, activity.id)
    activities.complete_next_step(coordinator, activity.id)  # twice: once in the log
    assert stored()[0].next_step_done_at is not None
    assert activities.open_next_steps(coordinator, ids["a"]) == []
    (done,) = audited("activity.next_step_done")
    assert done.details == {"structure": ids["a"]}
    activities.update_activity(coordinator, activity.id, {"next_step": "Relancer la signature"})
    assert stored()[0].next_step_done_at is None
    assert activities.open_next_steps(coordinator, ids["a"]) == [activity]


def test_an_activity_without_a_next_step_has_none_to_mark_done(ids):
    coordinator = actor(ids["coordinator"])
    activity = activities.record_activity(coordinator, ids["a"], {})
    with pytest.raises(Invalid) as refused:
        activities.complete_next_step(coordinator, activity.id)
    assert "pas de prochaine étape" in str(refused.value.errors["next_step"])
    assert audited("activity.next_step_done") == []


# The "à faire" list ---------------------------------------------------------------------------


def test_the_todo_list_holds_the_due_steps_of_the_coordinator_and_the_unowned_ones(ids):
    today = local_today()
    coordinator_a = actor(ids["coordinator_a"])
    mine, others = ids["coordinator_a"], ids["coordinator"]

    def step(structure, name, days, owner=None):
        data = {"next_step": name, "next_step_due": today + dt.timedelta(days=days)}
        if owner is not None:
            data["next_step_owner_id"] = owner
        return activities.record_activity(actor(others), ids[structure], data)

    step("a", "Due today, nobody's", 0)
    step("a", "Overdue, mine", -3, mine)
    step("a", "Due tomorrow, mine", 1, mine)
    step("a", "Overdue, another coordinator's", -5, others)
    done = step("a", "Overdue, done", -4, mine)
    activities.complete_next_step(coordinator_a, done.id)
    step("b", "Overdue on a structure of another deployment", -6)

    listed = activities.todo(coordinator_a, today)
    assert [(item.activity.next_step, item.days_late) for item in listed] == [
        ("Overdue, mine", 3),
        ("Due today, nobody's", 0),
    ]
    assert listed[0].structure.name == "Structure A"
    everyone = [item.activity.next_step for item in activities.todo(actor(others), today)]
    assert everyone == [
        "Overdue on a structure of another deployment",
        "Overdue, another coordinator's",
        "Due today, nobody's",
    ]
