"""The evaluation protocol (/evaluation, /api/v1/evaluation): questions, criteria and their
indicators written by the coordination, evidence and recommendations by the evaluator, each
change audited; what each reader sees of it, and its figures as that reader may read them.

`accounts` gives Structure A (Lyon, with the agent and the partner admin) and Structure B
(Villeurbanne, with agent_b), and one account per role attached to no deployment.
"""

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from ohpunaises.bootstrap import DEFAULT_DEPLOYMENT
from ohpunaises.errors import Forbidden, Invalid, NotFound
from ohpunaises.extensions import db
from ohpunaises.indicators import Period
from ohpunaises.models import (
    AuditEvent,
    Deployment,
    EvaluationCriterion,
    EvaluationQuestion,
    Structure,
    User,
)
from ohpunaises.permissions import Actor
from ohpunaises.territories import territory_by_code
from ohpunaises.usecases import evaluation, targets
from ohpunaises.usecases.indicators import read_indicators

from .conftest import make_report, signed_in_client
from .test_deployments import drop_opened_deployments
from .test_people import csrf_of, text_of
from .test_pipeline import actor, inside, messages

URL = "/api/v1/evaluation"
GRANTED = ("coordinator", "institution", "evaluator")
REFUSED = ("agent", "partner_admin")


def default_deployment_id() -> int:
    return db.session.scalar(sa.select(Deployment.id).where(Deployment.name == DEFAULT_DEPLOYMENT))


def audited() -> list[tuple[str, str]]:
    rows = db.session.execute(
        sa.select(AuditEvent.action, AuditEvent.target)
        .where(AuditEvent.action.like("evaluation.%"))
        .order_by(AuditEvent.id)
    )
    return [tuple(row) for row in rows]


@pytest.fixture
def east(app, accounts):
    """(default deployment id, "Est lyonnais" id): Villeurbanne and Structure B moved to a
    second deployment, given back to the default one afterwards."""
    with app.app_context():
        default = db.session.scalar(
            sa.select(Deployment).where(Deployment.name == DEFAULT_DEPLOYMENT)
        )
        villeurbanne = territory_by_code("69266")
        default.territories.remove(villeurbanne)
        other = Deployment(
            name="Est lyonnais", started_on=dt.date(2026, 1, 1), territories=[villeurbanne]
        )
        db.session.add(other)
        db.session.flush()
        db.session.get(Structure, accounts["agent_b"].structure_id).deployment_id = other.id
        db.session.commit()
        ids = (default.id, other.id)
        db.session.remove()
    yield ids
    with app.app_context():
        db.session.rollback()
        db.session.execute(sa.delete(EvaluationQuestion))
        default = db.session.get(Deployment, ids[0])
        villeurbanne = territory_by_code("69266")
        if villeurbanne not in default.territories:
            default.territories.append(villeurbanne)
        db.session.commit()
        db.session.remove()
    drop_opened_deployments(app)


def attach(accounts, key, deployment_id):
    """Attach an account to one deployment: it then sees only that one."""
    user = db.session.get(User, accounts[key].user_id)
    user.deployments.append(db.session.get(Deployment, deployment_id))
    db.session.commit()


# Writing the protocol -------------------------------------------------------------------------


def test_the_coordination_writes_the_protocol_and_each_change_is_audited(app_context, accounts):
    coordinator = actor(accounts, "coordinator")
    question = evaluation.add_question(
        coordinator, {"text": "  Le programme atteint-il les ménages vulnérables ?  "}
    )
    assert question.text == "Le programme atteint-il les ménages vulnérables ?"
    assert (question.deployment_id, question.criteria) == (None, ())
    second = evaluation.add_question(
        coordinator, {"text": "L'essaimage progresse-t-il ?", "deployment_id": None}
    )
    assert second.position > question.position  # after the last one
    criterion = evaluation.add_criterion(
        coordinator,
        question.id,
        {"text": "La part des ménages vulnérables progresse", "indicators": ["share_vulnerable"]},
    )
    assert [indicator.id for indicator in criterion.indicators] == ["share_vulnerable"]
    updated = evaluation.update_criterion(
        coordinator, criterion.id, {"indicators": ["reports", "share_vulnerable", "reports"]}
    )
    assert [indicator.id for indicator in updated.indicators] == ["reports", "share_vulnerable"]
    evaluation.update_question(coordinator, second.id, {"position": 0})
    evaluation.write_evidence(coordinator, criterion.id, "  Entretiens menés en mars.  ")
    evaluation.write_recommendations(coordinator, question.id, "Former les CCAS.")

    read = evaluation.protocol(coordinator)
    assert [q.text for q in read.questions] == [second.text, question.text]  # by position
    first = read.questions[1]
    assert first.recommendations == "Former les CCAS."
    assert first.criteria[0].evidence == "Entretiens menés en mars."
    assert first.updated_by == "coordinator"

    evaluation.delete_criterion(coordinator, criterion.id)
    evaluation.delete_question(coordinator, question.id)
    assert [q.id for q in evaluation.protocol(coordinator).questions] == [second.id]
    q1, q2, c1 = (
        f"evaluation_question:{question.id}",
        f"evaluation_question:{second.id}",
        f"evaluation_criterion:{criterion.id}",
    )
    assert audited() == [
        ("evaluation.question.create", q1),
        ("evaluation.question.create", q2),
        ("evaluation.criterion.create", c1),
        ("evaluation.criterion.update", c1),
        ("evaluation.question.update", q2),
        ("evaluation.evidence.write", c1),
        ("evaluation.recommendations.write", q1),
        ("evaluation.criterion.delete", c1),
        ("evaluation.question.delete", q1),
    ]
    deleted = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "evaluation.question.delete")
    )
    assert deleted.details["text"] == question.text  # the log keeps what it was
    assert deleted.actor == "coordinator@example.org"


def test_bad_protocol_input_is_refused_in_french(app_context, accounts):
    coordinator = actor(accounts, "coordinator")
    cases = [
        ({"text": "   "}, "text", "Champ obligatoire."),
        ({"text": "x" * 501}, "text", "500 caractères au plus (il y en a 501)."),
        ({"text": "Q", "position": 10_000}, "position", "Position entre 0 et 9999."),
        ({"text": "Q", "deployment_id": 2**31 - 1}, "deployment_id", "Déploiement inconnu"),
        ({"text": "Q", "recommendations": "r" * 10_001}, "recommendations", "10000 caractères"),
    ]
    for data, field, message in cases:
        with pytest.raises(Invalid) as refused:
            evaluation.add_question(coordinator, data)
        assert message in str(refused.value.errors[field]), data
    question = evaluation.add_question(coordinator, {"text": "Q"})
    with pytest.raises(Invalid) as refused:
        evaluation.add_criterion(
            coordinator, question.id, {"text": "C", "indicators": ["reports", "nope"]}
        )
    assert str(refused.value.errors["indicators"]) == "Indicateur inconnu : nope."
    with pytest.raises(Invalid) as refused:
        evaluation.add_criterion(coordinator, question.id, {"text": "C", "indicators": "reports"})
    assert "indicators" in refused.value.errors
    with pytest.raises(Invalid) as refused:
        evaluation.update_question(coordinator, question.id, {})
    assert "Rien à modifier" in refused.value.message()
    with pytest.raises(NotFound):
        evaluation.add_criterion(coordinator, question.id + 1000, {"text": "C"})
    assert [action for action, _target in audited()] == ["evaluation.question.create"]


def test_a_coordinator_attached_to_a_deployment_writes_only_there(app, accounts, east):
    default_id, east_id = east
    with inside(app):
        attach(accounts, "coordinator", east_id)
        coordinator = actor(accounts, "coordinator")
        with pytest.raises(Invalid) as refused:
            evaluation.add_question(coordinator, {"text": "Q", "deployment_id": default_id})
        assert "hors de votre périmètre" in str(refused.value.errors["deployment_id"])
        with pytest.raises(Invalid) as refused:
            evaluation.add_question(coordinator, {"text": "Q"})
        assert "Choisissez l'un de vos déploiements" in str(refused.value.errors["deployment_id"])
        made = evaluation.add_question(coordinator, {"text": "Q", "deployment_id": east_id})
        assert (made.deployment_id, made.deployment) == (east_id, "Est lyonnais")


def test_an_evaluator_writes_evidence_and_recommendations_but_not_the_protocol(app, accounts):
    coordinator, evaluator = accounts["coordinator"], accounts["evaluator"]
    question = coordinator.post(f"{URL}/questions", json={"text": "Les ménages sont-ils aidés ?"})
    assert question.status_code == 201, question.get_json()
    question_id = question.get_json()["id"]
    criterion = coordinator.post(
        f"{URL}/questions/{question_id}/criteria",
        json={"text": "Les cas se résolvent", "indicators": ["resolution_rate"]},
    )
    assert criterion.status_code == 201, criterion.get_json()
    criterion_id = criterion.get_json()["id"]

    written = evaluator.patch(f"{URL}/criteria/{criterion_id}", json={"evidence": "Vu en visite."})
    assert written.status_code == 200, written.get_json()
    assert written.get_json()["evidence"] == "Vu en visite."
    assert written.get_json()["updated_by"] == "evaluator"
    recommended = evaluator.patch(
        f"{URL}/questions/{question_id}", json={"recommendations": "Suivre à 12 mois."}
    )
    assert recommended.status_code == 200
    assert recommended.get_json()["recommendations"] == "Suivre à 12 mois."

    refusals = [
        evaluator.patch(f"{URL}/questions/{question_id}", json={"text": "Autre question"}),
        evaluator.patch(
            f"{URL}/questions/{question_id}", json={"text": "Autre", "recommendations": "R"}
        ),
        evaluator.patch(f"{URL}/criteria/{criterion_id}", json={"indicators": ["reports"]}),
    ]
    for refused in refusals:
        assert refused.status_code == 403
        assert refused.content_type == "application/problem+json"
        assert "tenus par la coordination" in refused.get_json()["detail"]
    assert evaluator.post(f"{URL}/questions", json={"text": "Q"}).status_code == 403
    assert evaluator.delete(f"{URL}/questions/{question_id}").status_code == 403
    assert evaluator.delete(f"{URL}/criteria/{criterion_id}").status_code == 403
    institution = accounts["institution"]
    assert (
        institution.patch(f"{URL}/criteria/{criterion_id}", json={"evidence": "x"}).status_code
        == 403
    )
    with inside(app):
        with pytest.raises(Forbidden):
            evaluation.update_question(actor(accounts, "evaluator"), question_id, {"text": "Q"})
        stored = db.session.get(EvaluationQuestion, question_id)
        assert stored.text == "Les ménages sont-ils aidés ?"
        assert [action for action, _target in audited()] == [
            "evaluation.question.create",
            "evaluation.criterion.create",
            "evaluation.evidence.write",
            "evaluation.recommendations.write",
        ]
    assert coordinator.delete(f"{URL}/criteria/{criterion_id}").status_code == 204
    assert coordinator.delete(f"{URL}/questions/{question_id}").status_code == 204
    assert coordinator.get(URL).get_json()["questions"] == []


def test_an_institution_attached_to_a_deployment_sees_its_own_and_programme_wide_questions(
    app, accounts, east
):
    default_id, east_id = east
    with inside(app):
        coordinator = actor(accounts, "coordinator")
        for text, deployment_id in (
            ("Programme", None),
            ("Métropole", default_id),
            ("Est", east_id),
        ):
            question = evaluation.add_question(
                coordinator, {"text": text, "deployment_id": deployment_id}
            )
            evaluation.add_criterion(
                coordinator, question.id, {"text": f"C {text}", "indicators": ["reports"]}
            )
        attach(accounts, "institution", east_id)
        institution = actor(accounts, "institution")
        assert [q.text for q in evaluation.protocol(institution).questions] == ["Programme", "Est"]
        with pytest.raises(NotFound):
            evaluation.protocol(institution, default_id)
        assert [q.text for q in evaluation.protocol(coordinator).questions] == [
            "Programme",
            "Métropole",
            "Est",
        ]
        chosen = evaluation.protocol(coordinator, east_id)
        assert [q.text for q in chosen.questions] == ["Programme", "Est"]
        assert chosen.deployment == "Est lyonnais"
        ids = dict(
            db.session.execute(sa.select(EvaluationQuestion.text, EvaluationQuestion.id)).all()
        )
        metropole = ids["Métropole"]
    body = accounts["institution"].get(URL).get_json()
    assert [q["text"] for q in body["questions"]] == ["Programme", "Est"]
    assert [q["deployment"] for q in body["questions"]] == [None, "Est lyonnais"]
    assert accounts["institution"].get(f"{URL}?deployment={default_id}").status_code == 404
    # Out of reach: as if it did not exist, for the evaluator attached elsewhere too.
    with inside(app):
        attach(accounts, "evaluator", east_id)
    answer = accounts["evaluator"].patch(
        f"{URL}/questions/{metropole}", json={"recommendations": "x"}
    )
    assert answer.status_code == 404
    page = signed_in_client(app, accounts["institution"].user_id).get("/evaluation")
    assert page.status_code == 200
    shown = text_of(page)
    assert "Question 1 : Programme" in shown and "Question 2 : Est" in shown
    assert "Métropole" not in shown
    # The evaluator attached to "Est lyonnais" writes there, not on the programme's question.
    page = text_of(signed_in_client(app, accounts["evaluator"].user_id).get("/evaluation"))
    assert f"/evaluation/questions/{ids['Est']}/recommandations" in page
    assert f"/evaluation/questions/{ids['Programme']}/recommandations" not in page
    with inside(app):
        with pytest.raises(Forbidden) as refused:
            evaluation.write_recommendations(actor(accounts, "evaluator"), ids["Programme"], "x")
        assert "tout le programme" in refused.value.message()


# Figures ----------------------------------------------------------------------------------------


@pytest.fixture
def small_count(app, accounts):
    """Two reports of Structure A, whose record keys leave the count as it is: hidden ("< 5")
    from every reader but the coordination."""
    with app.app_context():
        structure = db.session.get(Structure, accounts["agent"].structure_id)
        for day in (dt.date(2026, 3, 2), dt.date(2026, 3, 9)):
            make_report(structure, "69123", day, record_key=0)
        db.session.commit()
        db.session.remove()


def test_figures_are_those_the_reader_reads_on_the_dashboard(app, accounts, small_count):
    with inside(app):
        coordinator = actor(accounts, "coordinator")
        question = evaluation.add_question(coordinator, {"text": "Activité"})
        evaluation.add_criterion(
            coordinator,
            question.id,
            {"text": "Des interventions", "indicators": ["reports", "share_social_housing"]},
        )
        for key in ("coordinator", "institution", "evaluator"):
            reader = actor(accounts, key)
            figures = evaluation.protocol(reader).questions[0].criteria[0].indicators
            dashboard = read_indicators(reader, Period())
            for figure in figures:
                whole = dashboard.indicator(figure.id).whole
                assert (figure.display, figure.suppressed) == (whole.display, whole.suppressed)
        seen = evaluation.protocol(coordinator).questions[0].criteria[0].indicators[0]
        assert (seen.value, seen.display, seen.available, seen.reason) == (2, "2", True, None)
        hidden = evaluation.protocol(actor(accounts, "institution")).questions[0]
        reports, share = hidden.criteria[0].indicators
        assert (reports.value, reports.display, reports.available) == (None, "< 5", False)
        assert "Effectif de 1 à 4" in reports.reason
        assert (share.display, share.available) == ("s", False)
        assert "Secret statistique" in share.reason
    body = accounts["institution"].get(URL).get_json()
    shown = body["questions"][0]["criteria"][0]["indicators"][0]
    assert (shown["value"], shown["display"], shown["available"]) == (None, "< 5", False)
    assert shown["period"] == "depuis le début"
    assert body["suppression"]["applied"] is True
    assert accounts["coordinator"].get(URL).get_json()["suppression"]["applied"] is False

    value = re.compile(r'<p class="indicator-value">(.*?)</p>', re.S)
    institution_page = text_of(
        signed_in_client(app, accounts["institution"].user_id).get("/evaluation")
    )
    first = value.search(institution_page).group(1)
    assert "non disponible" in first and "< 5" in first and "2" not in first
    assert "Effectif de 1 à 4" in institution_page
    coordinator_page = text_of(
        signed_in_client(app, accounts["coordinator"].user_id).get("/evaluation")
    )
    assert re.sub(r"<[^>]+>", "", value.search(coordinator_page).group(1)).split() == [
        "2",
        "signalements",
    ]


def test_the_targets_of_an_indicator_read_with_their_status(app, accounts, small_count):
    with inside(app):
        coordinator = actor(accounts, "coordinator")
        question = evaluation.add_question(coordinator, {"text": "Activité"})
        evaluation.add_criterion(
            coordinator, question.id, {"text": "Des interventions", "indicators": ["reports"]}
        )
        target = targets.create_target(
            coordinator,
            {
                "indicator": "reports",
                "deployment_id": default_deployment_id(),
                "agreement": "Convention Métropole 2026",
                "baseline_value": 0,
                "baseline_on": dt.date(2026, 1, 1),
                "baseline_source": "Début de la convention",
                "milestones": [{"due_on": dt.date(2026, 12, 31), "value": 1000}],
            },
        )
        figure = evaluation.protocol(coordinator).questions[0].criteria[0].indicators[0]
        assert [t.id for t in figure.targets] == [target.id]
        assert figure.targets[0].progress.status == target.progress.status
        hidden = evaluation.protocol(actor(accounts, "institution"))
        reached = hidden.questions[0].criteria[0].indicators[0].targets[0].progress
        assert reached.status in ("unavailable", "not_started")
    page = text_of(signed_in_client(app, accounts["coordinator"].user_id).get("/evaluation"))
    assert "Convention Métropole 2026" in page
    assert f"target-{target.progress.status}" in page
    assert target.progress.status_label in page


# Pages ------------------------------------------------------------------------------------------


def test_the_page_opens_for_the_roles_granted_and_no_other(app, accounts):
    for role in GRANTED:
        client = signed_in_client(app, accounts[role].user_id)
        page = client.get("/evaluation")
        assert page.status_code == 200, role
        assert ">Évaluation</a>" in text_of(page), role  # in the menu
        assert "/evaluation/deploiements" in text_of(page)
    for role in REFUSED:
        client = signed_in_client(app, accounts[role].user_id)
        assert client.get("/evaluation").status_code == 403, role
        assert ">Évaluation</a>" not in text_of(client.get("/")), role
        assert client.get(URL).status_code == 403


def test_an_empty_protocol_says_what_to_do(app, accounts):
    coordinator = text_of(signed_in_client(app, accounts["coordinator"].user_id).get("/evaluation"))
    assert "Aucune question évaluative : écrivez la première ci-dessous" in coordinator
    assert "Ajouter une question évaluative" in coordinator
    evaluator = text_of(signed_in_client(app, accounts["evaluator"].user_id).get("/evaluation"))
    assert "Aucune question évaluative : la coordination n'a pas encore écrit" in evaluator
    assert "Ajouter une question évaluative" not in evaluator


def test_the_forms_write_the_protocol_then_come_back_to_the_page(app, accounts):
    client = signed_in_client(app, accounts["coordinator"].user_id)
    token = csrf_of(text_of(client.get("/evaluation")))
    refused = client.post("/evaluation/questions", data={"text": " ", "csrf_token": token})
    assert refused.status_code == 422
    page = text_of(refused)
    assert 'id="question-new-text-error">Champ obligatoire.' in page
    assert 'aria-invalid="true"' in page
    added = client.post(
        "/evaluation/questions",
        data={"text": "Les ménages sont-ils aidés ?", "deployment_id": "", "csrf_token": token},
    )
    assert added.status_code == 302
    with inside(app):
        question_id = db.session.scalar(sa.select(EvaluationQuestion.id))
    assert added.headers["Location"].endswith(f"/evaluation#question-{question_id}")
    assert "Question ajoutée." in text_of(client.get("/evaluation"))
    unknown = client.post(
        f"/evaluation/questions/{question_id}/criteres",
        data={"text": "C", "indicators": ["reports", "inconnu"], "csrf_token": token},
    )
    assert unknown.status_code == 422
    page = text_of(unknown)
    assert "Indicateur inconnu : inconnu." in page
    assert f"criterion-new-{question_id}-indicators-error" in page
    added = client.post(
        f"/evaluation/questions/{question_id}/criteres",
        data={
            "text": "Les cas se résolvent",
            "indicators": ["resolution_rate", "reports"],
            "csrf_token": token,
        },
    )
    assert added.status_code == 302
    page = text_of(client.get("/evaluation"))
    assert "Critère 1.1 : Les cas se résolvent" in page
    assert "Taux de résolution" in page

    evaluator = signed_in_client(app, accounts["evaluator"].user_id)
    token = csrf_of(text_of(evaluator.get("/evaluation")))
    with inside(app):
        criterion_id = db.session.scalar(sa.select(EvaluationCriterion.id))
    written = evaluator.post(
        f"/evaluation/criteres/{criterion_id}/constats",
        data={"evidence": "Entretiens avec six bailleurs.", "csrf_token": token},
    )
    assert written.status_code == 302
    assert "Entretiens avec six bailleurs." in text_of(evaluator.get("/evaluation"))
    too_long = evaluator.post(
        f"/evaluation/questions/{question_id}/recommandations",
        data={"recommendations": "r" * 10_001, "csrf_token": token},
    )
    assert too_long.status_code == 422
    assert "10000 caractères au plus." in text_of(too_long)
    assert (
        evaluator.post(
            f"/evaluation/questions/{question_id}", data={"text": "Autre", "csrf_token": token}
        ).status_code
        == 403
    )
    no_token = evaluator.post(
        f"/evaluation/criteres/{criterion_id}/constats", data={"evidence": "x"}
    )
    assert no_token.status_code == 400
    removed = client.post(
        f"/evaluation/questions/{question_id}/supprimer",
        data={"csrf_token": csrf_of(text_of(client.get("/evaluation")))},
    )
    assert removed.status_code == 302
    with inside(app):
        assert db.session.scalar(sa.select(sa.func.count(EvaluationQuestion.id))) == 0


def test_bad_api_input_answers_422_with_field_messages(app, accounts):
    coordinator = accounts["coordinator"]
    cases = [
        ("POST", f"{URL}/questions", {}, "text"),
        ("POST", f"{URL}/questions", {"text": 5}, "text"),
        ("POST", f"{URL}/questions", {"text": "   "}, "text"),
        ("POST", f"{URL}/questions", {"text": "Q", "position": -1}, "position"),
        ("POST", f"{URL}/questions", {"text": "Q", "deployment_id": "un"}, "deployment_id"),
        ("POST", f"{URL}/questions", {"text": "Q", "deployment_id": 99999}, "deployment_id"),
        ("POST", f"{URL}/questions", {"text": "Q", "colour": "red"}, "colour"),
    ]
    for method, url, body, field in cases:
        answer = coordinator.request(method, url, json=body)
        assert answer.status_code == 422, (body, answer.get_json())
        assert field in messages(answer), (body, answer.get_json())
    question_id = coordinator.post(f"{URL}/questions", json={"text": "Q"}).get_json()["id"]
    criteria = f"{URL}/questions/{question_id}/criteria"
    for body, field, said in (
        ({"text": "C", "indicators": ["nope"]}, "indicators", "Indicateur inconnu : nope."),
        ({"text": "C", "indicators": "reports"}, "indicators", "Liste attendue."),
        ({"text": "C", "indicators": ["reports"] * 13}, "indicators", "Longueur maximale : 12."),
        ({"text": "c" * 501}, "text", "Longueur attendue entre 1 et 500."),
    ):
        answer = coordinator.post(criteria, json=body)
        assert answer.status_code == 422, answer.get_json()
        assert messages(answer)[field] == said
    empty = coordinator.patch(f"{URL}/questions/{question_id}", json={})
    assert empty.status_code == 422
    assert "Rien à modifier" in empty.get_json()["detail"]
    assert coordinator.get(f"{URL}?deployment=abc").status_code == 422
    assert (
        coordinator.patch(f"{URL}/criteria/2147483647", json={"evidence": "x"}).status_code == 404
    )


def test_the_demo_writes_a_living_protocol_once(app_context):
    from ohpunaises import demo

    demo.write_evaluation_protocol()
    db.session.commit()
    demo.write_evaluation_protocol()  # run again: nothing added
    db.session.commit()
    read = evaluation.protocol(Actor.operator("coordinator"))
    assert len(read.questions) == 2
    criteria = [criterion for question in read.questions for criterion in question.criteria]
    assert all(criterion.indicators for criterion in criteria)
    wanted = {
        id_ for _text, _r, items in demo.DEMO_PROTOCOL for _c, ids, _e in items for id_ in ids
    }
    assert {i.id for c in criteria for i in c.indicators} == wanted  # every id is a real one
    assert sum(criterion.evidence is not None for criterion in criteria) == 1
