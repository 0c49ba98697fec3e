"""gunicorn serves wsgi.py on the port it is given."""

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from .conftest import environ_for

ROOT = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url, seconds=30):
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status, response.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@contextlib.contextmanager
def gunicorn(database_url, port=None, **env):
    """The product served for real by gunicorn on `port` (a free one by default), with `env`
    added to its environment; yields its base URL."""
    port = port or free_port()
    env = {**os.environ, **environ_for(database_url, **env), "PORT": str(port)}
    env.setdefault("WEB_CONCURRENCY", "2")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/healthz")
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_gunicorn_serves_healthz(app, database_url):
    with gunicorn(database_url) as base:
        status, body = wait_for(f"{base}/healthz")
    assert status == 200
    assert json.loads(body) == {"status": "ok", "database": "ok"}
