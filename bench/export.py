"""Benchmark: the CSV export served by gunicorn, against PostgreSQL's own COPY of the same rows.

Usage (PostGIS database already filled, e.g. `ohpunaises demo --reports 1000000`):

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/ohp_export \\
        .venv/bin/python bench/export.py [--view coordinator|evaluator]

Starts gunicorn (gunicorn.conf.py, one worker) on the database, fetches
/api/v1/exports/reports.csv with curl (or Python without it) while sampling the worker's
resident memory (VmRSS, and VmHWM at the end), then runs `psql \\copy` of the same SELECT
(compiled from the export's own query) to /dev/null as the baseline:
`COPY (SELECT …) TO STDOUT WITH (FORMAT csv, HEADER)`.
Targets: at least half of COPY's rows per second; the worker's peak memory under 200 MB.
"""

import argparse
import os
import shutil
import subprocess
import time
import urllib.request

from common import (
    MemorySampler,
    Outcome,
    bench_account,
    cpu_seconds,
    gunicorn,
    memory_kib,
    product_env,
    progress,
)

BENCH = "export"
TARGET_SPEED = 0.5  # share of COPY's rows per second
TARGET_MEMORY = 200e6  # bytes, the worker's peak


def export_sql(database_url: str, email: str) -> tuple[str, int]:
    """The export's own SELECT for this account, and the number of reports."""
    import sqlalchemy as sa
    from sqlalchemy.dialects import postgresql

    from ohpunaises import exports
    from ohpunaises.app import create_app
    from ohpunaises.extensions import db
    from ohpunaises.models import Report, User
    from ohpunaises.permissions import Actor
    from ohpunaises.usecases.reports import filtered_reports

    app = create_app(product_env(database_url))
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        actor = Actor.of(user)
        reports = filtered_reports(actor, {}, "export.rows")
        query = exports.report_rows_query(actor, reports, "postgresql")
        compiled = query.compile(
            dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
        )
        rows = db.session.scalar(sa.select(sa.func.count()).select_from(Report))
        db.session.remove()
        db.engine.dispose()
    return str(compiled), rows


def download(url: str, token: str) -> tuple[float, int]:
    """(seconds, bytes) of fetching `url` to nowhere: with curl, or in Python without it."""
    if shutil.which("curl") is None:
        return _download_in_python(url, token)
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


def _download_in_python(url: str, token: str) -> tuple[float, int]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    started, size = time.perf_counter(), 0
    with urllib.request.urlopen(request, timeout=3600) as response:
        while block := response.read(1 << 20):
            size += len(block)
    return time.perf_counter() - started, size


def copy_baseline(database_url: str, select: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [
            "psql",
            database_url,
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            f"\\copy ({select}) TO '/dev/null' WITH (FORMAT csv, HEADER)",
        ],
        check=True,
    )
    return time.perf_counter() - started


def run(database_url: str, view: str = "coordinator") -> list[Outcome]:
    """One export through HTTP and its COPY baseline; returns the summary's lines."""
    account = bench_account(database_url, view)
    select, rows = export_sql(database_url, account.email)
    env = product_env(database_url, WEB_CONCURRENCY="1")
    with gunicorn(env) as server:
        (worker,) = server.worker_pids()
        idle = memory_kib(worker)
        sampler = MemorySampler(worker)
        sampler.start()
        cpu_before, load_before = cpu_seconds(worker), os.getloadavg()[0]
        progress(f"{BENCH}: {view}, {rows:,} reports, fetching the CSV through gunicorn")
        seconds, size = download(f"{server.base}/api/v1/exports/reports.csv", account.token)
        peak = sampler.stop()
        high_water = memory_kib(worker, "VmHWM")
        cpu = cpu_seconds(worker) - cpu_before
        load_after = os.getloadavg()[0]
    progress(f"{BENCH}: {view}, psql \\copy of the same SELECT")
    baseline = copy_baseline(database_url, select)
    speed, copy_speed = rows / seconds, rows / baseline
    ratio = speed / copy_speed
    peak_bytes = max(peak, high_water) * 1024
    print(f"view: {view}; rows: {rows:,}; CSV: {size / 1e6:.1f} MB")
    print(
        f"export (gunicorn, 1 worker x {server.threads} threads): {seconds:.1f} s, "
        f"{speed:,.0f} rows/s"
    )
    print(f"worker CPU: {cpu:.1f} s, {rows / max(cpu, 1e-9):,.0f} rows per CPU-second")
    print(
        f"load average (1 min) before / after: {load_before:.1f} / {load_after:.1f}, "
        f"{os.cpu_count()} CPUs"
    )
    print(f"psql \\copy of the same SELECT: {baseline:.1f} s, {copy_speed:,.0f} rows/s")
    print(f"export / COPY speed: {ratio:.0%} (target >= {TARGET_SPEED:.0%})")
    print(
        f"worker RSS: idle {idle * 1024 / 1e6:.0f} MB, peak during export "
        f"{peak * 1024 / 1e6:.0f} MB (VmHWM {high_water * 1024 / 1e6:.0f} MB; "
        f"target < {TARGET_MEMORY / 1e6:.0f} MB)"
    )
    return [
        Outcome(
            BENCH,
            f"{view} CSV, rows/s ({rows:,} rows)",
            f"{speed:,.0f}",
            f"{copy_speed:,.0f} (COPY)",
            ratio,
            f"ratio >= {TARGET_SPEED}",
            ratio >= TARGET_SPEED,
        ),
        Outcome(
            BENCH,
            f"{view} CSV, worker peak memory",
            f"{peak_bytes / 1e6:.0f} MB",
            f"{idle * 1024 / 1e6:.0f} MB idle",
            target=f"< {TARGET_MEMORY / 1e6:.0f} MB",
            met=peak_bytes < TARGET_MEMORY,
        ),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--view", choices=["coordinator", "evaluator"], default="coordinator")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    args = parser.parse_args()
    if not args.database_url:
        parser.error("--database-url or DATABASE_URL is required")
    run(args.database_url, args.view)


if __name__ == "__main__":
    main()
