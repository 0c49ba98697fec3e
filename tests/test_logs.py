"""Logs: one line per request with its id, errors with theirs, nothing personal."""

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from ohpunaises import logs
from ohpunaises.auth import issue_token
from ohpunaises.extensions import db

from .conftest import environ_for, make_user
from .test_gunicorn import ROOT, free_port, wait_for
from .test_web_session import csrf_token, sign_in

HEX_ID = re.compile(r"[0-9a-f]{32}")


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.fixture
def json_app(app, make_app):
    """The application logging JSON, as in production, and handling its own errors."""
    made = make_app(OHPUNAISES_LOG_FORMAT="json")
    made.config["PROPAGATE_EXCEPTIONS"] = False

    def boom():
        raise RuntimeError("une panne de test")

    made.add_url_rule("/panne", "panne", boom)
    made.add_url_rule("/api/v1/panne", "api_panne", boom)
    return made


def test_every_response_carries_a_new_request_id(client):
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/connexion").headers["X-Request-ID"]
    assert HEX_ID.fullmatch(first) and HEX_ID.fullmatch(second)
    assert first != second


def test_a_valid_incoming_request_id_is_kept(client):
    response = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a:42"})
    assert response.headers["X-Request-ID"] == "lb-7f3a:42"


@pytest.mark.parametrize(
    "hostile", ["a\tb", "x" * 201, "avec espace", "é-accent", "\x7f", "", "ok\x1bid"]
)
def test_a_hostile_request_id_is_replaced(client, hostile):
    response = client.get("/healthz", headers={"X-Request-ID": hostile})
    assert HEX_ID.fullmatch(response.headers["X-Request-ID"])


def test_each_request_is_one_json_line_without_its_query(json_app, capsys):
    capsys.readouterr()
    response = json_app.test_client().get(
        "/connexion?next=/mes-signalements&email=personne@example.org",
        headers={"X-Request-ID": "req-1"},
    )
    assert response.status_code == 200
    (line,) = [
        entry for entry in json_lines(capsys.readouterr().err) if entry["event"] == "request"
    ]
    assert line["request_id"] == "req-1"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/connexion", 200)
    assert isinstance(line["duration_ms"], float)
    assert {"time", "level", "user_id", "role"} <= set(line)
    assert "personne" not in json.dumps(line) and "next" not in json.dumps(line)


def test_the_request_line_names_the_account(json_app, capsys):
    with json_app.app_context():
        user = make_user("agent@example.org", "agent")
        token = issue_token(user)[0]
        db.session.commit()
        user_id = user.id
    capsys.readouterr()
    json_app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    lines = json_lines(capsys.readouterr().err)
    (line,) = [entry for entry in lines if entry["event"] == "request"]
    assert (line["user_id"], line["role"]) == (user_id, "agent")
    assert token not in json.dumps(lines)


def test_a_slow_request_is_a_warning(json_app, capsys, monkeypatch):
    monkeypatch.setattr(logs, "SLOW_SECONDS", 0.0)
    capsys.readouterr()
    json_app.test_client().get("/healthz")
    (line,) = json_lines(capsys.readouterr().err)
    assert (line["event"], line["level"], line["path"]) == ("request.slow", "warning", "/healthz")


def test_a_500_page_shows_its_request_id_and_the_log_has_the_traceback(json_app, capsys):
    capsys.readouterr()
    response = json_app.test_client().get("/panne")
    assert response.status_code == 500
    request_id = response.headers["X-Request-ID"]
    page = response.get_data(as_text=True)
    assert request_id in page
    assert "Erreur interne" in page and "Traceback" not in page
    errors = [e for e in json_lines(capsys.readouterr().err) if e["level"] == "error"]
    assert errors and errors[0]["request_id"] == request_id
    assert "RuntimeError: une panne de test" in errors[0]["traceback"]


def test_a_500_on_the_api_gives_its_request_id(json_app):
    response = json_app.test_client().get("/api/v1/panne", headers={"X-Request-ID": "abc-9"})
    assert response.status_code == 500
    assert response.content_type == "application/problem+json"
    assert response.get_json()["request_id"] == "abc-9"


def test_a_refused_sign_in_is_logged_without_the_address_or_password(json_app, capsys):
    with json_app.app_context():
        make_user("coord@example.org", "coordinator")
        db.session.commit()
    client = json_app.test_client()
    data = {"email": "coord@example.org", "password": "pas-le-bon-secret"}
    client.post("/connexion", data={**data, "csrf_token": csrf_token(client)})
    text = capsys.readouterr().err
    (refused,) = [e for e in json_lines(text) if e["event"] == "login.refused"]
    assert refused["known_address"] is True
    assert "coord@" not in text and "pas-le-bon-secret" not in text


def test_a_refused_token_is_logged_without_the_token(json_app, capsys):
    capsys.readouterr()
    json_app.test_client().get("/api/v1/me", headers={"Authorization": "Bearer ohp_faux-jeton"})
    text = capsys.readouterr().err
    (refused,) = [e for e in json_lines(text) if e["event"] == "token.refused"]
    assert refused["reason"] == "unknown"
    assert "faux-jeton" not in text


def test_an_export_is_logged_with_its_rows(json_app, capsys):
    with json_app.app_context():
        make_user("coord@example.org", "coordinator")
        db.session.commit()
    client = json_app.test_client()
    sign_in(client, "coord@example.org")
    capsys.readouterr()
    client.get("/api/v1/exports/reports.csv").get_data()
    (export,) = [e for e in json_lines(capsys.readouterr().err) if e["event"] == "export"]
    assert (export["kind"], export["rows"], export["complete"]) == ("reports.csv", 0, True)


def test_gunicorn_writes_one_json_line_per_request_on_stderr(app, database_url, tmp_path):
    port = free_port()
    env = {
        **os.environ,
        **environ_for(database_url, OHPUNAISES_LOG_FORMAT="json"),
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
    }
    stderr = (tmp_path / "stderr").open("w")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz")
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/healthz?secret=x", headers={"X-Request-ID": "gunicorn-1"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.headers["X-Request-ID"] == "gunicorn-1"
    finally:
        server.terminate()
        server.wait(timeout=30)
        stderr.close()
    lines = json_lines((tmp_path / "stderr").read_text())
    (line,) = [entry for entry in lines if entry.get("request_id") == "gunicorn-1"]
    assert (line["event"], line["path"], line["status"]) == ("request", "/healthz", 200)
    assert "secret" not in (tmp_path / "stderr").read_text()
