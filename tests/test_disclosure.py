"""An adversary with an institution's token tries to recover every hidden small count.

On a generated data set, on each database, it asks the API for everything it may ask for —
every period of the calendar grid at every level, two families of counts (reports, and the
vulnerable households among them: a filter and its complement) — checks that the GeoJSON
export and the dashboard give the same cells, and tries the free periods of the review's
attacks (refused). Then, for every cell shown "< 5", it solves the integer programme of all
it has read — each published count is the sum of the month × territory counts it covers,
within the published perturbation of its value, zeros are zeros, a subset never exceeds its
set — for the smallest and the largest value the cell can hold. It must never find a
single one. docs/privacy.md describes the protection it attacks.
"""

import datetime as dt
import itertools
import random
import re
from dataclasses import dataclass

import numpy as np
import pytest
import sqlalchemy as sa
from markupsafe import escape
from scipy import optimize, sparse

from ohpunaises.auth import issue_token
from ohpunaises.extensions import db
from ohpunaises.models import Territory
from ohpunaises.privacy import MAX_PERTURBATION

from .conftest import ApiClient, make_report, make_structure, make_user, signed_in_client

K = 5
MONTHS = [(2024, 10), (2024, 11), (2024, 12), *((2025, month) for month in range(1, 13))]
REPORTS = 700
LYON = "69123"


def month_range(year: int, month: int, months: int) -> tuple[dt.date, dt.date]:
    start = dt.date(year, month, 1)
    index = year * 12 + month - 1 + months
    return start, dt.date(index // 12, index % 12 + 1, 1) - dt.timedelta(days=1)


def grid() -> list[tuple[dt.date | None, dt.date | None]]:
    """Every period the adversary may ask for over the data: all, years, quarters, months."""
    periods = [(None, None)]
    periods += [month_range(year, 1, 12) for year in (2024, 2025)]
    periods += [month_range(year, month, 3) for year, month in MONTHS if month % 3 == 1]
    periods += [month_range(year, month, 1) for year, month in MONTHS]
    return periods


@pytest.fixture
def generated(app, make_app):
    """700 reports over 15 months: many in Lyon (each in an arrondissement) and
    Villeurbanne, a long tail of communes with a few each; four in ten vulnerable. Served by
    an application without the per-account budget of figures: the adversary has all day."""
    served = make_app(OHPUNAISES_RATELIMIT_FIGURES="100000 per minute")
    rng = random.Random(2026_12_02)
    with app.app_context():
        communes = db.session.execute(
            sa.select(Territory.code, Territory.id).where(Territory.level == "commune")
        ).all()
        arrondissements = db.session.scalars(
            sa.select(Territory).where(Territory.level == "arrondissement")
        ).all()
        structure = make_structure("Bailleur", LYON, "social_landlord")
        codes = sorted(code for code, _id in communes)
        weights = {code: 0.3 for code in codes}
        weights.update({LYON: 40, "69266": 15, "69259": 4, "69029": 2})
        for _ in range(REPORTS):
            code = rng.choices(codes, [weights[code] for code in codes])[0]
            year, month = rng.choice(MONTHS)
            day = dt.date(year, month, rng.randint(1, 28))
            fields = {"vuln_minimum_benefits": rng.random() < 0.4}
            if code == LYON:
                fields["arrondissement"] = rng.choice(arrondissements)
            make_report(structure, code, day, **fields)
        adversary = make_user("adversary@example.org", "institution")
        token, user_id = issue_token(adversary)[0], adversary.id
        db.session.commit()
    return ApiClient(served.test_client(), token), user_id


@dataclass
class Published:
    """What the adversary read of one cell: its value, or that it is hidden."""

    family: str  # reports, vulnerable
    period: tuple
    place: str  # "whole", a commune code, or an arrondissement code
    value: int | None
    hidden: bool


def read_cells(api: ApiClient) -> dict[tuple, Published]:
    cells = {}
    for (start, end), level in itertools.product(grid(), ("commune", "arrondissement")):
        dates = f"from={start}&to={end}&" if start else ""
        url = f"/api/v1/indicators?{dates}level={level}&ids=reports&ids=share_vulnerable"
        response = api.get(url)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert body["suppression"] == {"applied": True, "k": K, "perturbation": MAX_PERTURBATION}
        for indicator in body["indicators"]:
            family = "reports" if indicator["id"] == "reports" else "vulnerable"
            rows = [("whole", indicator["whole"])]
            rows += [(row["territory"]["code"], row) for row in indicator["territories"]]
            for place, figure in rows:
                cell = figure if family == "reports" else figure["numerator"]
                key = (family, (start, end), place)
                found = Published(*key, cell["value"], cell["suppressed"])
                assert cells.setdefault(key, found) == found, key  # the same cell, the same
                if found.hidden:
                    assert cell["display"] == f"< {K}"
    return cells


def test_the_free_periods_of_the_review_are_refused(generated):
    api, _user = generated
    for query in ("from=2024-01-01&to=2025-01-08", "from=2024-01-01&to=2025-01-15"):
        response = api.get(f"/api/v1/indicators?{query}&level=commune&ids=reports")
        assert response.status_code == 422


def test_the_geojson_and_the_dashboard_read_the_cells_of_the_api(app, generated):
    api, user_id = generated
    period = "from=2025-03-01&to=2025-03-31"
    body = api.get(f"/api/v1/indicators?{period}&level=commune&ids=reports").get_json()
    by_code = {
        row["territory"]["code"]: row["display"] for row in body["indicators"][0]["territories"]
    }
    features = api.get(f"/api/v1/exports/territories.geojson?{period}&level=commune").get_json()
    exported = {
        f["properties"]["code"]: f["properties"]["reports_display"] for f in features["features"]
    }
    assert exported == by_code
    page = signed_in_client(app, user_id).get("/indicateurs?periode=2025-03&level=commune")
    table = page.get_data(as_text=True).split("<caption>Indicateurs par territoire</caption>")[1]
    names = dict(db_names(app))
    rows = re.findall(r'<tr><th scope="row">(.*?)</th><td>(.*?)</td>', table.split("</table>")[0])
    shown = dict(rows)
    for code, display in by_code.items():
        assert shown[str(escape(names[code]))] == str(escape(display)), code


def db_names(app):
    with app.app_context():
        rows = db.session.execute(
            sa.select(Territory.code, Territory.name).where(Territory.level == "commune")
        ).all()
        db.session.remove()
    return rows


class Adversary:
    """The integer programme of everything published, over month × territory counts."""

    def __init__(self, app, cells: dict[tuple, Published]):
        self.cells = cells
        with app.app_context():
            rows = db.session.execute(
                sa.select(Territory.code, Territory.level, Territory.parent_id, Territory.id)
            ).all()
            db.session.remove()
        code_of = {row.id: row.code for row in rows}
        arrondissements = sorted(row.code for row in rows if row.level == "arrondissement")
        self.parent = {row.code: code_of.get(row.parent_id) for row in rows}
        communes = sorted(row.code for row in rows if row.level == "commune")
        # The finest places: each arrondissement, what of Lyon lies outside them, each commune.
        self.places = [*arrondissements, "lyon-rest", *(c for c in communes if c != LYON)]
        self.columns = {
            key: index
            for index, key in enumerate(
                itertools.product(("reports", "vulnerable"), MONTHS, self.places)
            )
        }
        self.rows, self.low, self.high = [], [], []
        self.zero = set()  # counts a published zero covers: zero themselves
        for cell in cells.values():
            self._constrain(cell)
        for month, place in itertools.product(MONTHS, self.places):  # a subset never exceeds
            self._row({("vulnerable", month, place): 1, ("reports", month, place): -1}, -np.inf, 0)
        # Only the counts that may not be zero stay unknowns: a smaller programme, solved
        # once per bound of each hidden cell.
        free = [column for column in self.columns if column not in self.zero]
        self.columns = {column: index for index, column in enumerate(free)}
        self.matrix = sparse.csr_matrix(self._dense_rows())

    def covered(self, cell: Published) -> list[tuple]:
        start, end = cell.period
        months = [m for m in MONTHS if start is None or start <= dt.date(*m, 1) <= end]
        if cell.place == "whole":
            places = self.places
        elif cell.place == LYON:
            places = [p for p in self.places if p == "lyon-rest" or self.parent.get(p) == LYON]
        else:
            places = [cell.place]
        return [(cell.family, month, place) for month in months for place in places]

    def _constrain(self, cell: Published):
        columns = self.covered(cell)
        if not cell.hidden and cell.value == 0:
            self.zero.update(columns)  # zero stays zero: every count it covers is zero
            return
        if cell.hidden:
            low, high = 1, K - 1 + MAX_PERTURBATION
        else:
            low, high = max(1, cell.value - MAX_PERTURBATION), cell.value + MAX_PERTURBATION
        self._row(dict.fromkeys(columns, 1), low, high)

    def _row(self, coefficients: dict, low, high):
        self.rows.append(coefficients)
        self.low.append(low)
        self.high.append(high)

    def _dense_rows(self):
        matrix = sparse.lil_matrix((len(self.rows), len(self.columns)))
        for index, coefficients in enumerate(self.rows):
            for column, value in coefficients.items():
                if column in self.columns:
                    matrix[index, self.columns[column]] = value
        return matrix

    def bounds(self, cell: Published, integral: bool) -> tuple[float, float]:
        objective = np.zeros(len(self.columns))
        for column in self.covered(cell):
            if column in self.columns:
                objective[self.columns[column]] = 1
        found = []
        for sign in (1, -1):
            result = optimize.milp(
                sign * objective,
                constraints=optimize.LinearConstraint(self.matrix, self.low, self.high),
                bounds=optimize.Bounds(0, np.inf),
                integrality=np.ones(len(self.columns)) if integral else None,
                options={"presolve": True},
            )
            assert result.status == 0, result.message  # the truth is always feasible
            found.append(sign * result.fun)
        return found[0], found[1]

    def values(self, cell: Published) -> int:
        """How many whole numbers the cell may still hold, given everything published."""
        low, high = self.bounds(cell, integral=False)
        lowest, highest = int(np.ceil(low - 1e-6)), int(np.floor(high + 1e-6))
        if highest - lowest <= 2:  # narrow: let the adversary use integrality too
            low, high = self.bounds(cell, integral=True)
            lowest, highest = round(low), round(high)
        return highest - lowest + 1


def test_an_institution_recovers_no_hidden_cell(app, generated, database_kind):
    api, _user = generated
    cells = read_cells(api)
    hidden = [cell for cell in cells.values() if cell.hidden]
    adversary = Adversary(app, cells)
    widths = sorted(adversary.values(cell) for cell in hidden)
    print(
        f"\nadversary on {database_kind}: {len(cells)} cells read, {len(hidden)} hidden and "
        f"attacked; possible values left per hidden cell: fewest {widths[0]}, median "
        f"{widths[len(widths) // 2]}, cells left with two values {widths.count(2)}"
    )
    assert len(hidden) > 100
    assert widths[0] >= 2  # no hidden cell recovered
