"""How long the indicators take, against a floor measured in the same run.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/ohp_perf SECRET_KEY=… \
    OHPUNAISES_ENV=development .venv/bin/python bench/indicators.py [--repeat 3]

Fill the database first with `ohpunaises init` and `ohpunaises demo --reports N`. The floor
is `SELECT count(*) FROM reports`, the least any figure over every report costs. "cold"
runs every aggregate (the cache emptied first); "cached" is a repeated request while the
data do not change, which costs the data-version check and the suppression of the cells.
"""

import argparse
import datetime as dt

import sqlalchemy as sa
from common import timed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from ohpunaises import indicators
    from ohpunaises.app import create_app
    from ohpunaises.extensions import db
    from ohpunaises.indicators import cache
    from ohpunaises.models import Territory

    app = create_app()
    with app.test_request_context():
        reports = db.session.scalar(sa.text("SELECT count(*) FROM reports"))
        lyon = db.session.scalar(sa.select(Territory).where(Territory.code == "69123"))
        period = indicators.Period(dt.date(2000, 1, 1), dt.date.today())

        def floor():
            db.session.scalar(sa.text("SELECT count(*) FROM reports"))

        cases = {
            "whole": dict(period=period),
            "per commune": dict(period=period, level="commune"),
            "Lyon, per arrondissement": dict(period=period, territory=lyon, level="arrondissement"),
        }
        print(f"{db.engine.dialect.name}, {reports:,} reports, median of {args.repeat}")
        print(f"{'floor: SELECT count(*) FROM reports':45s} {timed(floor, args.repeat)[0]:8.3f} s")
        for name, params in cases.items():

            def cold(params=params):
                cache.clear()
                indicators.compute(viewer_role="institution", **params)
                db.session.rollback()

            def warm(params=params):
                indicators.compute(viewer_role="institution", **params)
                db.session.rollback()

            print(f"{'compute, ' + name + ', cold':45s} {timed(cold, args.repeat)[0]:8.3f} s")
            warm()
            print(f"{'compute, ' + name + ', cached':45s} {timed(warm, args.repeat)[0]:8.3f} s")


if __name__ == "__main__":
    main()
