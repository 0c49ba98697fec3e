"""What the territorial map page weighs and costs, against the indicators it rests on.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/ohp_map SECRET_KEY=… \
    OHPUNAISES_ENV=development .venv/bin/python bench/map_page.py [--repeat 5]

Fill the database first with `ohpunaises init` and `ohpunaises demo --reports N`. The page
is requested in process (Flask's test client, signed in through the session) as an
institution and as a coordinator, by commune, over every date. "first" is the first request
of the process (territory outlines read and simplified); "warm" the median of the next ones.
The baselines of the same run: `SELECT count(*) FROM reports`, the least any figure over
every report costs, and `indicators.compute` alone for the same request, which the page
cannot avoid. The page's size is its HTML (raw, and gzip level 6 as a front server sends it);
Leaflet's own files are static and cached by the browser.
"""

import argparse
import gzip
import statistics
import time

import sqlalchemy as sa


def timed(run, repeat: int) -> tuple[float, object]:
    """The median wall time of `run` in seconds, and its last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def bench_user(db, role: str) -> int:
    """The id of an account of this role, made for the benchmark when there is none."""
    from ohpunaises.models import User

    email = f"bench-{role}@example.org"
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is None:
        user = User(email=email, role=role, display_name=f"bench {role}", password_hash="!")
        db.session.add(user)
        db.session.commit()
    return user.id


def page(app, user_id: int):
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"] = str(user_id), True

    def get():
        response = client.get("/carte")
        assert response.status_code == 200, response.status_code
        return response.data

    return get


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from ohpunaises.app import create_app
    from ohpunaises.extensions import db
    from ohpunaises.indicators import Period, compute

    app = create_app()
    with app.app_context():
        reports = db.session.scalar(sa.text("SELECT count(*) FROM reports"))
        users = {role: bench_user(db, role) for role in ("institution", "coordinator")}
        floor, _ = timed(lambda: db.session.scalar(sa.text("SELECT count(*) FROM reports")), 3)
        db.session.remove()
    with app.test_request_context():
        ids = ["reports_per_10000", "reports"]
        indicators, _ = timed(lambda: compute(Period(), None, "commune", "institution", ids=ids), 3)
        db.session.remove()

    rows = []
    for role, user_id in users.items():
        get = page(app, user_id)
        first, body = timed(get, 1)
        warm, body = timed(get, args.repeat)
        rows.append((role, first, warm, len(body), len(gzip.compress(body, 6))))

    print(f"reports: {reports:,}".replace(",", " "))
    print(f"baseline SELECT count(*) FROM reports: {floor * 1000:.0f} ms")
    print(f"baseline indicators.compute (commune, institution): {indicators * 1000:.0f} ms")
    print("| page | first (ms) | warm (ms) | HTML (bytes) | gzip (bytes) |")
    print("|---|---:|---:|---:|---:|")
    for role, first, warm, raw, packed in rows:
        print(f"| /carte as {role} | {first * 1000:.0f} | {warm * 1000:.0f} | {raw} | {packed} |")


if __name__ == "__main__":
    main()
