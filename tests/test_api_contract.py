"""The API, served by gunicorn, against its own OpenAPI document (schemathesis).

Bounded in count and time; fails on any server error and on any response that the
document does not describe.
"""

import re
import subprocess
import sys
from pathlib import Path

from ohpunaises.auth import issue_token
from ohpunaises.extensions import db

from . import smtp
from .conftest import make_structure, make_user
from .test_gunicorn import gunicorn

smtp_server = smtp.smtp_server  # the fixture, used by name

CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance,response_headers_conformance"
)


def agent_token(app):
    with app.app_context():
        structure = make_structure("Structure du contrat", "69123")
        token, _ = issue_token(make_user("contrat@example.org", "agent", structure))
        db.session.commit()
    return token


def test_the_api_honours_its_openapi_document(app, database_url, tmp_path):
    token = agent_token(app)
    with gunicorn(database_url, OHPUNAISES_RATELIMIT_API="100000 per minute") as base:
        # Revoking tokens at random would revoke the run's own token.
        run = schemathesis(base, token, tmp_path, "--exclude-path", "/api/v1/tokens/{token_id}")
    summary = run.stdout[-3000:]
    assert run.returncode == 0, summary
    generated = re.search(r"(\d+) generated", run.stdout)
    assert generated and int(generated.group(1)) > 100, summary
    print(summary)


def test_people_administration_honours_the_document_for_a_coordinator(
    app, database_url, tmp_path, smtp_server
):
    """The people endpoints, past their 403, as the role that administers them (invitations
    leave through a real SMTP server, never into the checkout's instance folder)."""
    agent_token(app)
    with app.app_context():
        token, _ = issue_token(make_user("coordination-contrat@example.org", "coordinator"))
        db.session.commit()
    env = {"OHPUNAISES_RATELIMIT_API": "100000 per minute", "OHPUNAISES_SMTP_URL": smtp_server.url}
    with gunicorn(database_url, **env) as base:
        run = schemathesis(
            base, token, tmp_path, "--include-path-regex", "^/api/v1/(users|invitations)"
        )
    summary = run.stdout[-3000:]
    assert run.returncode == 0, summary
    generated = re.search(r"(\d+) generated", run.stdout)
    assert generated and int(generated.group(1)) > 20, summary
    assert smtp_server.messages(), "no invitation got through: the run stayed at its refusals"
    print(summary)


def schemathesis(base: str, token: str, directory, *options) -> subprocess.CompletedProcess:
    """A bounded, seeded schemathesis run against the served document, with `token`."""
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "st"),
            "run",
            f"{base}/api/v1/openapi.json",
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            CHECKS,
            *options,
            "--max-examples",
            "12",
            "--max-time",
            "60",
            "--seed",
            "20261128",
            "--generation-database",
            "none",
            "--workers",
            "1",
            "--no-color",
        ],
        cwd=directory,  # schemathesis keeps its state in the working directory
        capture_output=True,
        text=True,
        timeout=300,
    )
