"""Every commune of France: `/carte` and the indicators at 35,000 territories, against Lyon's 58.

    .venv/bin/python bench/national.py [--communes 35000] [--reports 1000000] [--repeat 5]

Two scratch databases made by `ohpunaises init` and `ohpunaises demo --reports N`: one with
the default territories (the 58 communes of the Métropole de Lyon), and one where
`ohpunaises territories load --level commune` first added about 35,000 generated communes
over mainland France (bench/placement.py's tessellation), so that the demo's reports spread
over the whole country. In `make bench`, the Lyon database is the one the territorial and
export benchmarks grew to `--large` reports. On each, as an institution, on a freshly started
gunicorn (one worker, so that every request meets the same process and its caches):

- the first view of `/carte?level=commune` in Chromium (1366 × 900, the browser's cache
  off): from the navigation to the map drawn (every territory path, or every tile of the
  view for a tiled level), cold (the server's first map) and warm (the median of the next
  `--repeat`), with the bytes transferred for the page and the territories' data (the page
  as a front server sends it, gzip level 6; the tiles as the app sends them, gzip);
- `/api/v1/indicators?level=commune`: its first page cold and warm, then every page in turn;
- in the benchmark's own process: the protection of every count of every indicator for every
  territory (cell keys, "< K", complements: `indicators.presentation.protect`), once the
  figures are measured;
- the worker's resident memory at the end (VmRSS) and at its highest (VmHWM) while it
  serves the map and the API, once signed in. Signing in is measured apart: the password's
  hash (Argon2, 64 MiB) holds 64 MB for an instant, whatever the data, so the session is
  opened once, before, and handed to the browser.

The Lyon figures are the baseline of the same run: the national first view within 3 times
them, cold and warm, at most 2 MB transferred, the protection within 1 s, the worker under
300 MB.
"""

import argparse
import gzip
import signal
import sys
import tempfile
import time
from pathlib import Path

from common import (
    BenchError,
    Client,
    Outcome,
    bench_account,
    gunicorn,
    median,
    memory_kib,
    ms,
    ohpunaises,
    product_env,
    progress,
    reset_peak,
    scratch_database,
    sql,
    summary_table,
)

BENCH = "national maps"
MAP_PATH = "/carte?level=commune"
API_PATH = "/api/v1/indicators?level=commune"
TARGET_VIEW = 3.0  # the national first view, as a multiple of Lyon's
TARGET_BYTES = 2_000_000
TARGET_PROTECTION = 1.0  # seconds
TARGET_MEMORY_MB = 300
WIDTH, HEIGHT = 1366, 900
# Every page of the indicators and a dozen views, within a minute: past the default limits.
# A country's first measure at a million reports may take longer than a page may wait in
# production (30 s): the benchmark waits, to say how long it takes.
UNLIMITED = {
    "OHPUNAISES_RATELIMIT_FIGURES": "1000000 per minute",
    "OHPUNAISES_RATELIMIT_TILES": "1000000 per minute",
    "OHPUNAISES_STATEMENT_TIMEOUT": "0",
    "OHPUNAISES_FIGURE_WAIT": "900",
    "OHPUNAISES_TIMEOUT": "900",
}

# In the page: whether the map is drawn (every path, or every tile of the view), and when.
DRAWN = """
    const frame = document.querySelector(".folium-map");
    const map = frame && window[frame.id];
    if (!map || document.readyState !== "complete") return null;
    const layers = Object.values(map._layers);
    const tiles = layers.find((layer) => window.L.OhpTerritoryTiles
        && layer instanceof L.OhpTerritoryTiles);
    if (tiles) {
        const canvases = [...document.querySelectorAll("canvas.ohp-tile")];
        if (tiles.isLoading() || !canvases.length
            || !canvases.every((c) => c.classList.contains("leaflet-tile-loaded"))) return null;
    } else if (!document.querySelector("path.ohp-territory")) {
        return null;
    }
    const resources = performance.getEntriesByType("resource");
    const data = resources.filter((r) => r.name.includes("/carte/tuiles/"));
    return {
        seconds: performance.now() / 1000,
        tiles: data.length,
        tile_bytes: data.reduce((sum, r) => sum + r.transferSize, 0),
    };
"""


def signed_in(driver, base: str, cookies: dict):
    """The session of a client signed in through the form, handed to the browser on
    /healthz (the home page computes figures, and the map's first view would find them)."""
    driver.get(f"{base}/healthz")
    for name, value in cookies.items():
        # Secure, as production sets it: 127.0.0.1 counts as a secure origin.
        driver.add_cookie({"name": name, "value": value, "path": "/", "secure": True})


def first_views(base: str, cookies: dict, repeat: int) -> dict:
    """The map's first view in Chromium: cold, then warm `repeat` times."""
    from tests.browser import chromium, wait_until

    driver = chromium()
    try:
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False},
        )
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
        driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["https://*"]})
        signed_in(driver, base, cookies)
        views = []
        for _ in range(repeat + 1):
            driver.get(f"{base}{MAP_PATH}")
            views.append(wait_until(lambda: driver.execute_script(DRAWN), 600, "the map drawn"))
    finally:
        driver.quit()
    return {
        "cold": views[0]["seconds"],
        "warm": median([view["seconds"] for view in views[1:]]),
        "tiles": views[-1]["tiles"],
        "tile_bytes": views[-1]["tile_bytes"],
    }


def fetch(client: Client, path: str, headers=None) -> tuple[float, bytes]:
    status, _, body, seconds = client.request("GET", path, headers=headers)
    if status != 200:
        raise BenchError(f"GET {path} answered {status}: {body[:300]!r}")
    return seconds, body


def every_page(client: Client, headers: dict) -> tuple[float, int, int]:
    """Seconds to read every page of the indicators by commune, pages, territories."""
    import json

    started, cursor, pages, territories = time.perf_counter(), None, 0, 0
    while True:
        path = API_PATH + (f"&cursor={cursor}" if cursor else "")
        _, body = fetch(client, path, headers)
        answer = json.loads(body)
        pages += 1
        territories += len(answer["indicators"][0]["territories"])
        cursor = answer["next_cursor"]
        if not cursor:
            return time.perf_counter() - started, pages, territories


def protection_seconds(database_url: str) -> tuple[float, int]:
    """Protecting every count of every indicator for every commune, once measured: seconds
    (median of 3) and the number of counts."""
    from ohpunaises import privacy
    from ohpunaises.app import create_app
    from ohpunaises.extensions import db
    from ohpunaises.indicators import cache
    from ohpunaises.indicators.measures import (
        Period,
        Scope,
        as_deployments,
        measure,
        reference_date,
    )
    from ohpunaises.indicators.presentation import protect

    app = create_app(product_env(database_url))
    with app.test_request_context("/"):
        period = Period()
        reference = reference_date(period, None)
        scope = Scope(period, None, "commune", reference, deployments=as_deployments(None))
        figures = cache.figures(scope, measure)
        policy = privacy.Policy.for_role("institution")
        times = []
        for _ in range(3):
            started = time.perf_counter()
            cells = protect(figures, policy)
            times.append(time.perf_counter() - started)
        db.session.remove()
        db.engine.dispose()
    return median(times), len(cells)


def measure(database_url: str, label: str, repeat: int) -> dict:
    """Every figure of one state of the database (see the module's docstring)."""
    (communes,) = sql(database_url, "SELECT count(*) FROM territories WHERE level = 'commune'")[0]
    account = bench_account(database_url, "institution")
    env = product_env(database_url, WEB_CONCURRENCY="1", **UNLIMITED)
    figures = {"label": label, "communes": communes}
    with gunicorn(env) as server:
        (worker,) = server.worker_pids()
        client = Client(server.base)
        client.sign_in(account.email, account.password)
        figures["sign_in_mb"] = memory_kib(worker, "VmHWM") / 1024
        reset_peak(worker)
        figures["view"] = first_views(server.base, client.cookies, repeat)
        _, page = fetch(client, MAP_PATH, {"Accept-Encoding": "identity"})
        figures["page_bytes"] = len(gzip.compress(page, 6))
        headers = {"Authorization": f"Bearer {account.token}", "Accept": "application/json"}
        api = [fetch(client, API_PATH, headers)[0] for _ in range(repeat + 1)]
        figures["api"] = {"first": api[0], "warm": median(api[1:])}
        figures["pages"] = every_page(client, headers)
        client.close()
        figures["rss_mb"] = memory_kib(worker) / 1024
        figures["peak_mb"] = memory_kib(worker, "VmHWM") / 1024
    figures["protection"] = protection_seconds(database_url)
    view = figures["view"]
    progress(
        f"{BENCH}: {label}, {communes:,} communes: first view cold {ms(view['cold'])}, warm "
        f"{ms(view['warm'])}, page {figures['page_bytes']:,} B gzip + {view['tiles']} tiles "
        f"{view['tile_bytes']:,} B; API first page {ms(api[0])} cold, {ms(figures['api']['warm'])}"
        f" warm; protection {ms(figures['protection'][0])} for {figures['protection'][1]:,} "
        f"counts; worker {figures['rss_mb']:.0f} MB (peak {figures['peak_mb']:.0f} MB; signing "
        f"in {figures['sign_in_mb']:.0f} MB)"
    )
    return figures


def load_france(env: dict, communes: int):
    """About `communes` generated communes over mainland France, loaded by the real command."""
    from placement import tessellation, write_geojson

    shapes = tessellation(communes, 0.004)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "communes-france.geojson"
        write_geojson(shapes, path)
        seconds = ohpunaises(env, "territories", "load", str(path), "--level", "commune")
    progress(f"{BENCH}: {len(shapes):,} communes loaded in {seconds:.0f} s")
    sql(env["DATABASE_URL"], "VACUUM ANALYZE territories", autocommit=True)


def table(measures: list[dict]) -> str:
    lines = [
        "| territories | first view cold | warm | page (gzip) | tiles | tiles (bytes) "
        "| API 1st page cold | warm | every page | protection | worker RSS (peak) "
        "| signing in (peak) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in measures:
        view, api = m["view"], m["api"]
        seconds, pages, territories = m["pages"]
        lines.append(
            f"| {m['label']}: {m['communes']:,} communes | {ms(view['cold'])} | "
            f"{ms(view['warm'])} | {m['page_bytes']:,} | {view['tiles']} | "
            f"{view['tile_bytes']:,} | {ms(api['first'])} | {ms(api['warm'])} | "
            f"{ms(seconds)} ({pages} page{'s' if pages > 1 else ''}, {territories:,}) | "
            f"{ms(m['protection'][0])} "
            f"({m['protection'][1]:,} counts) | {m['rss_mb']:.0f} MB ({m['peak_mb']:.0f}) | "
            f"{m['sign_in_mb']:.0f} MB |"
        )
    return "\n".join(lines)


def compare(lyon: dict, france: dict) -> list[Outcome]:
    outcomes = []
    for moment in ("cold", "warm"):
        mine, theirs = france["view"][moment], lyon["view"][moment]
        outcomes.append(
            Outcome(
                BENCH,
                f"`/carte` first view {moment}, {france['communes']:,} communes",
                ms(mine),
                f"{ms(theirs)} at {lyon['communes']:,} communes",
                mine / theirs,
                f"ratio <= {TARGET_VIEW:g}",
                mine / theirs <= TARGET_VIEW,
            )
        )
    sent = france["page_bytes"] + france["view"]["tile_bytes"]
    outcomes.append(
        Outcome(
            BENCH,
            f"`/carte` first view transferred, {france['communes']:,} communes",
            f"{sent:,} B",
            f"{lyon['page_bytes'] + lyon['view']['tile_bytes']:,} B at {lyon['communes']:,}",
            sent / TARGET_BYTES,
            f"<= {TARGET_BYTES:,} B",
            sent <= TARGET_BYTES,
        )
    )
    seconds, counts = france["protection"]
    outcomes.append(
        Outcome(
            BENCH,
            f"protection of {counts:,} counts (every indicator, every commune)",
            ms(seconds),
            f"{ms(lyon['protection'][0])} for {lyon['protection'][1]:,}",
            seconds / TARGET_PROTECTION,
            f"<= {TARGET_PROTECTION:g} s",
            seconds <= TARGET_PROTECTION,
        )
    )
    peak = max(france["peak_mb"], france["rss_mb"])
    outcomes.append(
        Outcome(
            BENCH,
            "worker memory at its highest serving the map and the API, national",
            f"{peak:.0f} MB",
            f"{lyon['peak_mb']:.0f} MB at {lyon['communes']:,} communes",
            peak / TARGET_MEMORY_MB,
            f"<= {TARGET_MEMORY_MB} MB",
            peak <= TARGET_MEMORY_MB,
        )
    )
    return outcomes


def france(communes: int, reports: int, repeat: int) -> dict:
    """The figures of a scratch database holding France's communes, then `reports`."""
    with scratch_database("national") as url:
        env = product_env(url)
        ohpunaises(env, "init", quiet=True)
        load_france(env, communes)
        ohpunaises(env, "demo", "--reports", str(reports), "--seed", "1")
        sql(url, "VACUUM ANALYZE", autocommit=True)
        return measure(url, "France", repeat)


def run(lyon: dict, communes: int, reports: int, repeat: int) -> list[Outcome]:
    """France against Lyon's figures, measured before on a database of as many reports."""
    national = france(communes, reports, repeat)
    print(table([lyon, national]), flush=True)
    return compare(lyon, national)


def main():
    # A terminated run still drops its databases and stops its servers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--communes", type=int, default=35_000)
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with scratch_database("lyon") as url:
        env = product_env(url)
        ohpunaises(env, "init", quiet=True)
        ohpunaises(env, "demo", "--reports", str(args.reports), "--seed", "1")
        sql(url, "VACUUM ANALYZE", autocommit=True)
        lyon = measure(url, "Lyon", args.repeat)
    print(summary_table(run(lyon, args.communes, args.reports, args.repeat)))


if __name__ == "__main__":
    main()
