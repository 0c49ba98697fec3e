"""What the benchmarks share: scratch PostGIS databases, gunicorn servers, accounts, figures.

Every benchmark serves the product the way production does (gunicorn with `gunicorn.conf.py`,
PostgreSQL + PostGIS) and sets a figure against a baseline measured in the same run. The
helpers here start and stop those servers and databases, and clean up even when a run fails.

PostgreSQL is reached at OHPUNAISES_BENCH_POSTGRES (default
postgresql://postgres@127.0.0.1:5432), as a user allowed to create databases and extensions.
"""

import contextlib
import dataclasses
import http.client
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
POSTGRES = os.environ.get("OHPUNAISES_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
SECRET_KEY = "bench-secret-key-long-enough-0123456789"
# The API allows 1,200 requests per minute and token by default; a benchmark sends more.
RATE_LIMIT = "1000000 per minute"

_STARTED = time.monotonic()
if str(ROOT) not in sys.path:  # the product, when it is not installed in this Python
    sys.path.append(str(ROOT))


class BenchError(RuntimeError):
    """A benchmark could not run; the message says why."""


def progress(message: str):
    """One progress line, with the time elapsed since the start of the process."""
    elapsed = int(time.monotonic() - _STARTED)
    print(f"[{elapsed // 60:3d}:{elapsed % 60:02d}] {message}", flush=True)


# Figures --------------------------------------------------------------------------------------


def percentile(values, share: float) -> float:
    """The `share` (0–1) quantile of `values`, interpolated linearly between ranks."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    rank = share * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values) -> float:
    return statistics.median(values)


def timed(run, repeat: int = 1) -> tuple[float, object]:
    """The median wall time of `run` in seconds, and its last result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


@dataclasses.dataclass
class Outcome:
    """One line of the summary: a figure of the product, its baseline, and its target."""

    benchmark: str
    figure: str
    product: str
    baseline: str = ""
    ratio: float | None = None
    target: str = ""
    met: bool | None = None

    @property
    def verdict(self) -> str:
        return "" if self.met is None else ("yes" if self.met else "NO")


def summary_table(outcomes: list[Outcome]) -> str:
    """The outcomes as a Markdown table."""
    lines = [
        "| benchmark | figure | product | baseline | ratio | target | met |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for o in outcomes:
        ratio = "" if o.ratio is None else f"{o.ratio:.2f}"
        lines.append(
            f"| {o.benchmark} | {o.figure} | {o.product} | {o.baseline} | {ratio} | "
            f"{o.target} | {o.verdict} |"
        )
    return "\n".join(lines)


def ms(seconds: float) -> str:
    """Milliseconds, with two, one or no decimals as the figure is small or large."""
    digits = 2 if seconds < 0.001 else 1 if seconds < 0.1 else 0
    return f"{seconds * 1000:,.{digits}f} ms"


# Scratch databases ----------------------------------------------------------------------------


def _admin(statement: str, attempts: int = 10):
    """Run a statement on the `postgres` database, retrying while PostgreSQL restarts."""
    import psycopg

    for attempt in range(attempts):
        try:
            with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as connection:
                connection.execute(statement)
                return
        except psycopg.OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(1)


@contextlib.contextmanager
def scratch_database(label: str):
    """A new, empty PostgreSQL database, dropped on leaving (even on failure); yields its URL."""
    name = f"ohp_bench_{label}_{os.getpid()}"
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{name}"')
    progress(f"scratch database {name} created")
    try:
        yield f"{POSTGRES}/{name}"
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        progress(f"scratch database {name} dropped")


def sql(database_url: str, statement: str, params=None, autocommit: bool = False):
    """Run one statement on the database; returns its rows (or None when it returns none)."""
    import psycopg

    with psycopg.connect(database_url, autocommit=autocommit) as connection:
        cursor = connection.execute(statement, params)
        return cursor.fetchall() if cursor.description else None


# The product ----------------------------------------------------------------------------------


def product_env(database_url: str, **overrides: str) -> dict:
    """The environment the product runs with in a benchmark: production, on this database."""
    env = {**os.environ}
    env.setdefault("OHPUNAISES_ENV", "production")
    env.setdefault("SECRET_KEY", SECRET_KEY)
    env.pop("OHPUNAISES_BIND", None)
    env.update(
        DATABASE_URL=database_url,
        OHPUNAISES_DEMO="0",
        OHPUNAISES_RATELIMIT_API=RATE_LIMIT,
        **overrides,
    )
    return env


def ohpunaises(env: dict, *args: str, quiet: bool = False) -> float:
    """Run the `ohpunaises` command; returns its wall time.

    Its output goes to ours, or, when `quiet`, is shown only if the command fails.
    """
    progress("ohpunaises " + " ".join(args))
    started = time.perf_counter()
    output = subprocess.PIPE if quiet else None
    run = subprocess.run(
        [str(BIN / "ohpunaises"), *args],
        cwd=ROOT,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT if quiet else None,
    )
    if run.returncode:
        if quiet:
            print(run.stdout.decode(errors="replace")[-3000:], file=sys.stderr)
        raise BenchError(f"ohpunaises {' '.join(args)} failed (exit {run.returncode})")
    return time.perf_counter() - started


@dataclasses.dataclass
class Account:
    email: str
    password: str
    token: str
    structure_id: int | None = None


def bench_account(database_url: str, role: str, commune: str = "69123") -> Account:
    """A new account of this role with a password and an API token.

    Agents and partner admins get a structure of their own, in `commune` (an INSEE code).
    """
    from ohpunaises.app import create_app
    from ohpunaises.auth import hash_password, issue_token
    from ohpunaises.extensions import db
    from ohpunaises.models import User
    from ohpunaises.territories import territory_by_code
    from ohpunaises.usecases.structures import new_structure

    app = create_app(product_env(database_url))
    with app.app_context():
        structure = None
        if role in ("agent", "partner_admin"):
            territory = territory_by_code(commune, "commune")
            if territory is None:
                raise BenchError(f"commune {commune} is not loaded")
            structure = new_structure(f"Bench {role}", "association", territory)
        email = f"bench-{role}-{os.urandom(4).hex()}@example.org"
        password = os.urandom(12).hex()
        user = User(
            email=email,
            role=role,
            display_name=f"bench {role}",
            structure=structure,
            password_hash=hash_password(password),
        )
        db.session.add(user)
        token, _ = issue_token(user, "bench", 30)
        db.session.commit()
        account = Account(email, password, token, structure.id if structure else None)
        db.session.remove()
        db.engine.dispose()
    return account


# Serving --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, seconds: float = 60, process: subprocess.Popen | None = None):
    """Wait until `url` answers 200; fail early when the serving process has died."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            if process is not None and process.poll() is not None:
                raise BenchError(f"the server exited (code {process.returncode})") from None
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@dataclasses.dataclass
class Server:
    base: str
    pid: int  # gunicorn's master
    workers: int
    threads: int

    def worker_pids(self) -> list[int]:
        return worker_pids(self.pid)

    @property
    def host_port(self) -> tuple[str, int]:
        parts = urllib.parse.urlsplit(self.base)
        return parts.hostname, parts.port


@contextlib.contextmanager
def gunicorn(env: dict, app: str = "wsgi:app", pythonpath: str | None = None):
    """gunicorn with the product's gunicorn.conf.py serving `app`; yields a Server.

    WEB_CONCURRENCY and OHPUNAISES_THREADS in `env` set the workers and threads, as in
    production. The server's log is shown when it fails to start.
    """
    port = free_port()
    env = {**env, "PORT": str(port)}
    env.pop("OHPUNAISES_BIND", None)
    command = [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py")]
    if pythonpath:
        command += ["--pythonpath", pythonpath]
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            [*command, app], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            base = f"http://127.0.0.1:{port}"
            try:
                wait_for(f"{base}/healthz", 90, server)
            except (OSError, BenchError) as error:
                log.seek(0)
                tail = log.read().decode(errors="replace")[-3000:]
                raise BenchError(f"gunicorn did not start ({error}):\n{tail}") from error
            yield Server(base, server.pid, *_gunicorn_settings(env))
        finally:
            server.terminate()
            try:
                server.wait(timeout=40)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _gunicorn_settings(env: dict) -> tuple[int, int]:
    """(workers, threads) as gunicorn.conf.py reads them from this environment."""
    workers = env.get("WEB_CONCURRENCY") or min(4, (os.cpu_count() or 1) * 2)
    return int(workers), int(env.get("OHPUNAISES_THREADS") or 2)


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def memory_kib(pid: int, field: str = "VmRSS") -> int:
    """A memory figure of /proc/PID/status (VmRSS, VmHWM…), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def reset_peak(pid: int):
    """Start VmHWM afresh at the process's present resident size (Linux's clear_refs)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class MemorySampler(threading.Thread):
    """Samples a process's VmRSS every 50 ms and keeps the highest, while running."""

    def __init__(self, pid: int, interval: float = 0.05):
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak_kib = pid, interval, 0
        self._stop_event = threading.Event()

    def run(self):
        while not self._stop_event.is_set():
            with contextlib.suppress(OSError, LookupError):
                self.peak_kib = max(self.peak_kib, memory_kib(self.pid))
            self._stop_event.wait(self.interval)

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        return self.peak_kib


# HTTP clients ---------------------------------------------------------------------------------


class Client:
    """One keep-alive HTTP/1.1 connection with a cookie jar just large enough for a session."""

    def __init__(self, base: str, timeout: float = 600):
        parts = urllib.parse.urlsplit(base)
        self.host, self.port, self.timeout = parts.hostname, parts.port, timeout
        self.cookies: dict[str, str] = {}
        self.connection = None

    def request(self, method: str, path: str, body: bytes | None = None, headers=None):
        """(status, headers, body, seconds); reconnects once when the server closed the line."""
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(
                    self.host, self.port, timeout=self.timeout
                )
            started = time.perf_counter()
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt == 2:
                    raise
                continue
            seconds = time.perf_counter() - started
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    key, _, rest = value.partition("=")
                    self.cookies[key.strip()] = rest.split(";", 1)[0]
            if response.will_close:
                self.close()
            return response.status, response, data, seconds
        raise AssertionError("unreachable")

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def sign_in(self, email: str, password: str):
        """Sign in through /connexion, as a browser does (CSRF token, session cookie)."""
        status, _, page, _ = self.request("GET", "/connexion")
        marker = b'name="csrf_token" value="'
        if status != 200 or marker not in page:
            raise BenchError(f"/connexion answered {status} without a CSRF token")
        token = page.split(marker, 1)[1].split(b'"', 1)[0].decode()
        form = urllib.parse.urlencode({"email": email, "password": password, "csrf_token": token})
        status, response, _, _ = self.request(
            "POST",
            "/connexion",
            form.encode(),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        location = response.getheader("Location") or ""
        if status != 302 or location.endswith("/connexion"):
            raise BenchError(f"sign-in as {email} refused ({status})")
