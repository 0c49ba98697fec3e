"""Territories by pages: every territory once, in code order, the same figures as the whole
answer (hidden cells hidden alike), and a malformed cursor or limit refused in French."""

import base64
import datetime as dt
import json
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, box

from ohpunaises.extensions import db, limiter
from ohpunaises.models import Territory
from ohpunaises.territories import territory_by_code
from ohpunaises.usecases.territories import encode_cursor

from .conftest import make_report, make_structure

INDICATORS = "/api/v1/indicators?from=2025-01-01&to=2025-12-31"
TERRITORIES = "/api/v1/territories"
UNMOVED = 2000  # 12 records of this key: the cell-key perturbation leaves their count as is
LYON, VILLEURBANNE = "69123", "69266"


def add_qpvs(commune: str, count: int) -> list[Territory]:
    """`count` small QPVs in the commune, side by side."""
    parent = territory_by_code(commune)
    qpvs = [
        Territory(
            code=f"QP069P{commune[-2:]}{n}",
            name=f"Quartier paginé {n}",
            level="qpv",
            parent=parent,
            population=1000,
            geom=from_shape(MultiPolygon([box(4.80 + n / 100, 45.70, 4.805 + n / 100, 45.705)])),
        )
        for n in range(count)
    ]
    db.session.add_all(qpvs)
    return qpvs


@pytest.fixture(autouse=True)
def _fresh_rate_limits(app):
    """Reading every page, a test asks for figures more often than a client would in a minute."""
    limiter.reset()


@pytest.fixture
def reports(app):
    """12 reports in Lyon (a count shown as it is), 2 in Villeurbanne moved to 1 (hidden), each
    group in a QPV of its commune among nine."""
    with app.app_context():
        in_lyon, in_villeurbanne = add_qpvs(LYON, 5)[2], add_qpvs(VILLEURBANNE, 4)[1]
        a = make_structure("Structure paginée", LYON)
        for day in range(1, 13):
            make_report(a, LYON, dt.date(2025, 5, day), record_key=UNMOVED, qpv=in_lyon)
        for day in (3, 4):
            make_report(a, VILLEURBANNE, dt.date(2025, 6, day), record_key=0, qpv=in_villeurbanne)
        db.session.commit()


def read_pages(reader, url: str, limit: int) -> list[dict]:
    """Every page of an answer, following next_cursor from the first to the last."""
    pages, cursor = [], None
    while True:
        page_url = f"{url}&limit={limit}" + (f"&cursor={quote(cursor)}" if cursor else "")
        response = reader.get(page_url)
        assert response.status_code == 200, response.get_json()
        pages.append(response.get_json())
        cursor = pages[-1]["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 100, "the cursor does not move on"


def codes(indicator: dict) -> list[str]:
    return [row["territory"]["code"] for row in indicator["territories"]]


def joined(pages: list[dict]) -> list[dict]:
    """The indicators of the pages, each with the territories of every page in turn."""
    indicators = [dict(indicator, territories=[]) for indicator in pages[0]["indicators"]]
    for page in pages:
        for whole, part in zip(indicators, page["indicators"], strict=True):
            assert part["id"] == whole["id"]
            whole["territories"] += part["territories"]
    return indicators


# Indicators ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["coordinator", "institution"])
@pytest.mark.parametrize("level", ["commune", "arrondissement", "qpv"])
def test_reading_every_page_of_indicators_gives_the_whole_answer(accounts, reports, role, level):
    url = f"{INDICATORS}&level={level}"
    whole = accounts[role].get(url).get_json()
    count = len(whole["indicators"][0]["territories"])
    assert count > 0 and whole["territory_count"] == count
    assert whole["next_cursor"] is None
    pages = read_pages(accounts[role], url, 7)
    assert len(pages) == -(-count // 7)
    for page in pages:
        assert len(page["indicators"][0]["territories"]) <= 7
        assert page["territory_count"] == count
        for key in ("period", "reference_date", "territory", "level", "suppression"):
            assert page[key] == whole[key]
        for indicator, entire in zip(page["indicators"], whole["indicators"], strict=True):
            assert indicator["whole"] == entire["whole"]
            assert codes(indicator) in ([], codes(page["indicators"][0]))
    listed = codes(joined(pages)[0])
    assert listed == codes(whole["indicators"][0]) == sorted(listed)
    assert len(set(listed)) == count
    assert joined(pages) == whole["indicators"]


@pytest.mark.parametrize(
    ("level", "small", "large"),
    [("commune", VILLEURBANNE, LYON), ("qpv", "QP069P661", "QP069P232")],
)
def test_a_cell_hidden_in_the_whole_answer_is_hidden_alike_in_its_page(
    accounts, reports, level, small, large
):
    url = f"{INDICATORS}&level={level}"
    whole = accounts["institution"].get(url).get_json()
    hidden = cell(whole, "reports", small)
    assert hidden == {"value": None, "suppressed": True, "display": "< 5"}
    assert cell(whole, "reports", large)["value"] == 12
    for page in read_pages(accounts["institution"], url, 7):
        for indicator in page["indicators"]:
            for row in indicator["territories"]:
                assert row == cell_row(whole, indicator["id"], row["territory"]["code"])
    pages = read_pages(accounts["institution"], f"{url}&ids=reports", 3)
    found = [page for page in pages if small in codes(page["indicators"][0])]
    assert len(found) == 1 and cell(found[0], "reports", small) == hidden


def cell_row(body: dict, indicator_id: str, code: str) -> dict:
    indicator = next(i for i in body["indicators"] if i["id"] == indicator_id)
    return next(row for row in indicator["territories"] if row["territory"]["code"] == code)


def cell(body: dict, indicator_id: str, code: str) -> dict:
    row = cell_row(body, indicator_id, code)
    return {key: row[key] for key in ("value", "suppressed", "display")}


def test_the_default_page_holds_every_territory_of_the_metropolis(accounts, reports):
    body = accounts["agent"].get(f"{INDICATORS}&level=commune&ids=reports").get_json()
    assert body["next_cursor"] is None
    assert body["territory_count"] == len(body["indicators"][0]["territories"]) > 50


def test_without_a_level_there_is_no_territory_to_page(accounts, reports):
    body = accounts["coordinator"].get(f"{INDICATORS}&ids=reports&limit=1").get_json()
    assert (body["territory_count"], body["next_cursor"]) == (0, None)
    assert body["indicators"][0]["whole"]["value"] == 14


def test_pages_carry_their_targets(accounts, reports):
    body = accounts["coordinator"].get(f"{INDICATORS}&level=commune&targets=1&limit=3").get_json()
    assert body["territory_count"] > 3 and body["next_cursor"]
    assert len(body["indicators"][0]["territories"]) == 3
    assert body["indicators"][0]["target_note"] == "aucune cible"


def test_a_cursor_of_a_territory_gone_starts_after_where_it_was(accounts, reports):
    cursor = encode_cursor(SimpleNamespace(code="69265", id=2**31 - 1))
    body = (
        accounts["coordinator"]
        .get(f"{INDICATORS}&level=commune&ids=reports&limit=1&cursor={cursor}")
        .get_json()
    )
    assert codes(body["indicators"][0]) == [VILLEURBANNE]


# Territories -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query", ["level=commune", "level=arrondissement", "level=qpv&simplify=0.001"]
)
def test_reading_every_page_of_territories_gives_the_whole_collection(accounts, reports, query):
    url = f"{TERRITORIES}?{query}"
    whole = accounts["agent"].get(url).get_json()
    assert whole["type"] == "FeatureCollection" and whole["next_cursor"] is None
    listed = [feature["properties"]["code"] for feature in whole["features"]]
    assert listed and listed == sorted(listed)
    pages = read_pages(accounts["agent"], url, 7)
    assert len(pages) == -(-len(listed) // 7)
    assert all(page["type"] == "FeatureCollection" for page in pages)
    assert [f for page in pages for f in page["features"]] == whole["features"]


def test_a_page_as_long_as_what_remains_is_the_last(accounts):
    whole = accounts["agent"].get(f"{TERRITORIES}?level=arrondissement").get_json()
    count = len(whole["features"])
    exact = accounts["agent"].get(f"{TERRITORIES}?level=arrondissement&limit={count}")
    assert exact.get_json()["next_cursor"] is None
    short = accounts["agent"].get(f"{TERRITORIES}?level=arrondissement&limit={count - 1}")
    assert short.get_json()["next_cursor"]


def test_territories_are_searched_by_name_or_code_whatever_the_case(accounts):
    def found(query):
        body = accounts["agent"].get(f"{TERRITORIES}?level=commune&q={query}").get_json()
        return [feature["properties"]["code"] for feature in body["features"]]

    assert found("VILLEUR") == found("villeur") == [VILLEURBANNE]
    assert found("69266") == [VILLEURBANNE]
    assert found("%25") == found("_") == []
    paged = read_pages(accounts["agent"], f"{TERRITORIES}?level=commune&q=sur", 1)
    whole = found("sur")
    assert len(whole) > 1
    assert [f["properties"]["code"] for page in paged for f in page["features"]] == whole


def test_a_territory_cursor_of_a_territory_gone_starts_after_where_it_was(accounts):
    cursor = encode_cursor(SimpleNamespace(code="69265", id=2**31 - 1))
    body = accounts["agent"].get(f"{TERRITORIES}?level=commune&limit=1&cursor={cursor}")
    assert [f["properties"]["code"] for f in body.get_json()["features"]] == [VILLEURBANNE]


# Refusals --------------------------------------------------------------------------------------


def as_cursor(value) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return quote(base64.urlsafe_b64encode(raw).decode().rstrip("="))


BAD_CURSORS = [
    "pas-un-curseur!",
    "%25%25%25",
    as_cursor(b"\xff\xfe"),
    as_cursor({"code": "69123"}),
    as_cursor(["69123"]),
    as_cursor(["69123", "12"]),
    as_cursor(["69123", True]),
    as_cursor(["69123", 2**70]),
    as_cursor(["691\x0023", 1]),
    as_cursor(["\ud800", 1]),
    as_cursor(["", 1]),
    "x" * 201,
]


@pytest.mark.parametrize("url", [f"{INDICATORS}&level=commune", f"{TERRITORIES}?level=commune"])
@pytest.mark.parametrize("cursor", BAD_CURSORS)
def test_a_malformed_cursor_is_refused_in_french(accounts, url, cursor):
    response = accounts["coordinator"].get(f"{url}&cursor={cursor}")
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    errors = response.get_json()["errors"]
    assert [error["field"] for error in errors] == ["cursor"]
    assert errors[0]["message"] in ("Curseur invalide.", "Longueur attendue entre 1 et 200.")


@pytest.mark.parametrize(
    ("url", "limit", "message"),
    [
        (f"{TERRITORIES}?level=commune", "0", "Valeur attendue entre 1 et 5000."),
        (f"{TERRITORIES}?level=commune", "5001", "Valeur attendue entre 1 et 5000."),
        (f"{TERRITORIES}?level=commune", "-3", "Valeur attendue entre 1 et 5000."),
        (f"{TERRITORIES}?level=commune", "sept", "Nombre entier attendu."),
        # A territory's indicators weigh ten times its outline: pages of 500 at most.
        (f"{INDICATORS}&level=commune", "0", "Valeur attendue entre 1 et 500."),
        (f"{INDICATORS}&level=commune", "501", "Valeur attendue entre 1 et 500."),
        (f"{INDICATORS}&level=commune", "sept", "Nombre entier attendu."),
    ],
)
def test_a_limit_out_of_bounds_is_refused_in_french(accounts, url, limit, message):
    response = accounts["coordinator"].get(f"{url}&limit={limit}")
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert [(error["field"], error["message"]) for error in errors] == [("limit", message)]
