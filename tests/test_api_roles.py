"""Every role over every endpoint: what DESIGN §3 allows, and nothing more."""

import io

import pytest

from ohpunaises import jobs

from .test_api_reports import SMALLEST

ROLES = (
    "anonymous",
    "agent",
    "partner_admin",
    "coordinator",
    "institution",
    "evaluator",
    "agent_b",
)

# Expected status per role, in the order of ROLES. The report and structure used belong to
# structure A (the agent's and the partner admin's); agent_b belongs to structure B.
MATRIX = {
    ("GET", "/api/v1/reports"): (401, 200, 200, 200, 403, 403, 200),
    ("POST", "/api/v1/reports"): (401, 201, 201, 201, 403, 403, 201),
    ("POST", "/api/v1/reports/batch"): (401, 200, 200, 200, 403, 403, 200),
    ("GET", "/api/v1/reports/{report}"): (401, 200, 200, 200, 403, 403, 404),
    ("PATCH", "/api/v1/reports/{report}"): (401, 200, 200, 200, 403, 403, 404),
    ("GET", "/api/v1/territories?level=arrondissement"): (401, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/me"): (401, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/structures"): (401, 200, 200, 200, 200, 200, 200),
    ("POST", "/api/v1/structures"): (401, 403, 403, 201, 403, 403, 403),
    ("GET", "/api/v1/structures/{structure}"): (401, 200, 200, 200, 404, 404, 404),
    ("PATCH", "/api/v1/structures/{structure}"): (401, 403, 403, 200, 403, 403, 403),
    ("GET", "/api/v1/trainings"): (401, 200, 200, 200, 403, 403, 200),
    ("POST", "/api/v1/trainings"): (401, 201, 201, 201, 403, 403, 201),
    ("GET", "/api/v1/tokens"): (401, 200, 200, 200, 200, 200, 200),
    ("POST", "/api/v1/tokens"): (401, 201, 201, 201, 201, 201, 201),
    ("GET", "/api/v1/exports/reports.csv"): (401, 403, 200, 200, 403, 200, 403),
    ("GET", "/api/v1/exports/dictionary.csv"): (401, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/exports/schema.json"): (401, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/exports/territories.geojson"): (401, 403, 403, 200, 200, 200, 403),
    # DESIGN §3: every role reads indicators, suppressed for all but the coordination.
    ("GET", "/api/v1/indicators?level=commune"): (401, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/indicators/definitions"): (401, 200, 200, 200, 200, 200, 200),
    # DESIGN §3: people are administered by coordinators and, for their agents, partner admins.
    # {user} is the agent of structure A; {pending}, an agent of A invited by the coordinator.
    ("GET", "/api/v1/users"): (401, 403, 200, 200, 403, 403, 403),
    ("GET", "/api/v1/users/{user}"): (401, 403, 200, 200, 403, 403, 403),
    ("PATCH", "/api/v1/users/{user}"): (401, 403, 200, 200, 403, 403, 403),
    ("GET", "/api/v1/users/{user}/tokens"): (401, 200, 200, 200, 404, 404, 404),
    ("POST", "/api/v1/invitations"): (401, 403, 201, 201, 403, 403, 403),
    ("POST", "/api/v1/users/{pending}/invitation"): (401, 403, 201, 201, 403, 403, 403),
    ("DELETE", "/api/v1/users/{pending}/invitation"): (401, 403, 204, 204, 403, 403, 403),
    # DESIGN §3: coordinators manage deployments. {deployment} is the default one (Lyon); the
    # bodies are refused or change nothing, so that no deployment outlives the test.
    ("GET", "/api/v1/deployments"): (401, 403, 403, 200, 403, 403, 403),
    ("POST", "/api/v1/deployments"): (401, 403, 403, 422, 403, 403, 403),
    ("GET", "/api/v1/deployments/{deployment}"): (401, 403, 403, 200, 403, 403, 403),
    ("PATCH", "/api/v1/deployments/{deployment}"): (401, 403, 403, 200, 403, 403, 403),
    ("POST", "/api/v1/deployments/{deployment}/people"): (401, 403, 403, 404, 403, 403, 403),
    ("DELETE", "/api/v1/deployments/{deployment}/people/{user}"): (
        401,
        403,
        403,
        404,
        403,
        403,
        403,
    ),
    # DESIGN §3: partner follow-up is for coordinators only. {activity}: a call with structure A.
    ("GET", "/api/v1/structures/{structure}/activities"): (401, 403, 403, 200, 403, 403, 403),
    ("POST", "/api/v1/structures/{structure}/activities"): (401, 403, 403, 201, 403, 403, 403),
    ("PATCH", "/api/v1/activities/{activity}"): (401, 403, 403, 200, 403, 403, 403),
    ("GET", "/api/v1/todo"): (401, 403, 403, 200, 403, 403, 403),
    # Stages are the coordination's; a structure declares "rien à signaler" for itself (A
    # joined today: no period is owed yet, so the allowed roles get a 422, not a 403).
    ("POST", "/api/v1/structures/{structure}/stage"): (401, 403, 403, 200, 403, 403, 403),
    ("GET", "/api/v1/structures/{structure}/stages"): (401, 403, 403, 200, 403, 403, 403),
    ("GET", "/api/v1/reporting"): (401, 403, 403, 200, 403, 403, 403),
    ("POST", "/api/v1/structures/{structure}/nothing-to-report"): (
        401,
        422,
        422,
        422,
        403,
        403,
        404,
    ),
    # DESIGN §5: the evaluation protocol is read by the coordination, institutions and the
    # evaluation; the coordination writes it, the evaluation its evidence and recommendations.
    # {question}: a programme-wide question of the coordinator's, {criterion} one of its criteria.
    ("GET", "/api/v1/evaluation"): (401, 403, 403, 200, 200, 200, 403),
    ("GET", "/api/v1/evaluation/deployments"): (401, 403, 403, 200, 200, 200, 403),
    ("POST", "/api/v1/evaluation/questions"): (401, 403, 403, 201, 403, 403, 403),
    ("PATCH", "/api/v1/evaluation/questions/{question}"): (401, 403, 403, 200, 403, 200, 403),
    ("DELETE", "/api/v1/evaluation/questions/{question}"): (401, 403, 403, 204, 403, 403, 403),
    ("POST", "/api/v1/evaluation/questions/{question}/criteria"): (
        401,
        403,
        403,
        201,
        403,
        403,
        403,
    ),
    ("PATCH", "/api/v1/evaluation/criteria/{criterion}"): (401, 403, 403, 200, 403, 200, 403),
    ("DELETE", "/api/v1/evaluation/criteria/{criterion}"): (401, 403, 403, 204, 403, 403, 403),
    # Targets and packs are set and frozen by the coordination; institutions and evaluators read
    # them, packs once approved ({pack} is a draft of the whole programme's first quarter).
    ("GET", "/api/v1/targets"): (401, 403, 403, 200, 200, 200, 403),
    ("POST", "/api/v1/targets"): (401, 403, 403, 201, 403, 403, 403),
    ("GET", "/api/v1/targets/{target}"): (401, 403, 403, 200, 200, 200, 403),
    ("PATCH", "/api/v1/targets/{target}"): (401, 403, 403, 200, 403, 403, 403),
    ("DELETE", "/api/v1/targets/{target}"): (401, 403, 403, 204, 403, 403, 403),
    ("GET", "/api/v1/packs"): (401, 403, 403, 200, 200, 200, 403),
    ("POST", "/api/v1/packs"): (401, 403, 403, 201, 403, 403, 403),
    ("GET", "/api/v1/packs/{pack}"): (401, 403, 403, 200, 404, 404, 403),
    ("POST", "/api/v1/packs/{pack}/approve"): (401, 403, 403, 200, 403, 403, 403),
    ("POST", "/api/v1/packs/{pack}/withdraw"): (401, 403, 403, 200, 403, 403, 403),
    ("GET", "/api/v1/packs/{pack}/differences"): (401, 403, 403, 200, 403, 403, 403),
    ("GET", "/api/v1/packs/{pack}/pack.json"): (401, 403, 403, 200, 404, 404, 403),
    # Spreadsheets are imported by a structure's admin and by the coordination ({import} is a
    # checked file of structure A, sent by its admin).
    ("GET", "/api/v1/imports"): (401, 403, 200, 200, 403, 403, 403),
    ("POST", "/api/v1/imports"): (401, 403, 202, 202, 403, 403, 403),
    ("GET", "/api/v1/imports/fields"): (401, 403, 200, 200, 403, 403, 403),
    ("GET", "/api/v1/imports/{import}"): (401, 403, 200, 200, 403, 403, 403),
    ("PUT", "/api/v1/imports/{import}/mapping"): (401, 403, 202, 202, 403, 403, 403),
    ("POST", "/api/v1/imports/{import}/commit"): (401, 403, 202, 202, 403, 403, 403),
    ("GET", "/api/v1/imports/{import}/errors.csv"): (401, 403, 200, 200, 403, 403, 403),
}

TARGET = {
    "indicator": "reports",
    "agreement": "Convention 2026",
    "baseline_value": 0,
    "baseline_on": "2026-01-01",
    "baseline_source": "Début de la convention",
    "milestones": [{"due_on": "2026-12-31", "value": 100}],
}
FIRST_QUARTER = {"from": "2026-01-01", "to": "2026-03-31"}

BODIES = {
    ("POST", "/api/v1/reports"): SMALLEST,
    ("POST", "/api/v1/reports/batch"): {"reports": [SMALLEST]},
    ("PATCH", "/api/v1/reports/{report}"): {"status": "lost"},
    ("POST", "/api/v1/structures"): {"name": "Nouvelle", "kind": "other", "commune": "69259"},
    ("PATCH", "/api/v1/structures/{structure}"): {"trained_on": "2026-10-01"},
    ("POST", "/api/v1/trainings"): {
        "held_on": "2026-10-01",
        "kind": "workshop",
        "participants": 12,
    },
    ("POST", "/api/v1/tokens"): {"name": "essai"},
    ("PATCH", "/api/v1/users/{user}"): {"active": True},
    ("POST", "/api/v1/invitations"): {"email": "invitee@example.org", "role": "agent"},
    ("POST", "/api/v1/deployments"): {"name": "Essai", "territories": ["99999"]},
    ("PATCH", "/api/v1/deployments/{deployment}"): {"name": "Métropole de Lyon"},
    ("POST", "/api/v1/deployments/{deployment}/people"): {"user_ids": [2147483647]},
    ("POST", "/api/v1/structures/{structure}/activities"): {"note": "Point d'étape"},
    ("PATCH", "/api/v1/activities/{activity}"): {"status": "cancelled"},
    ("POST", "/api/v1/structures/{structure}/stage"): {"stage": "paused"},
    ("POST", "/api/v1/evaluation/questions"): {"text": "Le programme aide-t-il ?"},
    ("PATCH", "/api/v1/evaluation/questions/{question}"): {"recommendations": "Continuer."},
    ("POST", "/api/v1/evaluation/questions/{question}/criteria"): {"text": "Des cas résolus"},
    ("PATCH", "/api/v1/evaluation/criteria/{criterion}"): {"evidence": "Vu en visite."},
    ("POST", "/api/v1/targets"): TARGET,
    ("PATCH", "/api/v1/targets/{target}"): {"agreement": "Avenant 2026"},
    ("POST", "/api/v1/packs"): FIRST_QUARTER,
    ("PUT", "/api/v1/imports/{import}/mapping"): {"columns": {"Date": "intervention_date"}},
    ("POST", "/api/v1/imports/{import}/commit"): {"valid_only": True},
}
SPREADSHEET = (
    b"Date;Commune;Logement;Niveau;Actions\n03/02/2025;Bron;Logement social;Faible;Diagnostic\n"
)

CASES = [
    (method, url, role, status)
    for (method, url), statuses in MATRIX.items()
    for role, status in zip(ROLES, statuses, strict=True)
]


@pytest.mark.parametrize(("method", "url", "role", "expected"), CASES)
def test_role_matrix(accounts, method, url, role, expected):
    agent = accounts["agent"]
    report = agent.post("/api/v1/reports", json=SMALLEST).get_json()["id"]
    pending = invited(accounts) if "{pending}" in url else None
    activity = called(accounts) if "{activity}" in url else None
    target = made(accounts, "/api/v1/targets", TARGET) if "{target}" in url else None
    pack = made(accounts, "/api/v1/packs", FIRST_QUARTER) if "{pack}" in url else None
    question, criterion = questioned(accounts) if "/evaluation/" in url else (None, None)
    sent = sent_file(accounts) if "{import}" in url else None
    deployment = accounts["coordinator"].get("/api/v1/deployments").get_json()[0]["id"]
    path = url.format(
        report=report,
        structure=agent.structure_id,
        user=agent.user_id,
        pending=pending,
        deployment=deployment,
        activity=activity,
        question=question,
        criterion=criterion,
        target=target,
        pack=pack,
        **{"import": sent},
    )
    body = dict(BODIES.get((method, url), {}))
    structured = ("/api/v1/reports", "/api/v1/trainings", "/api/v1/invitations")
    if role == "coordinator" and url.startswith(structured):
        body = with_structure(body, agent.structure_id)
    if (method, url) == ("POST", "/api/v1/imports"):
        upload = {"file": (io.BytesIO(SPREADSHEET), "x.csv"), "structure_id": agent.structure_id}
        response = accounts[role].post(path, data=upload)
    else:
        headers = {"If-Match": '"1"'}
        response = accounts[role].request(method, path, json=body or None, headers=headers)
    assert jobs.drain()
    assert response.status_code == expected, response.get_json()
    if expected >= 400:
        assert response.content_type == "application/problem+json"


def sent_file(accounts) -> str:
    """A spreadsheet of structure A, sent by its admin and checked."""
    upload = {"file": (io.BytesIO(SPREADSHEET), "x.csv")}
    sent = accounts["partner_admin"].post("/api/v1/imports", data=upload).get_json()["id"]
    assert jobs.drain()
    return sent


def invited(accounts) -> int:
    """An agent of structure A, invited by the coordinator and still waiting."""
    body = {"email": "pending@example.org", "role": "agent"}
    body["structure_id"] = accounts["agent"].structure_id
    response = accounts["coordinator"].post("/api/v1/invitations", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["user"]["id"]


def called(accounts) -> int:
    """A call with structure A, noted by the coordinator."""
    url = f"/api/v1/structures/{accounts['agent'].structure_id}/activities"
    response = accounts["coordinator"].post(url, json={})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def questioned(accounts) -> tuple[int, int]:
    """A programme-wide question and one of its criteria, written by the coordinator."""
    url = "/api/v1/evaluation/questions"
    question = accounts["coordinator"].post(url, json={"text": "Les ménages sont-ils aidés ?"})
    assert question.status_code == 201, question.get_json()
    question_id = question.get_json()["id"]
    body = {"text": "Des cas résolus", "indicators": ["resolution_rate"]}
    criterion = accounts["coordinator"].post(f"{url}/{question_id}/criteria", json=body)
    assert criterion.status_code == 201, criterion.get_json()
    return question_id, criterion.get_json()["id"]


def made(accounts, url, body) -> int:
    """What the coordinator creates at `url` with `body`: a target, a draft pack."""
    response = accounts["coordinator"].post(url, json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def with_structure(body, structure_id):
    if "reports" in body:
        return {"reports": [{**r, "structure_id": structure_id} for r in body["reports"]]}
    if "status" in body:
        return body
    return {**body, "structure_id": structure_id}


def test_every_endpoint_of_the_document_is_in_the_matrix(client):
    document = client.get("/api/v1/openapi.json").get_json()
    documented = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    covered = {
        (
            m,
            u.split("?")[0]
            .replace("{report}", "{report_id}")
            .replace("{structure}", "{structure_id}")
            .replace("{user}", "{user_id}")
            .replace("{pending}", "{user_id}")
            .replace("{deployment}", "{deployment_id}")
            .replace("{activity}", "{activity_id}")
            .replace("{question}", "{question_id}")
            .replace("{criterion}", "{criterion_id}")
            .replace("{target}", "{target_id}")
            .replace("{pack}", "{pack_id}")
            .replace("{import}", "{import_id}")
            .replace("pack.json", "pack.{fmt}"),
        )
        for m, u in MATRIX
    }
    covered.add(("DELETE", "/api/v1/tokens/{token_id}"))  # tested in test_api_accounts
    assert documented == covered


def test_structure_lists_follow_the_scope(accounts):
    def names(role):
        return [s["name"] for s in accounts[role].get("/api/v1/structures").get_json()]

    assert names("agent") == ["Structure A"]
    assert names("agent_b") == ["Structure B"]
    assert names("coordinator") == ["Structure A", "Structure B"]
    assert names("institution") == []


def test_trainings_follow_the_scope(accounts):
    body = {"held_on": "2026-10-01", "kind": "workshop", "participants": 12}
    accounts["agent"].post("/api/v1/trainings", json=body)
    accounts["agent_b"].post("/api/v1/trainings", json={**body, "participants": 30})

    def seen(role):
        return [t["participants"] for t in accounts[role].get("/api/v1/trainings").get_json()]

    assert seen("agent") == [12]
    assert seen("agent_b") == [30]
    assert sorted(seen("coordinator")) == [12, 30]
