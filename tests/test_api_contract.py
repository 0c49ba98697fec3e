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

from .conftest import make_structure, make_user
from .test_gunicorn import gunicorn

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
        run = subprocess.run(
            [
                str(Path(sys.executable).parent / "st"),
                "run",
                f"{base}/api/v1/openapi.json",
                "--header",
                f"Authorization: Bearer {token}",
                "--checks",
                CHECKS,
                # Revoking tokens at random would revoke the run's own token.
                "--exclude-path",
                "/api/v1/tokens/{token_id}",
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
            cwd=tmp_path,  # schemathesis keeps its state in the working directory
            capture_output=True,
            text=True,
            timeout=300,
        )
    summary = run.stdout[-3000:]
    assert run.returncode == 0, summary
    generated = re.search(r"(\d+) generated", run.stdout)
    assert generated and int(generated.group(1)) > 100, summary
    print(summary)
