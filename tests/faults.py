"""Faults for the reliability suite: a private PostgreSQL to restart, gunicorn workers to kill,
and HTTP attempts classified the way a client sees them (answered, cut, reset, refused)."""

import contextlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from .conftest import environ_for
from .test_gunicorn import ROOT, free_port, wait_for

POSTGRESQL = Path("/usr/lib/postgresql")


def tail(log: Path, lines=40) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    return ""


# A private PostgreSQL cluster ------------------------------------------------------------------


def postgres_bin() -> Path | None:
    """The bin folder of the newest PostgreSQL installed, if any."""
    majors = sorted(
        (p for p in POSTGRESQL.glob("*") if p.name.isdigit() and (p / "bin" / "initdb").exists()),
        key=lambda p: int(p.name),
    )
    return majors[-1] / "bin" if majors else None


def as_cluster_owner(command: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root: the cluster belongs to the `postgres` account then.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class PrivateCluster:
    """A throw-away PostgreSQL cluster on a free port, that a test may stop and start."""

    def __init__(self, bin_dir: Path, directory: Path, port: int):
        self.bin_dir, self.directory, self.port = bin_dir, directory, port
        self.data, self.log = directory / "data", directory / "postgresql.log"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}"

    def run(self, tool: str, *args: str, check=True):
        command = as_cluster_owner([str(self.bin_dir / tool), *args])
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if check and done.returncode:
            raise AssertionError(
                f"{tool} {' '.join(args)} failed:\n{done.stdout}{done.stderr}{self.log_tail()}"
            )
        return done

    def initdb(self):
        self.run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync")

    def start(self):
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        data, log = str(self.data), str(self.log)
        self.run("pg_ctl", "start", "-w", "-t", "60", "-D", data, "-l", log, "-o", options)

    def stop(self, mode="fast", check=True):
        self.run("pg_ctl", "stop", "-w", "-t", "60", "-m", mode, "-D", str(self.data), check=check)

    def create_database(self, name: str) -> str:
        with psycopg.connect(f"{self.url}/postgres", autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"{self.url}/{name}"

    def log_tail(self) -> str:
        return tail(self.log)


@contextlib.contextmanager
def private_postgres():
    """A PostgreSQL cluster of its own, in a temporary folder removed at the end, even on failure.

    The shared cluster that the rest of the suite uses is never restarted.
    """
    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.fail(f"PostGIS run asked for, but no PostgreSQL server under {POSTGRESQL}")
    directory = Path(tempfile.mkdtemp(prefix="ohpunaises-postgres-"))
    if os.geteuid() == 0:
        shutil.chown(directory, user="postgres")
    cluster = PrivateCluster(bin_dir, directory, free_port())
    try:
        cluster.initdb()
        cluster.start()
        yield cluster
    finally:
        cluster.stop("immediate", check=False)
        shutil.rmtree(directory, ignore_errors=True)


# gunicorn, with workers to kill -----------------------------------------------------------------


class Server:
    """The product served by gunicorn: its address, its master process and its workers."""

    def __init__(self, process: subprocess.Popen, port: int, workers: int, log: Path):
        self.process, self.port, self.workers, self.log = process, port, workers, log

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> set[int]:
        master = self.process.pid
        with contextlib.suppress(OSError):
            text = Path(f"/proc/{master}/task/{master}/children").read_text()
            return {int(pid) for pid in text.split()}
        return set()

    def wait_for_workers(self, seconds=60) -> set[int]:
        """The workers, once the master runs as many as it was asked for."""
        deadline = time.monotonic() + seconds
        while len(pids := self.worker_pids()) != self.workers:
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise AssertionError(f"gunicorn runs {len(pids)} workers of {self.workers}")
            time.sleep(0.05)
        return pids

    def kill_a_worker(self, seconds=60) -> tuple[int, int]:
        """SIGKILL one worker; returns its pid and the pid of the worker the master forks anew."""
        before = self.wait_for_workers()
        victim = min(before)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + seconds
        while True:
            pids = self.worker_pids()
            if victim not in pids and len(pids) == self.workers:
                return victim, (pids - before).pop()
            if time.monotonic() > deadline:
                raise AssertionError(f"gunicorn did not replace worker {victim}: {pids}")
            time.sleep(0.02)

    def log_tail(self) -> str:
        return tail(self.log)


@contextlib.contextmanager
def served(database_url: str, log: Path, workers: int, **env):
    """The product served for real by gunicorn on a free port; its error log goes to `log`."""
    port = free_port()
    env = {
        **os.environ,
        **environ_for(database_url, **env),
        "PORT": str(port),
        "WEB_CONCURRENCY": str(workers),
    }
    with log.open("w") as errors:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
    server = Server(process, port, workers, log)
    try:
        try:
            wait_for(f"{server.base}/healthz")
        except OSError as error:
            raise AssertionError(f"gunicorn did not serve: {error}\n{server.log_tail()}") from error
        server.wait_for_workers()
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


# HTTP attempts ----------------------------------------------------------------------------------

FAILURES = ("server_error", "reset", "refused", "timeout")


@dataclass(frozen=True)
class Attempt:
    """One HTTP request as its client lived it."""

    client: str
    started: float
    ended: float
    outcome: str  # acknowledged, rejected, server_error, reset, refused, timeout, cut
    status: int | None = None

    @property
    def failed(self) -> bool:
        """The service failed this request (a request cut by its own client did not)."""
        return self.outcome in FAILURES

    def overlaps(self, start: float, end: float) -> bool:
        return self.started <= end and self.ended >= start


def outcome_of(status: int) -> str:
    if 200 <= status < 300:
        return "acknowledged"
    return "server_error" if status >= 500 else "rejected"


def call(port, method, path, body=None, token=None, timeout=10.0):
    """One request on a new connection: (outcome, status, parsed body)."""
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        status, raw = response.status, response.read()
    except TimeoutError:
        return "timeout", None, None
    except ConnectionRefusedError:
        return "refused", None, None
    except (OSError, http.client.HTTPException):
        # Reset, broken pipe, or a worker gone before its answer was complete.
        return "reset", None, None
    finally:
        connection.close()
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = None
    return outcome_of(status), status, parsed


def wait_until_answered(port, path, seconds, token=None, body=None, method="GET") -> float:
    """Poll until a request gets a 2xx; the moment it did."""
    deadline = time.monotonic() + seconds
    while True:
        outcome, status, _ = call(port, method, path, body, token, timeout=2.0)
        now = time.monotonic()
        if outcome == "acknowledged":
            return now
        if now > deadline:
            raise AssertionError(f"{method} {path} still answers {outcome} {status}")
        time.sleep(0.02)
