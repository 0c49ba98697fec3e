"""Ingestion: concurrent clients creating reports, the product against Flask + one INSERT.

    .venv/bin/python bench/ingestion.py [--clients 8] [--requests 5000] [--warmup 500]
                                        [--rounds 5]

On a scratch PostGIS database (`ohpunaises init`, no demo data), serves side by side the bare
stack (`bench/baseline_app.py`: Flask, one INSERT of the JSON body into a plain table) and
the product (`POST /api/v1/reports`: bearer token of an agent, validation, placement in the
territories, report, actions and history stored), both with gunicorn.conf.py's workers and
threads. The same client code drives both with the same JSON bodies: N threads, each with
its own keep-alive connection, send their share of the requests back to back. Each report
has its own UUID and a point drawn inside one of the 58 communes. After a warm-up that is
not counted, the measured requests go in rounds that alternate between the two servers, so
that a change in the machine's load weighs on both alike. Afterwards every product response
must have been a 201 and every acknowledged report must be in the database.
"""

import argparse
import collections
import contextlib
import dataclasses
import datetime as dt
import json
import os
import threading
import time
import uuid
from pathlib import Path

from common import (
    Client,
    Outcome,
    bench_account,
    cpu_seconds,
    gunicorn,
    ms,
    ohpunaises,
    percentile,
    product_env,
    progress,
    scratch_database,
    sql,
)

BENCH = "ingestion"
TARGET = 0.5  # the product's requests/s, as a share of the baseline's
HOUSING = ("social", "private_rented", "owner_occupied", "emergency_accommodation")
LEVELS = ("suspected", "low", "moderate", "severe")
ACTIONS = (
    ["diagnosis"],
    ["diagnosis", "vacuuming", "awareness"],
    ["chemical_treatment", "heat_treatment", "mattress_covers"],
    ["canine_detection", "social_support"],
)


@dataclasses.dataclass
class Run:
    """What one server did for one round of requests."""

    requests: int
    seconds: float
    latencies: list[float]
    statuses: collections.Counter
    cpu: float  # seconds of CPU used by the server's workers

    @property
    def cpu_per_request(self) -> float:
        return self.cpu / self.requests

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def p50(self) -> float:
        return percentile(self.latencies, 0.50)

    @property
    def p95(self) -> float:
        return percentile(self.latencies, 0.95)


def commune_points(database_url: str, per_commune: int) -> list[tuple[float, float]]:
    """Points drawn inside each commune loaded, interleaved so that requests go round them."""
    rows = sql(
        database_url,
        "SELECT code, ST_X(p.geom), ST_Y(p.geom) FROM territories, "
        "ST_Dump(ST_GeneratePoints(territories.geom, %s, 1)) AS p "
        "WHERE level = 'commune' ORDER BY code, p.path",
        (per_commune,),
    )
    by_commune = collections.defaultdict(list)
    for code, lon, lat in rows:
        by_commune[code].append((lon, lat))
    return [point for points in zip(*by_commune.values(), strict=False) for point in points]


def report_bodies(count: int, points: list[tuple[float, float]], offset: int = 0) -> list[bytes]:
    """`count` reports as the API takes them, each with its own UUID and point."""
    today = dt.date.today()
    bodies = []
    for index in range(offset, offset + count):
        lon, lat = points[index % len(points)]
        report = {
            "id": str(uuid.uuid4()),
            "intervention_date": (today - dt.timedelta(days=index % 365)).isoformat(),
            "location": {"type": "Point", "coordinates": [lon, lat]},
            "housing": HOUSING[index % len(HOUSING)],
            "building_type": "collective",
            "household_size": 1 + index % 5,
            "vulnerabilities": ["young_children"] if index % 3 == 0 else [],
            "infestation_level": LEVELS[index % len(LEVELS)],
            "confirmation": "visual",
            "actions": ACTIONS[index % len(ACTIONS)],
            "cost_total": 350.0 + index % 400,
            "cost_payer": "landlord",
        }
        bodies.append(json.dumps(report).encode())
    return bodies


def drive(server, bodies: list[bytes], clients: int, token: str) -> Run:
    """Send every body once, `clients` connections at a time, each back to back."""
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "Authorization": f"Bearer {token}",
    }
    shares = [bodies[start::clients] for start in range(clients)]
    latencies, statuses, errors = [], collections.Counter(), []
    lock = threading.Lock()
    ready = threading.Barrier(clients + 1)

    def client(share):
        connection = Client(server.base, timeout=120)
        mine, codes = [], collections.Counter()
        try:
            ready.wait()
            for body in share:
                status, _, _, seconds = connection.request("POST", "/api/v1/reports", body, headers)
                mine.append(seconds)
                codes[status] += 1
        except Exception as error:  # reported by the main thread
            errors.append(error)
        finally:
            connection.close()
            with lock:
                latencies.extend(mine)
                statuses.update(codes)

    workers = server.worker_pids()
    cpu_before = workers_cpu(workers)
    threads = [threading.Thread(target=client, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    ready.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    cpu = workers_cpu(workers) - cpu_before
    if errors:
        raise errors[0]
    return Run(len(bodies), seconds, latencies, statuses, cpu)


def workers_cpu(pids: list[int]) -> float:
    """CPU seconds of these processes so far (a worker that has gone counts for nothing)."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            total += cpu_seconds(pid)
    return total


def merged(runs: list[Run]) -> Run:
    """Several rounds as one: every request, the time they took together."""
    statuses = collections.Counter()
    for one in runs:
        statuses.update(one.statuses)
    return Run(
        sum(one.requests for one in runs),
        sum(one.seconds for one in runs),
        [latency for one in runs for latency in one.latencies],
        statuses,
        sum(one.cpu for one in runs),
    )


def run(
    clients: int = 8, requests: int = 5000, warmup: int = 500, rounds: int = 5
) -> list[Outcome]:
    """The benchmark on its own scratch database; returns the summary's lines."""
    import baseline_app

    with scratch_database(BENCH) as url:
        env = product_env(url)
        ohpunaises(env, "init", quiet=True)
        agent = bench_account(url, "agent")
        points = commune_points(url, per_commune=20)
        sql(url, baseline_app.CREATE_TABLE, autocommit=True)
        communes = len(points) // 20
        progress(f"{BENCH}: {len(points)} points drawn in {communes} communes")
        warm = report_bodies(warmup, points)
        measured = report_bodies(requests, points, warmup)
        slices = [measured[index::rounds] for index in range(rounds)]
        runs = {"baseline": [], "product": []}
        with contextlib.ExitStack() as stack:
            servers = {
                "baseline": stack.enter_context(
                    gunicorn(env, "baseline_app:app", str(Path(__file__).parent))
                ),
                "product": stack.enter_context(gunicorn(env)),
            }
            server = servers["product"]
            progress(
                f"{BENCH}: both served by gunicorn, {server.workers} workers x "
                f"{server.threads} threads each; {clients} clients; {rounds} rounds each, "
                "alternating"
            )
            warm_runs = {}
            for name, server in servers.items():
                warm_runs[name] = drive(server, warm, clients, agent.token)
                report_round(name, "warm-up", warm_runs[name])
            created = warm_runs["product"].statuses[201]
            for number, bodies in enumerate(slices, start=1):
                order = ("baseline", "product") if number % 2 else ("product", "baseline")
                for name in order:
                    one = drive(servers[name], bodies, clients, agent.token)
                    report_round(name, f"round {number}", one)
                    runs[name].append(one)
        (stored,) = sql(url, "SELECT count(*), count(DISTINCT id) FROM reports")
        (baseline_rows,) = sql(url, f"SELECT count(*) FROM {baseline_app.TABLE}")[0]
        (placed,) = sql(
            url,
            "SELECT count(*) FROM reports r JOIN territories t ON t.id = r.commune_id "
            "WHERE ST_Intersects(t.geom, r.location)",
        )[0]
    baseline, product = merged(runs["baseline"]), merged(runs["product"])
    created += product.statuses[201]
    sent = warmup + requests
    return outcomes(baseline, product, sent, created, stored, baseline_rows, placed)


def report_round(name: str, label: str, one: Run):
    progress(
        f"{BENCH}: {name}, {label}: {one.requests} requests in {one.seconds:.1f} s, "
        f"{one.rps:,.0f}/s, p50 {ms(one.p50)}, p95 {ms(one.p95)}, statuses {dict(one.statuses)}, "
        f"worker CPU {ms(one.cpu_per_request)}/request, load {os.getloadavg()[0]:.1f}"
    )


def outcomes(baseline: Run, product: Run, sent, created, stored, baseline_rows, placed):
    all_created = created == sent
    every_stored = stored[0] == stored[1] == sent and placed == sent
    print(
        f"product: every response 201: {'yes' if all_created else 'NO'} "
        f"({created:,} of {sent:,}, warm-up included); reports stored: {stored[0]:,}, "
        f"{stored[1]:,} distinct, {placed:,} inside their commune; "
        f"baseline rows {baseline_rows:,}"
    )
    ratio = product.rps / baseline.rps
    print(
        f"requests/s: product {product.rps:,.0f}, baseline {baseline.rps:,.0f}, "
        f"ratio {ratio:.2f} (target >= {TARGET})"
    )
    for name, label in (("p50", "p50"), ("p95", "p95"), ("cpu_per_request", "worker CPU")):
        print(
            f"{label}: product {ms(getattr(product, name))}, baseline {ms(getattr(baseline, name))}"
        )
    return [
        Outcome(
            BENCH,
            "requests/s",
            f"{product.rps:,.0f}",
            f"{baseline.rps:,.0f}",
            ratio,
            f"ratio >= {TARGET}",
            ratio >= TARGET,
        ),
        Outcome(
            BENCH,
            "latency p50",
            ms(product.p50),
            ms(baseline.p50),
            product.p50 / baseline.p50,
        ),
        Outcome(
            BENCH,
            "latency p95",
            ms(product.p95),
            ms(baseline.p95),
            product.p95 / baseline.p95,
        ),
        Outcome(
            BENCH,
            "gunicorn workers' CPU per request",
            ms(product.cpu_per_request),
            ms(baseline.cpu_per_request),
            product.cpu_per_request / baseline.cpu_per_request,
        ),
        Outcome(
            BENCH,
            "every response 201, every acknowledged report stored once",
            f"{created:,} x 201, {stored[0]:,} stored",
            f"{baseline_rows:,} rows",
            target="all",
            met=all_created and every_stored,
        ),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8, help="concurrent connections")
    parser.add_argument("--requests", type=int, default=5000, help="measured, per server")
    parser.add_argument("--warmup", type=int, default=500, help="sent first, not measured")
    parser.add_argument("--rounds", type=int, default=5, help="alternating, per server")
    args = parser.parse_args()
    run(args.clients, args.requests, args.warmup, args.rounds)


if __name__ == "__main__":
    main()
