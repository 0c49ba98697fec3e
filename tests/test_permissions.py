"""The permission table against every endpoint and page: what it grants opens, nothing else.

Every route of the application either declares the action it performs (its view reads the
table) or is listed below as open with the reason; a new route that does neither fails here.
Then each route is requested by every role and by nobody, and the answer must be what the
table says: granted, neither 401 nor 403; not granted, 403; nobody, 401 or the sign-in page.
"""

import datetime as dt
import uuid

import pytest

from ohpunaises import permissions
from ohpunaises.auth import issue_token
from ohpunaises.extensions import db
from ohpunaises.models import Activity

from .conftest import ROLES, make_structure, make_user
from .test_api_reports import SMALLEST
from .test_web_session import sign_in

OPEN = {
    "static": "the site's own files",
    "healthz": "load balancers ask it without an account",
    "api-docs.openapi_json": "the API's documentation is public",
    "api-docs.openapi_swagger_ui": "the API's documentation is public",
    "api_docs_assets.swagger_asset": "the API's documentation is public",
    "web.login": "signing in",
    "web.logout": "signing out: any account",
    "web.home": "the home page of any account, the sign-in page otherwise",
    "web.service_worker": "the offline worker, loaded before any sign-in",
    "web.form_token": "tells the outbox whether its session still holds",
    "web.accept_invitation": "the invited person has no password yet: the link's secret is the key",
    "web.forgotten_password": "asking for a reset link is for who cannot sign in",
    "web.reset_password": "the reset link's secret is the key",
}
# Methods other than GET and their bodies; path parameters are filled from the fixture.
BODIES = {
    ("reports.Reports", "POST"): SMALLEST,
    ("reports.ReportBatch", "POST"): {"reports": [SMALLEST]},
    ("reports.ReportItem", "PATCH"): {"status": "lost"},
    ("structures.Structures", "POST"): {"name": "Nouvelle", "kind": "other", "commune": "69259"},
    ("structures.StructureItem", "PATCH"): {"trained_on": "2026-10-01"},
    ("trainings.Trainings", "POST"): {
        "held_on": "2026-10-01",
        "kind": "workshop",
        "participants": 12,
    },
    ("account.Tokens", "POST"): {"name": "essai", "days": 30},
    ("people.Invitations", "POST"): {"role": "agent"},
    ("people.UserItem", "PATCH"): {"role": "agent"},
    ("deployments.Deployments", "POST"): {"name": "Essai", "territories": ["99999"]},
    ("deployments.DeploymentItem", "PATCH"): {"name": "Métropole de Lyon"},
    ("deployments.DeploymentPeople", "POST"): {"user_ids": [2147483647]},
    ("activities.StructureActivities", "POST"): {"kind": "email"},
    ("activities.ActivityItem", "PATCH"): {"status": "cancelled"},
}
# Bodies that name structure A whoever sends them.
SENDS_STRUCTURE = {"people.Invitations", "people.UserItem"}
FORMS = {
    ("web.new_report", "POST"): {
        "intervention_date": dt.date.today().isoformat(),
        "commune": "69123",
        "housing": "social",
        "infestation_level": "low",
        "actions": "diagnosis",
    },
    ("web.follow_up", "POST"): {"status": "lost", "version": "1"},
    ("web.new_training", "POST"): {
        "held_on": dt.date.today().isoformat(),
        "kind": "workshop",
        "participants": "12",
    },
    ("web.new_deployment", "POST"): {"name": "Essai", "territories": "99999"},
    ("web.edit_deployment", "POST"): {"action": "filter"},
    ("web.new_activity", "POST"): {"kind": "call", "status": "done", "held_on": "2026-11-02"},
    ("web.edit_activity", "POST"): {"kind": "call", "status": "cancelled", "held_on": "2026-11-02"},
}
COORDINATOR_SENDS_STRUCTURE = {"reports.Reports", "reports.ReportBatch", "trainings.Trainings"}


def declared_permission(app, endpoint: str, method: str):
    """The action a route's view declares, and whether it is a public view."""
    view = app.view_functions[endpoint]
    handler = getattr(view, "view_class", None)
    handler = getattr(handler, method.lower()) if handler is not None else view
    return getattr(handler, "permission", None), getattr(handler, "audience", None) == "public"


def routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_every_route_declares_its_action_or_is_open(app):
    undeclared = set()
    for rule, method in routes(app):
        action, _public = declared_permission(app, rule.endpoint, method)
        if action is None and rule.endpoint not in OPEN:
            undeclared.add(f"{method} {rule.rule}")
        if action is not None:
            assert action in permissions.TABLE, f"{rule.rule}: unknown action {action}"
    assert not undeclared, "routes that neither declare an action nor are open"
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert set(OPEN) <= endpoints, "open routes that no longer exist"


@pytest.fixture
def world(app, make_app):
    """The application with its public pages on, one account per role (structure A for the
    field roles), a report of A, and a spare token per account."""
    app = make_app(
        OHPUNAISES_PUBLIC_PAGE="1", OHPUNAISES_EMBED="1", OHPUNAISES_RATELIMIT_LOGIN="1000/minute"
    )
    app.config["WTF_CSRF_ENABLED"] = False  # the walk is about permissions, not CSRF
    with app.app_context():
        structure = make_structure("Structure A", "69123", "social_landlord")
        field = ("agent", "partner_admin")
        users = {
            role: make_user(f"{role}@example.org", role, structure if role in field else None)
            for role in ROLES
        }
        tokens = {role: issue_token(user)[0] for role, user in users.items()}
        spare = {role: issue_token(user)[1] for role, user in users.items()}
        # Deactivated, renamed or re-roled by the walk, without cutting the others off.
        spare_agent = make_user("spare-agent@example.org", "agent", structure)
        spare_structure = make_structure("Structure Z", "69123", "association")
        today = dt.date.today()
        activity = Activity(
            structure=structure, kind="call", held_on=today, status="done", next_step="Rappeler"
        )
        activity.next_step_due = today
        db.session.add(activity)
        db.session.commit()
        ids = {
            "structure": structure.id,
            "spare": {role: record.id for role, record in spare.items()},
            "user": spare_agent.id,
            "spare_structure": spare_structure.id,
            "deployment": structure.deployment_id,
            "activity": activity.id,
        }
    client = app.test_client()
    report = client.post(
        "/api/v1/reports",
        json={**SMALLEST, "id": str(uuid.uuid4())},
        headers={"Authorization": f"Bearer {tokens['agent']}"},
    )
    assert report.status_code == 201, report.get_json()
    ids["report"] = report.get_json()["id"]
    return app, tokens, ids


# Routes acting on a whole structure's accounts: walked on a spare structure, so that the
# accounts of structure A keep signing in.
ON_SPARE_STRUCTURE = {"web.deactivate_structure", "web.reactivate_structure"}


def path_of(rule, role, ids) -> str:
    spare_structure = rule.endpoint in ON_SPARE_STRUCTURE
    values = {
        "report_id": ids["report"],
        "structure_id": ids["spare_structure" if spare_structure else "structure"],
        "user_id": ids["user"],
        "deployment_id": ids["deployment"],
        "activity_id": ids["activity"],
        "question_id": 2147483647,
        "criterion_id": 2147483647,
        "target_id": 2147483647,
        "pack_id": 2147483647,
        "import_id": "00000000-0000-4000-8000-000000000000",
        "fmt": "json",
        "token_id": ids["spare"].get(role, 1),
        "kind": "reports",
        "filename": "css/app.css",
        "z": 0,  # the map tile of the whole world
        "x": 0,
        "y": 0,
    }
    return rule.build({k: v for k, v in values.items() if k in rule.arguments})[1]


def ask(app, tokens, ids, rule, method, role):
    """The response of `role` (None: nobody) to this route, as that role's client would ask."""
    client = app.test_client()
    path = path_of(rule, role, ids)
    endpoint = rule.endpoint
    if path.startswith("/api/"):
        headers = {"If-Match": "*"}
        if role is not None:
            headers["Authorization"] = f"Bearer {tokens[role]}"
        body = dict(BODIES.get((endpoint, method), {})) or None
        if endpoint == "people.Invitations":
            body = {**body, "email": f"invited-by-{role}@example.org"}
        if body is not None and endpoint in SENDS_STRUCTURE:
            body = with_structure(body, ids["structure"])
        if body is not None and role == "coordinator" and endpoint in COORDINATOR_SENDS_STRUCTURE:
            body = with_structure(body, ids["structure"])
        return client.open(path, method=method, json=body, headers=headers)
    if role is not None:
        with app.app_context():
            db.session.remove()
        assert sign_in(client, f"{role}@example.org").status_code == 302
    data = dict(FORMS.get((endpoint, method), {}))
    if role == "coordinator" and endpoint in ("web.new_report", "web.new_training"):
        data["structure_id"] = str(ids["structure"])
    return client.open(path, method=method, data=data or None)


def with_structure(body, structure_id):
    if "reports" in body:
        return {"reports": [{**r, "structure_id": structure_id} for r in body["reports"]]}
    return {**body, "structure_id": structure_id}


def refused_sign_in(response) -> bool:
    return response.status_code == 302 and "/connexion" in response.headers["Location"]


def test_every_route_answers_each_role_as_the_table_says(world):
    app, tokens, ids = world
    checked, mismatches = 0, []
    for rule, method in routes(app):
        action, public = declared_permission(app, rule.endpoint, method)
        if action is None:
            continue
        for role in (None, *ROLES):
            response = ask(app, tokens, ids, rule, method, role)
            response.get_data()  # a streamed export ends, and its request with it
            response.close()
            status = response.status_code
            if public:
                ok = status not in (401, 403) and not refused_sign_in(response)
            elif role is None:
                ok = status == 401 if rule.rule.startswith("/api/") else refused_sign_in(response)
            elif permissions.allows(role, action):
                ok = status not in (401, 403) and not refused_sign_in(response)
            else:
                ok = status == 403
            checked += 1
            if not ok:
                mismatches.append(f"{method} {rule.rule} as {role or 'nobody'}: {status}")
    print(f"permission walk: {checked} requests")
    assert checked > 150
    assert not mismatches


def test_the_table_names_only_known_roles_and_scopes():
    actors = set(permissions.ACTORS)
    for action in permissions.ACTIONS:
        assert set(action.grants) <= actors, action.name
        assert all(isinstance(scope, permissions.Scope) for scope in action.grants.values())


def test_the_exports_page_is_open_to_who_may_export_anything():
    for role in permissions.ACTORS:
        either = permissions.allows(role, "export.rows") or permissions.allows(
            role, "export.aggregates"
        )
        assert permissions.allows(role, "export.page") == either, role


def test_the_navigation_shows_only_the_pages_a_role_opens(world):
    app, _tokens, _ids = world
    field = {"Saisir", "Signalements", "Formations", "Indicateurs", "Carte"}
    expected = {
        "agent": field,
        "partner_admin": field | {"Exports"},
        "coordinator": field | {"Exports", "Journal", "À faire", "Essaimage", "Évaluation"},
        "institution": {"Indicateurs", "Carte", "Exports", "Évaluation"},
        "evaluator": {"Indicateurs", "Carte", "Exports", "Évaluation"},
    }
    for role, labels in expected.items():
        client = app.test_client()
        sign_in(client, f"{role}@example.org")
        page = client.get("/").get_data(as_text=True)
        shown = {label for label in expected["coordinator"] if f">{label}</a>" in page}
        assert shown == labels, role


def test_the_roles_command_prints_the_table(runner):
    result = runner.invoke(args=["roles", "--markdown"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 2 + len(permissions.ACTIONS)
    report_create = next(line for line in lines if "`report.create`" in line)
    assert report_create.count("sa structure") == 2
    assert "ses déploiements" in report_create


def test_the_api_document_names_each_operation_s_permission_from_the_table(client):
    document = client.get("/api/v1/openapi.json").get_json()
    named = 0
    for item in document["paths"].values():
        for method, operation in item.items():
            if method == "parameters":
                continue
            permission = operation["x-permission"]
            grants = permissions.TABLE[permission["action"]].grants
            assert permission["roles"] == {role: str(scope) for role, scope in grants.items()}
            named += 1
    assert named >= 20
    reports = document["paths"]["/api/v1/reports"]["post"]["x-permission"]
    assert reports == {
        "action": "report.create",
        "roles": {"agent": "structure", "partner_admin": "structure", "coordinator": "deployments"},
    }
