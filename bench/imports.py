"""Imports: a partner's 100,000-row CSV checked and imported by the CLI, against COPY.

    .venv/bin/python bench/imports.py [--rows 100000] [--small 10000] [--xlsx-rows 20000]

On a scratch PostGIS database (`ohpunaises init`, no demo data), the script writes the files a
partner sends: a CSV in Windows-1252 with ";" and French headers (dates as dd/mm/yyyy, the
commune by its name, accents included, or by its INSEE code, a point instead for a third of
the rows, drawn inside the loaded communes, housing, level and actions as their French labels,
a dwelling reference of its own per row, costs with a decimal comma), at `--small` and at
`--rows` rows, and an XLSX of `--xlsx-rows` rows (a title row above the header, real dates and
numbers). Each file belongs to a structure of its own, so that no file finds another's rows.

Each file goes through the real command, `ohpunaises import reports FILE --structure ID`, in a
subprocess: first with `--dry-run` (the check alone), then without (the check again, then the
import), timed from start to exit and with the process's peak RSS (its `ru_maxrss`, read by
a small launcher, as /usr/bin/time does). A 100-row file first gives what the command costs
before any row.

The baseline is the floor of any import: the large file's rows, already placed (the product's
own rows, under new UUIDs), sent to PostgreSQL by bare `COPY … FROM STDIN` into `reports`,
`report_actions` and `report_status_changes` in one transaction. Target: at least 2,000 rows/s
for the check and import of the large file. Checked as it goes: every dry run
finds every row valid and stores nothing; every import stores every row once with source
"import"; a second import of the small file finds every row already imported and stores none.
"""

import argparse
import csv
import dataclasses
import datetime as dt
import io
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import (
    BIN,
    ROOT,
    BenchError,
    Outcome,
    ohpunaises,
    product_env,
    progress,
    scratch_database,
    sql,
    summary_table,
)

BENCH = "imports"
TARGET_RATE = 2000  # rows per second, check and import of the large file
# The large file's peak RSS over the small one's, at 10 times the rows: 10 would be linear.
FLAT_MEMORY = 2
POINT_SHARE = 3  # one row in three gives a point rather than a commune
HEADERS = (
    "Date d'intervention",
    "Commune",
    "Latitude",
    "Longitude",
    "Logement",
    "Type d'habitat",
    "Taille du ménage",
    "Niveau d'infestation",
    "Actions menées",
    "Coût total",
    "Payeur",
    "Vulnérabilités",
    "Référence du logement",
    "Notes",
)
HOUSING = (
    "Logement social",
    "Locatif privé",
    "Propriétaire occupant",
    "Hébergement d'urgence ou hôtel",
    "logement social",
)
BUILDINGS = ("Habitat collectif", "Habitat individuel")
LEVELS = ("Suspicion", "Faible", "Modérée", "Sévère")
ACTIONS = (
    "Diagnostic",
    "Diagnostic, Aspiration, Sensibilisation",
    "Traitement chimique | Traitement thermique (chaleur, vapeur) | Housses de matelas",
    "Détection canine ; Accompagnement social",
    "Évacuation de mobilier, Aide au désencombrement",
)
PAYERS = ("Bailleur", "Ménage", "Fonds publics", "Structure partenaire", "")
VULNERABILITIES = ("", "", "Jeunes enfants", "Personne âgée isolée | Handicap", "")
NOTES = ("", "", "", "Réinfestation probable ; voisin signalé", "Relogement prévu, « urgent »")
SMOKE_ROWS = 100
COPIED_TABLES = ("reports", "report_actions", "report_status_changes")


@dataclasses.dataclass
class Place:
    """Where a row is: a commune by code and name, or a point inside one."""

    code: str
    name: str
    point: tuple[float, float] | None = None


@dataclasses.dataclass
class Run:
    """One run of the command: its wall time, peak RSS, exit status and output."""

    label: str
    rows: int
    seconds: float
    peak_kib: int
    returncode: int
    output: str

    @property
    def rate(self) -> float:
        return self.rows / self.seconds

    @property
    def peak_mb(self) -> float:
        return self.peak_kib * 1024 / 1e6


# The files -------------------------------------------------------------------------------------


def places(database_url: str, per_commune: int) -> tuple[list[Place], list[Place]]:
    """The communes and Lyon's arrondissements by name and code, and points drawn inside
    each commune loaded, interleaved so that rows go round them."""
    named = [
        Place(code, name)
        for code, name in sql(
            database_url,
            "SELECT code, name FROM territories WHERE level IN ('commune', 'arrondissement') "
            "ORDER BY code",
        )
    ]
    rows = sql(
        database_url,
        "SELECT code, name, ST_X(p.geom), ST_Y(p.geom) FROM territories, "
        "ST_Dump(ST_GeneratePoints(territories.geom, %s, 1)) AS p "
        "WHERE level = 'commune' ORDER BY p.path, code",
        (per_commune,),
    )
    points = [Place(code, name, (lon, lat)) for code, name, lon, lat in rows]
    if not named or not points:
        raise BenchError("no commune is loaded: `ohpunaises init` should have loaded them")
    return named, points


def spreadsheet_rows(count: int, named: list[Place], points: list[Place], seed: int) -> list:
    """`count` rows as a partner writes them, as Python values (dates, floats, text)."""
    rng = random.Random(seed)
    today = dt.date.today()
    rows = []
    for index in range(count):
        if index % POINT_SHARE == 0:
            place = points[(index // POINT_SHARE) % len(points)]
            commune, (longitude, latitude) = "", place.point
        else:
            place = named[rng.randrange(len(named))]
            commune = place.name if index % 2 else place.code
            latitude = longitude = None
        rows.append(
            [
                today - dt.timedelta(days=1 + rng.randrange(720)),
                commune,
                latitude,
                longitude,
                HOUSING[index % len(HOUSING)],
                BUILDINGS[index % len(BUILDINGS)],
                1 + rng.randrange(6),
                LEVELS[rng.randrange(len(LEVELS))],
                ACTIONS[index % len(ACTIONS)],
                round(rng.uniform(80, 2400), 2),
                PAYERS[index % len(PAYERS)],
                VULNERABILITIES[index % len(VULNERABILITIES)],
                f"LGT-{seed:02d}-{index:07d}",
                NOTES[index % len(NOTES)],
            ]
        )
    return rows


def french_cell(value) -> str:
    """A value as a French spreadsheet saves it to CSV: dd/mm/yyyy, decimal commas."""
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float):
        return f"{value:.6f}".rstrip("0").replace(".", ",")
    return str(value)


def write_csv(path: Path, rows: list):
    """The rows as Excel saves "CSV (séparateur : point-virgule)": Windows-1252, CRLF."""
    with path.open("w", encoding="cp1252", newline="") as file:
        writer = csv.writer(file, delimiter=";")
        writer.writerow(HEADERS)
        for row in rows:
            cost = f"{row[9]:.2f}".replace(".", ",")
            writer.writerow([french_cell(v) for v in row[:9]] + [cost, *row[10:]])


def write_xlsx(path: Path, rows: list):
    """The rows in a workbook, below a title row, with real dates and numbers."""
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Interventions")
    sheet.append(["Interventions punaises de lit — export du partenaire"])
    sheet.append(list(HEADERS))
    for row in rows:
        commune = int(row[1]) if row[1].isdigit() else row[1]
        sheet.append([row[0], commune, *row[2:]])
    workbook.save(path)


# Running the command ---------------------------------------------------------------------------


# A forked child's ru_maxrss counts the pages it shared with its parent before exec: this
# process holds the rows it wrote, so a small Python process starts the command and times it,
# as /usr/bin/time would.
LAUNCHER = """
import os, sys, time
started = time.perf_counter()
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)
_pid, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - started
with open(sys.argv[1], "w") as out:
    out.write(f"{seconds} {usage.ru_maxrss}")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def cli(env: dict, label: str, rows: int, *args: str) -> Run:
    """`ohpunaises ARGS` in a subprocess: wall time, peak RSS (ru_maxrss), exit, output."""
    progress(f"{BENCH}: {label}: ohpunaises {' '.join(args)}")
    with tempfile.TemporaryFile() as log, tempfile.NamedTemporaryFile("r") as measures:
        command = [sys.executable, "-S", "-c", LAUNCHER, measures.name, str(BIN / "ohpunaises")]
        process = subprocess.Popen(
            [*command, *args], cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True
        )
        try:
            returncode = process.wait()
        finally:
            if process.poll() is None:  # interrupted: the command does not outlive the bench
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.seek(0)
        output = log.read().decode(errors="replace")
        written = measures.read().split()
    if len(written) != 2:
        raise BenchError(f"{label}: the command was not measured (exit {returncode}):\n{output}")
    one = Run(label, rows, float(written[0]), int(written[1]), returncode, output)
    progress(
        f"{BENCH}: {label}: {one.seconds:.1f} s, {one.rate:,.0f} rows/s, peak RSS "
        f"{one.peak_mb:.0f} MB, exit {one.returncode}"
    )
    return one


def succeeded(one: Run) -> Run:
    if one.returncode:
        raise BenchError(f"{one.label} failed (exit {one.returncode}):\n{one.output[-3000:]}")
    return one


def latest_job(database_url: str, structure_id: int) -> tuple[str, dict]:
    """The status and counts of the structure's latest import."""
    status, counts = sql(
        database_url,
        "SELECT status, counts FROM report_imports WHERE structure_id = %s "
        "ORDER BY created_at DESC LIMIT 1",
        (structure_id,),
    )[0]
    return status, counts if isinstance(counts, dict) else json.loads(counts)


def imported(database_url: str, structure_id: int) -> int:
    (count,) = sql(
        database_url,
        "SELECT count(*) FROM reports WHERE source = 'import' AND structure_id = %s",
        (structure_id,),
    )[0]
    return count


@dataclasses.dataclass
class FileRuns:
    """A file's dry run and import, and whether each did what it should."""

    name: str
    rows: int
    size: int
    dry_run: Run
    importing: Run
    problems: list[str]


def measure_file(url: str, env: dict, path: Path, rows: int, structure_id: int) -> FileRuns:
    """The file's dry run, then its import, each checked against the database."""
    problems = []
    args = ("import", "reports", str(path), "--structure", str(structure_id))
    name = path.name
    dry = succeeded(cli(env, f"{name}, dry run", rows, *args, "--dry-run"))
    status, counts = latest_job(url, structure_id)
    if status != "checked" or counts.get("valid") != rows or counts.get("invalid"):
        problems.append(f"{name}: dry run {status}, counts {counts}:\n{dry.output[-2000:]}")
    if imported(url, structure_id):
        problems.append(f"{name}: the dry run stored reports")
    done = succeeded(cli(env, f"{name}, check + import", rows, *args))
    status, counts = latest_job(url, structure_id)
    stored = imported(url, structure_id)
    if status != "imported" or counts.get("stored") != rows or stored != rows:
        problems.append(f"{name}: import {status}, counts {counts}, {stored:,} reports stored")
    for problem in problems:
        progress(f"{BENCH}: PROBLEM: {problem}")
    return FileRuns(name, rows, path.stat().st_size, dry, done, problems)


def import_again(url: str, env: dict, path: Path, rows: int, structure_id: int):
    """A second import of an imported file, which should find every row already imported
    and store none; (its run, what went wrong)."""
    args = ("import", "reports", str(path), "--structure", str(structure_id))
    again = cli(env, f"{path.name}, imported again", rows, *args)
    status, counts = latest_job(url, structure_id)
    stored = imported(url, structure_id)
    said = again.output.strip().splitlines()[-1:] or [""]
    progress(f"{BENCH}: {path.name} imported again: {status}, {counts}; it said: {said[0]}")
    if counts.get("already") != rows or counts.get("valid") or stored != rows:
        return again, [f"second import: {counts}, {stored:,} stored:\n{again.output[-2000:]}"]
    return again, []


# The baseline ----------------------------------------------------------------------------------


def copy_baseline(database_url: str, structure_id: int, target_structure: int) -> tuple[float, int]:
    """(seconds, rows) of COPY FROM STDIN of the structure's imported reports, their actions
    and history, under new UUIDs and another structure, in one transaction."""
    import psycopg

    with psycopg.connect(database_url) as connection:
        blocks = _copy_blocks(connection, structure_id, target_structure)
        connection.rollback()  # the UUID map was only needed to write the blocks
        started = time.perf_counter()
        for table, columns, data in blocks:
            with connection.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                copy.write(data)
        connection.commit()
        seconds = time.perf_counter() - started
    (rows,) = sql(
        database_url, "SELECT count(*) FROM reports WHERE structure_id = %s", (target_structure,)
    )[0]
    return seconds, rows


def _copy_blocks(connection, structure_id: int, target_structure: int) -> list:
    """Each table's rows as COPY's text, read from the database beforehand (not timed)."""
    connection.execute(
        "CREATE TEMP TABLE bench_ids AS SELECT id AS old, gen_random_uuid() AS new "
        "FROM reports WHERE structure_id = %s",
        (structure_id,),
    )
    blocks = []
    for table in COPIED_TABLES:
        columns = [
            name
            for (name,) in connection.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                "AND table_schema = current_schema() ORDER BY ordinal_position",
                (table,),
            )
            if not (table == "report_status_changes" and name == "id")
        ]
        key = "id" if table == "reports" else "report_id"
        selected = [
            "m.new"
            if name == key
            else str(target_structure)
            if table == "reports" and name == "structure_id"
            else f"t.{name}"
            for name in columns
        ]
        query = (
            f"COPY (SELECT {', '.join(selected)} FROM {table} t "
            f"JOIN bench_ids m ON m.old = t.{key}) TO STDOUT"
        )
        out = io.BytesIO()
        with connection.cursor().copy(query) as copy:
            for data in copy:
                out.write(data)
        blocks.append((table, ", ".join(columns), out.getvalue()))
    return blocks


# The benchmark ---------------------------------------------------------------------------------


def structures(database_url: str, count: int) -> list[int]:
    """`count` new partner structures in Lyon; their ids."""
    from ohpunaises.app import create_app
    from ohpunaises.extensions import db
    from ohpunaises.territories import territory_by_code
    from ohpunaises.usecases.structures import new_structure

    app = create_app(product_env(database_url))
    with app.app_context():
        lyon = territory_by_code("69123", "commune")
        if lyon is None:
            raise BenchError("Lyon (69123) is not loaded")
        made = [new_structure(f"Bench import {n}", "association", lyon) for n in range(count)]
        db.session.commit()
        ids = [structure.id for structure in made]
        db.session.remove()
        db.engine.dispose()
    return ids


def run(rows: int = 100_000, small: int = 10_000, xlsx_rows: int = 20_000) -> list[Outcome]:
    """The benchmark on its own scratch database; returns the summary's lines."""
    with scratch_database(BENCH) as url, tempfile.TemporaryDirectory() as folder:
        env = product_env(url)
        ohpunaises(env, "init", quiet=True)
        smoke_id, small_id, large_id, xlsx_id, copy_id = structures(url, 5)
        named, points = places(url, per_commune=50)
        progress(f"{BENCH}: {len(named)} communes and arrondissements, {len(points)} points")
        started = time.perf_counter()
        large_rows = spreadsheet_rows(rows, named, points, seed=1)
        files = {
            "smoke": Path(folder, "interventions-essai.csv"),
            "small": Path(folder, f"interventions-{small}.csv"),
            "large": Path(folder, f"interventions-{rows}.csv"),
            "xlsx": Path(folder, f"interventions-{xlsx_rows}.xlsx"),
        }
        write_csv(files["smoke"], spreadsheet_rows(SMOKE_ROWS, named, points, seed=4))
        write_csv(files["small"], spreadsheet_rows(small, named, points, seed=2))
        write_csv(files["large"], large_rows)
        write_xlsx(files["xlsx"], spreadsheet_rows(xlsx_rows, named, points, seed=3))
        sizes = ", ".join(f"{p.name} {p.stat().st_size / 1e6:.1f} MB" for p in files.values())
        progress(f"{BENCH}: files written in {time.perf_counter() - started:.0f} s: {sizes}")
        smoke = measure_file(url, env, files["smoke"], SMOKE_ROWS, smoke_id)
        small_runs = measure_file(url, env, files["small"], small, small_id)
        large = measure_file(url, env, files["large"], rows, large_id)
        xlsx = measure_file(url, env, files["xlsx"], xlsx_rows, xlsx_id)
        # The small file stands for any: a second pass costs what its dry run costs.
        again, again_problems = import_again(url, env, files["small"], small, small_id)
        (total,) = sql(url, "SELECT count(*) FROM reports WHERE source = 'import'")[0]
        progress(f"{BENCH}: baseline, COPY of the {rows:,} imported rows, already placed")
        copy_seconds, copied = copy_baseline(url, large_id, copy_id)
    problems = [*smoke.problems, *small_runs.problems, *large.problems, *xlsx.problems]
    problems += again_problems
    expected = SMOKE_ROWS + small + rows + xlsx_rows
    if total != expected:
        problems.append(f"{total:,} reports with source 'import', {expected:,} expected")
    if copied != rows:
        problems.append(f"the baseline copied {copied:,} rows of {rows:,}")
    measured = [smoke, small_runs, large, xlsx]
    return outcomes(measured, again, copy_seconds, rows, total, problems)


def outcomes(measured: list[FileRuns], again: Run, copy_seconds, rows, total, problems):
    smoke, small, large, xlsx = measured
    copy_rate = rows / copy_seconds
    print(
        f"COPY FROM STDIN of {rows:,} placed reports with their actions and history: "
        f"{copy_seconds:.1f} s, {copy_rate:,.0f} rows/s"
    )
    print("| file | size | dry run | rows/s | peak RSS | check + import | rows/s | peak RSS |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for one in measured:
        dry, done = one.dry_run, one.importing
        print(
            f"| {one.name} ({one.rows:,} rows) | {one.size / 1e6:.1f} MB | {dry.seconds:.1f} s | "
            f"{dry.rate:,.0f} | {dry.peak_mb:.0f} MB | {done.seconds:.1f} s | {done.rate:,.0f} | "
            f"{done.peak_mb:.0f} MB |"
        )
    print(
        f"{again.label}: {again.seconds:.1f} s, {again.rate:,.0f} rows/s, peak RSS "
        f"{again.peak_mb:.0f} MB, exit {again.returncode} (nothing new to import)"
    )
    for problem in problems:
        print(f"PROBLEM: {problem}")
    lines = []
    for one in (small, large, xlsx):
        kind = "XLSX" if one.name.endswith(".xlsx") else "CSV"
        for phase, figure in (("dry run", one.dry_run), ("check + import", one.importing)):
            met = figure.rate >= TARGET_RATE if one is large and phase != "dry run" else None
            lines.append(
                Outcome(
                    BENCH,
                    f"{kind} {phase}, rows/s ({one.rows:,} rows, {one.size / 1e6:.1f} MB)",
                    f"{figure.rate:,.0f}",
                    f"{copy_rate:,.0f} (COPY)",
                    figure.rate / copy_rate,
                    f">= {TARGET_RATE:,} rows/s" if met is not None else "",
                    met,
                )
            )
    for phase in ("dry_run", "importing"):
        low, high = getattr(small, phase), getattr(large, phase)
        floor = getattr(smoke, phase).peak_mb
        ratio = high.peak_kib / low.peak_kib
        lines.append(
            Outcome(
                BENCH,
                f"peak RSS, {phase.replace('_', ' ')}, {large.rows:,} vs {small.rows:,} rows",
                f"{high.peak_mb:.0f} vs {low.peak_mb:.0f} MB "
                f"({round(high.peak_mb - floor):+d} vs {round(low.peak_mb - floor):+d})",
                f"{floor:.0f} MB at {smoke.rows} rows",
                ratio,
                f"ratio < {FLAT_MEMORY} (flat)",
                ratio < FLAT_MEMORY,
            )
        )
    lines.append(
        Outcome(
            BENCH,
            "every row imported once; a second import stores none",
            f"{total:,} imported",
            target="all",
            met=not problems,
        )
    )
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="the large CSV")
    parser.add_argument("--small", type=int, default=10_000, help="the small CSV")
    parser.add_argument("--xlsx-rows", type=int, default=20_000, help="the XLSX")
    args = parser.parse_args()
    if not 0 < args.small < args.rows:
        parser.error("--small must be positive and below --rows")
    print(summary_table(run(args.rows, args.small, args.xlsx_rows)))


if __name__ == "__main__":
    main()
