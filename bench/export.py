"""Benchmark: the CSV export served by gunicorn, against PostgreSQL's own COPY of the same rows.

Usage (PostGIS database already filled, e.g. `ohpunaises demo --reports 1000000`):

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/ohp_export SECRET_KEY=… \\
        .venv/bin/python bench/export.py [--view coordinator|evaluator]

Starts gunicorn with one worker, fetches /api/v1/exports/reports.csv with curl while sampling
the worker's resident memory (VmRSS, and VmHWM at the end), then runs `psql \\copy` of the same
SELECT (compiled from the export's own query) to /dev/null as the baseline.
"""

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ohpunaises import exports  # noqa: E402
from ohpunaises.app import create_app  # noqa: E402
from ohpunaises.auth import hash_password, issue_token  # noqa: E402
from ohpunaises.extensions import db  # noqa: E402
from ohpunaises.models import Report, User  # noqa: E402


def token_and_sql(view: str) -> tuple[str, str, int]:
    """A bearer token for a bench account of that role, the export's SQL, the row count."""
    app = create_app()
    with app.app_context():
        email = f"bench-{view}@example.org"
        user = db.session.scalar(sa.select(User).where(User.email == email))
        if user is None:
            user = User(email=email, role=view, password_hash=hash_password(os.urandom(8).hex()))
            db.session.add(user)
        token, _ = issue_token(user, "bench", 1)
        db.session.commit()
        query = exports.report_rows_query(exports.Viewer.of(user), {}, "postgresql")
        sql = str(
            query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
        )
        rows = db.session.scalar(sa.select(sa.func.count()).select_from(Report))
        db.engine.dispose()
    return token, sql, rows


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def worker_pid(master: int) -> int:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return int(children[0])


def memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


class Sampler(threading.Thread):
    """Samples a process's VmRSS every 50 ms; keeps the highest."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0, True

    def run(self):
        while self.running:
            self.peak = max(self.peak, memory_kib(self.pid, "VmRSS"))
            time.sleep(0.05)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def curl(url: str, token: str) -> tuple[float, int]:
    started = time.perf_counter()
    run = subprocess.run(
        [
            "curl",
            "-sS",
            "-f",
            "-o",
            "/dev/null",
            "-w",
            "%{size_download}",
            "-H",
            f"Authorization: Bearer {token}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return time.perf_counter() - started, int(run.stdout)


def copy_baseline(sql: str) -> float:
    url = os.environ["DATABASE_URL"]
    started = time.perf_counter()
    subprocess.run(
        ["psql", url, "-q", "-c", f"\\copy ({sql}) TO '/dev/null' WITH (FORMAT csv, HEADER)"],
        check=True,
    )
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--view", choices=["coordinator", "evaluator"], default="coordinator")
    args = parser.parse_args()
    token, sql, rows = token_and_sql(args.view)
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "OHPUNAISES_RATELIMIT_API": "100000 per minute",
    }
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/healthz")
        worker = worker_pid(server.pid)
        idle = memory_kib(worker, "VmRSS")
        sampler = Sampler(worker)
        sampler.start()
        cpu_before, load_before = cpu_seconds(worker), os.getloadavg()[0]
        seconds, size = curl(f"{base}/api/v1/exports/reports.csv", token)
        sampler.running = False
        sampler.join()
        high_water = memory_kib(worker, "VmHWM")
        cpu = cpu_seconds(worker) - cpu_before
        load_after = os.getloadavg()[0]
    finally:
        server.terminate()
        server.wait(timeout=30)
    baseline = copy_baseline(sql)
    print(f"view: {args.view}; rows: {rows:,}; CSV: {size / 1e6:.1f} MB")
    print(f"export (gunicorn, 1 worker): {seconds:.1f} s, {rows / seconds:,.0f} rows/s")
    print(f"worker CPU: {cpu:.1f} s, {rows / cpu:,.0f} rows per CPU-second")
    print(
        f"load average (1 min) before / after: {load_before:.1f} / {load_after:.1f}, "
        f"{os.cpu_count()} CPUs"
    )
    print(f"psql \\copy of the same SELECT: {baseline:.1f} s, {rows / baseline:,.0f} rows/s")
    print(f"export / COPY speed: {baseline / seconds:.0%}")
    print(
        f"worker RSS: idle {idle / 1024:.0f} MiB, peak during export {sampler.peak / 1024:.0f} "
        f"MiB (VmHWM {high_water / 1024:.0f} MiB)"
    )


if __name__ == "__main__":
    main()
