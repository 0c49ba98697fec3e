"""Exactly once under failure (DESIGN §7): many clients send reports under their own UUIDs, give
up early at random and retry, while a gunicorn worker is killed and PostgreSQL restarts.

Every report a client saw acknowledged must be stored once, with what was sent, and the
service must answer again within seconds of the database's return. Small by default;
`OHPUNAISES_SOAK=full` (`make soak`) runs it at full size. `OHPUNAISES_SOAK_SEED` replays
the clients' random choices of a previous run.
"""

import contextlib
import datetime as dt
import itertools
import os
import random
import threading
import time
import uuid
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from ohpunaises import bootstrap
from ohpunaises.app import create_app
from ohpunaises.auth import issue_token
from ohpunaises.extensions import db
from ohpunaises.models import Report, ReportStatusChange

from .conftest import DATABASES, environ_for, make_structure, make_user
from .faults import Attempt, call, private_postgres, served, wait_until_answered

FULL = os.environ.get("OHPUNAISES_SOAK") == "full"
CLIENTS, REPORTS_PER_CLIENT = (24, 300) if FULL else (6, 30)
WORKERS, THREADS = 3, 2
SERVER_ENV = {"OHPUNAISES_THREADS": str(THREADS), "OHPUNAISES_RATELIMIT_API": "1000000 per minute"}
CUT_SHARE = 0.3  # attempts sent with a timeout short enough to give up before the answer
CUT_TIMEOUT = (0.002, 0.06)  # seconds
TIMEOUT = 10.0  # seconds, for the other attempts
DOWNTIME = 2.0  # seconds between PostgreSQL's stop and its start
RECOVERY_LIMIT = 10.0  # seconds after the database's return
DELIVERY_LIMIT = 120.0  # seconds a client keeps retrying one report
LOAD_LIMIT = 900.0 if FULL else 120.0
HOUSING = ("social", "private_rented", "owner_occupied", "emergency_accommodation", "other")


def report_payload(rng: random.Random, client: int, number: int) -> dict:
    """A valid report with its own UUID, at a point of central Lyon."""
    return {
        "id": str(uuid.uuid4()),
        "intervention_date": (dt.date.today() - dt.timedelta(days=rng.randrange(300))).isoformat(),
        "location": {
            "type": "Point",
            "coordinates": [
                round(4.835 + rng.uniform(-0.02, 0.02), 6),
                round(45.760 + rng.uniform(-0.015, 0.015), 6),
            ],
        },
        "housing": rng.choice(HOUSING),
        "infestation_level": "moderate",
        "actions": ["diagnosis"],
        "household_size": rng.randint(1, 8),
        "notes": f"client {client}, report {number}",
    }


def sent_content(report: dict) -> tuple:
    return (
        report["notes"],
        report["household_size"],
        report["housing"],
        *report["location"]["coordinates"],
    )


# The clients ------------------------------------------------------------------------------------


class Fleet:
    """Clients in threads; each sends its own reports, one by one, until each is acknowledged.

    An attempt is cut by its client (a short timeout) at random; 5xx, resets, refusals and
    timeouts are retried with the same UUID and body, after a growing, jittered pause.
    """

    def __init__(self, port: int, tokens: list[str], reports_per_client: int, seed: int):
        self.port, self.seed = port, seed
        rngs = [random.Random(f"{seed}-{index}") for index in range(len(tokens))]
        self.clients = [
            (
                f"client-{i}",
                token,
                rng,
                [report_payload(rng, i, n) for n in range(reports_per_client)],
            )
            for i, (token, rng) in enumerate(zip(tokens, rngs, strict=True))
        ]
        self.sent = {r["id"]: r for *_, reports in self.clients for r in reports}
        self.attempts: list[Attempt] = []
        self.acknowledged: dict[str, tuple[int, float]] = {}  # id: (status, when)
        self.problems: list[str] = []
        self.stop = threading.Event()
        self.started_at = self.seconds = 0.0
        self.threads = [
            threading.Thread(target=self.run_client, args=client, name=client[0], daemon=True)
            for client in self.clients
        ]

    @contextlib.contextmanager
    def running(self):
        """The clients run inside the block; they are stopped and joined when it ends."""
        self.started_at = time.monotonic()
        for thread in self.threads:
            thread.start()
        try:
            yield self
        finally:
            self.stop.set()
            for thread in self.threads:
                thread.join(timeout=TIMEOUT + 5)

    def run_client(self, name, token, rng, reports):
        for report in reports:
            if self.stop.is_set() or not self.deliver(name, token, rng, report):
                return

    def deliver(self, name, token, rng, report) -> bool:
        """Send until a 2xx; False when the report cannot be delivered."""
        give_up_at = time.monotonic() + DELIVERY_LIMIT
        for retry in itertools.count():
            cut = rng.random() < CUT_SHARE
            timeout = rng.uniform(*CUT_TIMEOUT) if cut else TIMEOUT
            started = time.monotonic()
            outcome, status, body = call(
                self.port, "POST", "/api/v1/reports", report, token, timeout
            )
            outcome = "cut" if cut and outcome == "timeout" else outcome
            ended = time.monotonic()
            self.attempts.append(Attempt(name, started, ended, outcome, status))
            if outcome == "acknowledged":
                return self.check_answer(report, status, body, ended)
            if outcome == "rejected":
                self.problems.append(f"{report['id']}: {status} {body}")
                return False
            if ended > give_up_at or self.stop.wait(backoff(retry, rng)):
                self.problems.append(f"{report['id']}: not acknowledged, last {outcome}")
                return False

    def check_answer(self, report, status, body, when) -> bool:
        self.acknowledged[report["id"]] = (status, when)
        answered = body and (body.get("id"), body.get("notes"), body.get("household_size"))
        if answered != (report["id"], report["notes"], report["household_size"]):
            self.problems.append(f"{report['id']}: acknowledged with {body}")
            return False
        return True

    def progress(self) -> float:
        return len(self.acknowledged) / len(self.sent)

    def wait_for_progress(self, share: float):
        deadline = time.monotonic() + LOAD_LIMIT
        while self.progress() < share:
            if self.problems or time.monotonic() > deadline:
                raise AssertionError(f"load stalled at {self.progress():.0%}: {self.problems[:5]}")
            time.sleep(0.02)

    def finish(self):
        deadline = time.monotonic() + LOAD_LIMIT
        for thread in self.threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in self.threads), "clients still running at the limit"
        self.seconds = time.monotonic() - self.started_at

    def count(self, outcome: str) -> int:
        return sum(1 for a in self.attempts if a.outcome == outcome)

    def replays(self) -> int:
        """Reports acknowledged by a 200: an earlier attempt was stored, its answer lost."""
        return sum(1 for status, _ in self.acknowledged.values() if status == 200)


def backoff(retry: int, rng: random.Random) -> float:
    return min(1.0, 0.02 * 2**retry) * rng.uniform(0.5, 1.0)


# The database -----------------------------------------------------------------------------------


def prepare_database(url: str, clients: int) -> list[str]:
    """Schema, territories, one structure, and an agent with a token per client."""
    app = create_app(environ_for(url))
    try:
        with app.app_context():
            bootstrap.upgrade_schema()
            bootstrap.load_default_territories()
            bootstrap.ensure_default_deployment()
            structure = make_structure("Structure de fiabilité", "69123")
            agents = [
                make_user(f"agent-{i}@example.org", "agent", structure) for i in range(clients)
            ]
            tokens = [issue_token(agent)[0] for agent in agents]
            db.session.commit()
            db.session.remove()
    finally:
        with app.app_context():
            db.engine.dispose()
    return tokens


@dataclass
class Stored:
    content: dict[str, tuple]  # id: (notes, household_size, housing, lon, lat)
    steps: dict[str, int]  # id: number of status changes
    rows: int


def stored_reports(url: str) -> Stored:
    app = create_app(environ_for(url))
    try:
        with app.app_context():
            rows = db.session.execute(
                sa.select(
                    Report.id,
                    Report.notes,
                    Report.household_size,
                    Report.housing,
                    sa.func.ST_X(Report.location),
                    sa.func.ST_Y(Report.location),
                )
            ).all()
            steps = db.session.execute(
                sa.select(ReportStatusChange.report_id, sa.func.count()).group_by(
                    ReportStatusChange.report_id
                )
            ).all()
            db.session.remove()
    finally:
        with app.app_context():
            db.engine.dispose()
    return Stored(
        content={str(row[0]): tuple(row[1:]) for row in rows},
        steps={str(report_id): count for report_id, count in steps},
        rows=len(rows),
    )


# Faults -----------------------------------------------------------------------------------------


@dataclass
class WorkerKill:
    victim: int
    successor: int
    at: float
    replaced_at: float

    def window(self) -> tuple[float, float]:
        # Requests in flight on the victim fail when it dies; the others are not affected.
        return self.at, self.replaced_at + 1.0


def kill_a_worker(server) -> WorkerKill:
    at = time.monotonic()
    victim, successor = server.kill_a_worker()
    return WorkerKill(victim, successor, at, time.monotonic())


@dataclass
class DatabaseRestart:
    stopping_at: float
    back_at: float
    healthz_at: float
    post_at: float

    @property
    def healthz_recovery(self) -> float:
        return self.healthz_at - self.back_at

    @property
    def post_recovery(self) -> float:
        return self.post_at - self.back_at

    def window(self) -> tuple[float, float]:
        return self.stopping_at, self.post_at


def restart_database(cluster, server, token: str, probe: dict) -> DatabaseRestart:
    """Stop PostgreSQL, start it again, then time the first /healthz 200 and the first POST 2xx."""
    stopping_at = time.monotonic()
    cluster.stop("fast")
    time.sleep(DOWNTIME)
    cluster.start()
    back_at = time.monotonic()
    limit = 3 * RECOVERY_LIMIT
    healthz_at = wait_until_answered(server.port, "/healthz", limit)
    post_at = wait_until_answered(
        server.port, "/api/v1/reports", limit, token=token, body=probe, method="POST"
    )
    return DatabaseRestart(stopping_at, back_at, healthz_at, post_at)


@contextlib.contextmanager
def logs_shown_on_failure(*sources):
    try:
        yield
    except BaseException:
        for source in sources:
            print(f"--- last lines of {source.log}:\n{source.log_tail()}")
        raise


# Checks -----------------------------------------------------------------------------------------


def unexplained_failures(fleet: Fleet, *windows) -> list[Attempt]:
    """Failed attempts that no fault explains."""
    return [a for a in fleet.attempts if a.failed and not any(a.overlaps(*w) for w in windows)]


def assert_stored_exactly_once(fleet: Fleet, stored: Stored, extra: dict[str, dict]):
    sent = {**fleet.sent, **extra}
    assert not fleet.problems, fleet.problems[:10]
    assert set(fleet.acknowledged) == set(fleet.sent), "some reports were never acknowledged"
    assert stored.rows == len(stored.content) == len(sent), "reports stored more or less than once"
    assert set(stored.content) == set(sent)
    assert stored.steps == dict.fromkeys(sent, 1), "a report's creation was recorded twice"
    differing = [i for i, r in sent.items() if stored.content[i] != sent_content(r)]
    assert not differing, [(sent[i], stored.content[i]) for i in differing[:3]]


def summary(kind: str, fleet: Fleet, stored: Stored, seconds: float) -> list[str]:
    counts = ", ".join(
        f"{outcome} {fleet.count(outcome)}"
        for outcome in ("cut", "server_error", "reset", "refused", "timeout", "rejected")
    )
    return [
        f"reliability on {kind}: {len(fleet.clients)} clients × {REPORTS_PER_CLIENT} reports, "
        f"{WORKERS} workers × {THREADS} threads, seed {fleet.seed}: "
        f"{stored.rows} reports stored once; load {fleet.seconds:.1f} s "
        f"({len(fleet.sent) / fleet.seconds:.0f} reports/s), whole test {seconds:.1f} s",
        f"  {len(fleet.attempts)} attempts: acknowledged {fleet.count('acknowledged')} "
        f"(200 replays of a stored report: {fleet.replays()}); {counts}",
    ]


def new_seed() -> int:
    return int(os.environ.get("OHPUNAISES_SOAK_SEED") or random.randrange(2**32))


# The tests --------------------------------------------------------------------------------------


postgis_only = pytest.mark.skipif("postgis" not in DATABASES, reason="PostGIS not asked for")


@pytest.fixture(scope="module")
def cluster():
    """A PostgreSQL of this module's own: the shared one is never restarted."""
    with private_postgres() as cluster:
        yield cluster


@postgis_only
def test_every_acknowledged_report_is_stored_once_across_a_database_restart_and_a_killed_worker(
    cluster, tmp_path
):
    started = time.monotonic()
    probe = report_payload(random.Random(), CLIENTS, 0)
    url = cluster.create_database("under_load")
    tokens = prepare_database(url, CLIENTS)
    with (
        served(url, tmp_path / "gunicorn.log", WORKERS, **SERVER_ENV) as server,
        logs_shown_on_failure(server, cluster),
    ):
        fleet = Fleet(server.port, tokens, REPORTS_PER_CLIENT, new_seed())
        with fleet.running():
            fleet.wait_for_progress(0.2)
            kill = kill_a_worker(server)
            fleet.wait_for_progress(0.45)
            restart = restart_database(cluster, server, tokens[0], probe)
            fleet.finish()
        stored = stored_reports(url)
    seconds = time.monotonic() - started

    during_restart = [a for a in fleet.attempts if a.failed and a.overlaps(*restart.window())]
    after_recovery = [a for a in fleet.attempts if a.started > restart.post_at]
    acknowledged_after = [t for _, t in fleet.acknowledged.values() if t > restart.post_at]
    print(
        "\n".join(
            [
                *summary("PostGIS", fleet, stored, seconds),
                f"  worker {kill.victim} killed, replaced by {kill.successor} "
                f"in {kill.replaced_at - kill.at:.2f} s",
                f"  PostgreSQL down {restart.back_at - restart.stopping_at:.1f} s, "
                f"{len(during_restart)} attempts failed meanwhile; after its return: "
                f"/healthz 200 in {restart.healthz_recovery:.2f} s, "
                f"POST 2xx in {restart.post_recovery:.2f} s",
                f"  after recovery: {len(after_recovery)} attempts, "
                f"{sum(a.failed for a in after_recovery)} failed; "
                f"{len(acknowledged_after)} reports acknowledged",
            ]
        )
    )
    assert_stored_exactly_once(fleet, stored, {probe["id"]: probe})
    # The faults did happen, so that the test cannot pass vacuously.
    assert kill.successor != kill.victim
    assert during_restart, "no request failed while PostgreSQL was down"
    assert fleet.count("cut") and fleet.replays(), "no cut request was stored before its retry"
    # The service came back within seconds, and no stale connection failed a request later.
    assert restart.healthz_recovery <= RECOVERY_LIMIT
    assert restart.post_recovery <= RECOVERY_LIMIT
    assert acknowledged_after, "the load ended before the database came back"
    assert not [a for a in after_recovery if a.failed]
    assert not unexplained_failures(fleet, kill.window(), restart.window())


@postgis_only
def test_an_idle_service_answers_its_first_requests_after_a_database_restart(cluster, tmp_path):
    # Under load, the first failure during the downtime flushes a worker's pool; a worker idle
    # meanwhile still holds connections to the old server, that must not fail a request.
    url = cluster.create_database("idle")
    (token,) = prepare_database(url, 1)
    rng = random.Random()
    with (
        served(url, tmp_path / "gunicorn.log", 1, **SERVER_ENV) as server,
        logs_shown_on_failure(server, cluster),
    ):
        before = [
            call(server.port, "POST", "/api/v1/reports", report_payload(rng, 0, n), token)
            for n in range(3)
        ]
        cluster.stop("fast")
        cluster.start()
        after = [
            call(server.port, "GET", "/healthz"),
            call(server.port, "POST", "/api/v1/reports", report_payload(rng, 0, 3), token),
            call(server.port, "GET", "/api/v1/reports?limit=10", token=token),
        ]
    assert [status for _, status, _ in before] == [201, 201, 201]
    assert [status for _, status, _ in after] == [200, 201, 200]
    assert len(after[2][2]["items"]) == 4


@pytest.mark.skipif("spatialite" not in DATABASES, reason="SpatiaLite not asked for")
def test_every_acknowledged_report_is_stored_once_on_spatialite_across_a_killed_worker(tmp_path):
    started = time.monotonic()
    url = f"sqlite:///{tmp_path / 'ohpunaises.sqlite'}"
    tokens = prepare_database(url, CLIENTS)
    with (
        served(url, tmp_path / "gunicorn.log", WORKERS, **SERVER_ENV) as server,
        logs_shown_on_failure(server),
    ):
        fleet = Fleet(server.port, tokens, REPORTS_PER_CLIENT, new_seed())
        with fleet.running():
            fleet.wait_for_progress(0.3)
            kill = kill_a_worker(server)
            fleet.finish()
    stored = stored_reports(url)
    seconds = time.monotonic() - started

    print(
        "\n".join(
            [
                *summary("SpatiaLite", fleet, stored, seconds),
                f"  worker {kill.victim} killed, replaced by {kill.successor} "
                f"in {kill.replaced_at - kill.at:.2f} s",
            ]
        )
    )
    assert_stored_exactly_once(fleet, stored, {})
    assert kill.successor != kill.victim
    assert fleet.count("cut") and fleet.replays(), "no cut request was stored before its retry"
    assert not unexplained_failures(fleet, kill.window())
