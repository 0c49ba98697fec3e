"""Maps and indicators through gunicorn: what `/carte` and `/api/v1/indicators` cost and weigh.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/ohp_map \\
        .venv/bin/python bench/territorial.py [--repeat 5] [--roles institution,coordinator]

Fill the database first (`ohpunaises init`, `ohpunaises demo --reports N`); `bench/run.py`
measures at two sizes and compares them. Each page is served by a freshly started gunicorn
(gunicorn.conf.py, one worker, so that every request meets the same process and its caches):
"cold" is its first request, "warm" the median of the next `--repeat`. `/carte` is requested
by commune over every date, signed in through `/connexion` (session cookie, CSRF token);
`/api/v1/indicators?level=commune` with the bearer token of an institution. The page's size
is its HTML, raw and gzip level 6 as a front server sends it (Leaflet's own files are static
and cached by browsers). Baseline of the same run: `SELECT count(*) FROM reports`, the least
any figure over every report costs.
"""

import argparse
import dataclasses
import gzip
import os
import time

from common import (
    BenchError,
    Client,
    Outcome,
    bench_account,
    gunicorn,
    median,
    ms,
    product_env,
    progress,
)

BENCH = "maps & indicators"
MAP_PATH = "/carte"
API_PATH = "/api/v1/indicators?level=commune"
TARGET_TIME = 2.0  # the larger database's time, as a multiple of the smaller's
# "Does not grow": the page may only widen by the digits of larger figures.
TARGET_SIZE = 1.02


@dataclasses.dataclass
class Timing:
    cold: float
    warm: float
    raw: int
    packed: int


@dataclasses.dataclass
class Measure:
    reports: int
    count_seconds: float
    pages: dict[str, Timing]  # "/carte as institution", "/api/v1/indicators"…


def count_floor(database_url: str, repeat: int = 5) -> tuple[int, float]:
    """The number of reports, and the median time of `SELECT count(*) FROM reports`."""
    import psycopg

    times = []
    with psycopg.connect(database_url) as connection:
        for _ in range(repeat + 1):
            started = time.perf_counter()
            (count,) = connection.execute("SELECT count(*) FROM reports").fetchone()
            times.append(time.perf_counter() - started)
    return count, median(times[1:])


def fetch(client: Client, path: str, repeat: int, headers=None) -> Timing:
    """The first request of a fresh server, then the median of `repeat` more."""
    times, body = [], b""
    for _ in range(repeat + 1):
        status, _, body, seconds = client.request("GET", path, headers=headers)
        if status != 200:
            raise BenchError(f"GET {path} answered {status}: {body[:300]!r}")
        times.append(seconds)
    return Timing(times[0], median(times[1:]), len(body), len(gzip.compress(body, 6)))


def measure(database_url: str, repeat: int = 5, roles=("institution",)) -> Measure:
    """Every page once cold and `repeat` times warm, each on its own fresh server."""
    reports, floor = count_floor(database_url)
    progress(f"{BENCH}: {reports:,} reports, SELECT count(*) {ms(floor)}")
    env = product_env(database_url, WEB_CONCURRENCY="1")
    accounts = {role: bench_account(database_url, role) for role in roles}
    pages = {}
    for role, account in accounts.items():
        with gunicorn(env) as server:
            client = Client(server.base)
            client.sign_in(account.email, account.password)
            name = f"{MAP_PATH} as {role}"
            pages[name] = fetch(client, MAP_PATH, repeat, {"Accept-Encoding": "identity"})
            client.close()
        progress(f"{BENCH}: {name}: {describe(pages[name])}")
    institution = accounts.get("institution") or bench_account(database_url, "institution")
    with gunicorn(env) as server:
        client = Client(server.base)
        headers = {"Authorization": f"Bearer {institution.token}", "Accept": "application/json"}
        pages[API_PATH] = fetch(client, API_PATH, repeat, headers)
        client.close()
    progress(f"{BENCH}: {API_PATH}: {describe(pages[API_PATH])}")
    return Measure(reports, floor, pages)


def describe(timing: Timing) -> str:
    return (
        f"cold {ms(timing.cold)}, warm {ms(timing.warm)}, "
        f"{timing.raw:,} bytes ({timing.packed:,} gzip)"
    )


def table(measures: list[Measure]) -> str:
    lines = [
        "| reports | `count(*)` | page | cold | warm | raw (bytes) | gzip (bytes) |",
        "|---:|---:|---|---:|---:|---:|---:|",
    ]
    for m in measures:
        for name, t in m.pages.items():
            lines.append(
                f"| {m.reports:,} | {ms(m.count_seconds)} | `{name}` | {ms(t.cold)} | "
                f"{ms(t.warm)} | {t.raw:,} | {t.packed:,} |"
            )
    return "\n".join(lines)


def compare(small: Measure, large: Measure) -> list[Outcome]:
    """The larger database against the smaller: time ratios, and the map page's weight."""
    sizes = f"{large.reports:,} vs {small.reports:,}"
    floor = (
        f"count(*) {ms(large.count_seconds)} vs {ms(small.count_seconds)} "
        f"(x{large.count_seconds / small.count_seconds:.1f})"
    )
    outcomes = []
    for name, big in large.pages.items():
        little = small.pages[name]
        for moment in ("warm", "cold"):
            mine, theirs = getattr(big, moment), getattr(little, moment)
            ratio = mine / theirs
            outcomes.append(
                Outcome(
                    BENCH,
                    f"`{name}` {moment}, {sizes}",
                    f"{ms(mine)} vs {ms(theirs)}",
                    floor,
                    ratio,
                    f"ratio <= {TARGET_TIME:g}",
                    ratio <= TARGET_TIME,
                )
            )
        if name.startswith(MAP_PATH):
            ratio = big.packed / little.packed
            outcomes.append(
                Outcome(
                    BENCH,
                    f"`{name}` gzip size, {sizes}",
                    f"{big.packed:,} vs {little.packed:,} B",
                    "",
                    ratio,
                    f"ratio <= {TARGET_SIZE:g}",
                    ratio <= TARGET_SIZE,
                )
            )
    return outcomes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--roles", default="institution", help="comma-separated, for /carte")
    args = parser.parse_args()
    if not args.database_url:
        parser.error("--database-url or DATABASE_URL is required")
    roles = tuple(role.strip() for role in args.roles.split(",") if role.strip())
    print(table([measure(args.database_url, args.repeat, roles)]))


if __name__ == "__main__":
    main()
