"""Every benchmark against its baseline, on scratch PostGIS databases: what `make bench` runs.

    .venv/bin/python bench/run.py [--only ingestion,placement,territorial,export,national,
                                  page-weight,imports] [--small 10000] [--large 1000000]
                                  [--import-rows 100000]

1. ingestion: concurrent report creation through the API against Flask + one INSERT;
2. placement: a point among ~35,000 communes of mainland France, against the bare lookup;
3. territorial: `/carte` and `/api/v1/indicators` at `--small` reports (`ohpunaises init`,
   `ohpunaises demo`), then again once the same database has grown to `--large`;
4. export: the CSV export of the `--large` database, coordinator then evaluator, against
   COPY of the same SELECT;
5. national: `/carte`'s first view in Chromium, the indicators by commune, the protection
   of every count and a worker's memory, over ~35,000 communes of mainland France and
   `--large` reports, against the same over Lyon's 58 communes (the `--large` database);
6. page-weight: the phone form's first visit, against its 150 KB budget;
7. imports: a partner's CSV of `--import-rows` rows (and one of a tenth, an XLSX of a fifth)
   checked and imported through `ohpunaises import reports`, against COPY of the same rows.

Each benchmark creates its databases (PostgreSQL at OHPUNAISES_BENCH_POSTGRES, default
postgresql://postgres@127.0.0.1:5432) and drops them, even on failure. The summary table at
the end gives each figure, its baseline, the ratio and whether the target is met. The exit
status is non-zero only when a benchmark could not run, not when a target is missed.
"""

import argparse
import os
import platform
import signal
import sys
import time
import traceback

import common
import export
import imports
import ingestion
import national
import page_weight
import placement
import territorial
from common import Outcome, ohpunaises, product_env, progress, scratch_database, sql

BENCHMARKS = (
    "ingestion",
    "placement",
    "territorial",
    "export",
    "national",
    "page-weight",
    "imports",
)


def machine(url_base: str) -> str:
    """Cores, Python, PostgreSQL and PostGIS, load average: the line the figures go with."""
    rows = sql(f"{url_base}/postgres", "SHOW server_version")
    postgis = sql(
        f"{url_base}/postgres",
        "SELECT default_version FROM pg_available_extensions WHERE name = 'postgis'",
    )
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return (
        f"{os.cpu_count()} cores, Python {platform.python_version()}, PostgreSQL "
        f"{rows[0][0].split()[0]} + PostGIS {postgis[0][0] if postgis else '?'}, "
        f"load average {load}"
    )


def demo(env: dict, reports: int, seed: int):
    seconds = ohpunaises(env, "demo", "--reports", str(reports), "--seed", str(seed))
    progress(f"demo: {reports:,} reports added in {seconds:.0f} s")
    vacuum(env["DATABASE_URL"])


def vacuum(url: str):
    started = time.perf_counter()
    sql(url, "VACUUM ANALYZE", autocommit=True)
    progress(f"VACUUM ANALYZE in {time.perf_counter() - started:.0f} s")


def reports_benchmarks(args, chosen: set[str], outcomes: list[Outcome]):
    """Territorial (small, then grown to large), export (large) and Lyon's side of the
    national benchmark (large), on one database; then France's side on its own."""
    with scratch_database("reports") as url:
        env = product_env(url)
        ohpunaises(env, "init", quiet=True)
        if "territorial" in chosen:
            demo(env, args.small, seed=1)
            small = territorial.measure(url, args.repeat, args.roles)
            demo(env, args.large - args.small, seed=2)
            large = territorial.measure(url, args.repeat, args.roles)
            print(territorial.table([small, large]), flush=True)
            outcomes += territorial.compare(small, large)
        else:
            demo(env, args.large, seed=1)
        if "export" in chosen:
            for view in ("coordinator", "evaluator"):
                outcomes += export.run(url, view)
        lyon = national.measure(url, "Lyon", args.repeat) if "national" in chosen else None
    if lyon is not None:
        outcomes += national.run(lyon, args.communes, args.large, args.repeat)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only", default=",".join(BENCHMARKS), help="comma-separated: " + ", ".join(BENCHMARKS)
    )
    parser.add_argument("--small", type=int, default=10_000, help="reports, first measure")
    parser.add_argument("--large", type=int, default=1_000_000, help="reports, second measure")
    parser.add_argument("--repeat", type=int, default=5, help="warm requests per page")
    parser.add_argument("--roles", default="institution", help="/carte viewers, comma-separated")
    parser.add_argument("--clients", type=int, default=8, help="ingestion: connections")
    parser.add_argument("--requests", type=int, default=5000, help="ingestion: per server")
    parser.add_argument("--communes", type=int, default=35_000, help="placement, national")
    parser.add_argument("--points", type=int, default=5000, help="placement")
    parser.add_argument("--import-rows", type=int, default=100_000, help="imports: the large CSV")
    args = parser.parse_args()
    chosen = {name.strip() for name in args.only.split(",") if name.strip()}
    if chosen - set(BENCHMARKS):
        parser.error(f"unknown benchmark(s): {', '.join(sorted(chosen - set(BENCHMARKS)))}")
    if not 0 < args.small < args.large:
        parser.error("--small must be positive and below --large")
    if args.import_rows < 10:
        parser.error("--import-rows must be at least 10")
    args.roles = tuple(role.strip() for role in args.roles.split(",") if role.strip())
    # A terminated run still drops its databases and stops its servers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    described = machine(common.POSTGRES)
    progress(f"machine: {described}")
    outcomes: list[Outcome] = []
    failed = []
    steps = [
        ("ingestion", lambda: ingestion.run(args.clients, args.requests)),
        ("placement", lambda: placement.run(args.communes, args.points)),
        ("territorial+export+national", lambda: reports_benchmarks(args, chosen, outcomes)),
        ("page-weight", page_weight.run),
        (
            "imports",
            lambda: imports.run(args.import_rows, args.import_rows // 10, args.import_rows // 5),
        ),
    ]
    for name, step in steps:
        if not chosen & set(name.split("+")):
            continue
        progress(f"=== {name} ===")
        try:
            outcomes += step() or []
        except Exception:
            traceback.print_exc()
            failed.append(name)
            progress(f"{name}: FAILED")
    print()
    print(f"Summary ({described} at the start):")
    print(common.summary_table(outcomes))
    missed = [o for o in outcomes if o.met is False]
    print(f"{len(outcomes)} figures, {len(missed)} target(s) missed, {len(failed)} failure(s).")
    if failed:
        print(f"Could not run: {', '.join(failed)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
