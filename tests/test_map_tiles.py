"""Maps drawn from tiles: what a tile holds, that it shows what the whole page shows, and a map
of every commune of France drawn in a real browser with its hidden cells kept hidden.

The Lyon dataset is test_map's: Bron 3 reports (under K = 5), Vénissieux 6 (hidden as Bron's
complement for every reader but the coordination), Villeurbanne 8.
"""

import datetime as dt
import functools
import gzip
import json
import math

import pytest
import shapely
import sqlalchemy as sa
from geoalchemy2.shape import from_shape
from markupsafe import escape
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from ohpunaises.extensions import db
from ohpunaises.map import tiles
from ohpunaises.map.builders import HIDDEN_COLOUR
from ohpunaises.models import Territory, User
from ohpunaises.privacy import MAX_PERTURBATION as MOST

from .browser import chromium, sign_in, wait_until
from .conftest import make_report, make_structure, make_user, signed_in_client
from .test_gunicorn import gunicorn
from .test_map import dataset, page_as, tooltips  # noqa: F401  (dataset: a fixture)

CODE, NAME, VALUE, COUNT, FILL, HIDDEN, POLYGONS = range(7)


def tile_range(bounds, z: int):
    """Every tile x, y of zoom z over [[south, west], [north, east]]."""
    (south, west), (north, east) = bounds

    def column(lon):
        return int((lon + 180) / 360 * 2**z)

    def row(lat):
        lat = math.radians(lat)
        return int((1 - math.log(math.tan(lat) + 1 / math.cos(lat)) / math.pi) / 2 * 2**z)

    return [
        (x, y)
        for x in range(column(west), column(east) + 1)
        for y in range(row(north), row(south) + 1)
    ]


def client_as(app, role: str):
    with app.app_context():
        user_id = db.session.scalar(sa.select(User.id).where(User.email == f"{role}@example.org"))
        db.session.remove()
    return signed_in_client(app, user_id)


def level_bounds(app, level="commune"):
    with app.app_context():
        return tiles.level_bounds(level)


def every_tile(app, client, z: int, query="indicator=reports_per_10000&level=commune"):
    """The territories of every tile of zoom z over the level, by code (first tile's entry),
    and how many tiles each one is in."""
    found, seen = {}, {}
    for x, y in tile_range(level_bounds(app), z):
        response = client.get(f"/carte/tuiles/{z}/{x}/{y}.json?{query}")
        assert response.status_code == 200, response.get_data(as_text=True)
        for territory in response.get_json()["territories"]:
            entry = found.setdefault(territory[CODE], territory)
            assert entry[:POLYGONS] == territory[:POLYGONS]  # the same figures in every tile
            seen[territory[CODE]] = seen.get(territory[CODE], 0) + 1
    return found, seen


@pytest.mark.parametrize("role", ["coordinator", "institution", "agent"])
def test_tiles_carry_exactly_what_the_whole_page_shows(dataset, role):  # noqa: F811
    page = tooltips(page_as(dataset, role).get_data(as_text=True))
    found, _seen = every_tile(dataset, client_as(dataset, role), 10)
    with dataset.app_context():
        names = dict(
            db.session.execute(
                sa.select(Territory.code, Territory.name).where(Territory.level == "commune")
            ).all()
        )
    assert set(found) == set(names)  # every commune is in a tile
    for code, territory in found.items():
        drawn = page[str(escape(names[code]))]  # the page escapes what its tooltips show
        assert territory[NAME] == names[code]
        assert str(escape(territory[VALUE])) == drawn["value"]
        assert str(escape(territory[COUNT])) == drawn["count"]
        assert (territory[FILL], territory[HIDDEN]) == (drawn["fill"], drawn["hidden"])


def test_a_hidden_cell_stays_hidden_in_every_tile(dataset):  # noqa: F811
    with dataset.app_context():
        structure = make_structure("Structure C", "69034")  # Caluire-et-Cuire
        for day in (2, 3):  # keys of 0: perturbed by nothing, so 2 stays under K
            make_report(structure, "69034", dt.date(2025, 3, day), record_key=0)
        db.session.commit()
    client = client_as(dataset, "institution")
    query = "indicator=reports&level=commune"
    for z in (9, 11, 13):
        found, _seen = every_tile(dataset, client, z, query)
        caluire = found["69034"]
        assert (caluire[VALUE], caluire[COUNT], caluire[HIDDEN]) == ("< 5", None, True)
        assert caluire[FILL] == HIDDEN_COLOUR
        shown = {territory[VALUE] for territory in found.values()}
        assert not shown & {"1", "2", "3", "4"}


def test_a_tiled_page_carries_no_outline(dataset, monkeypatch):  # noqa: F811
    whole = page_as(dataset, "institution").get_data(as_text=True)
    monkeypatch.setitem(dataset.config, "MAP_TILES_ABOVE", 10)
    tiled = page_as(dataset, "institution").get_data(as_text=True)
    assert tooltips(tiled) == {}
    assert "/static/js/territory-tiles.js" in tiled
    assert (
        '"/carte/tuiles/{z}/{x}/{y}.json?indicator=reports_per_10000\\u0026level=commune"' in tiled
    )
    assert len(tiled) < len(whole) / 2
    # The arrondissements, 9 of them, are still written whole into the page.
    arrondissements = page_as(dataset, "institution", "/carte?level=arrondissement")
    assert len(tooltips(arrondissements.get_data(as_text=True))) == 9


def test_tiles_are_compressed_for_who_accepts_it(dataset):  # noqa: F811
    client = client_as(dataset, "institution")
    (x, y), *_ = tile_range(level_bounds(dataset), 9)
    url = f"/carte/tuiles/9/{x}/{y}.json?indicator=reports&level=commune"
    plain = client.get(url)
    packed = client.get(url, headers={"Accept-Encoding": "gzip, br"})
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(packed.get_data())) == plain.get_json()
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert len(packed.get_data()) < len(plain.get_data()) / 2


def test_a_compressed_tile_is_kept_by_its_text_alone(dataset, monkeypatch):  # noqa: F811
    # A view asked again is served from the compressed text kept; a tile whose figures
    # changed (another reader, another data version) is another text, compressed anew.
    (x, y), *_ = tile_range(level_bounds(dataset), 9)
    url = f"/carte/tuiles/9/{x}/{y}.json?indicator=reports&level=commune"
    packed = {}
    for role in ("institution", "coordinator"):
        client = client_as(dataset, role)
        plain = client.get(url).get_data()
        answers = [client.get(url, headers={"Accept-Encoding": "gzip"}) for _ in range(2)]
        assert all(gzip.decompress(answer.get_data()) == plain for answer in answers)
        packed[role] = plain
    assert packed["institution"] != packed["coordinator"]  # raw figures for the coordination
    first = tiles.gzipped(packed["institution"])
    assert tiles.gzipped(packed["institution"]) is first
    # Past its bound, the least recently used text is dropped and compressed again if asked.
    monkeypatch.setattr(tiles, "GZIPPED_BYTES", len(first) + 1)
    tiles.gzipped(packed["coordinator"] + b" ")  # a new text: kept, the others dropped
    again = tiles.gzipped(packed["institution"])
    assert again is not first and again == first


@pytest.mark.parametrize(
    "url",
    [
        "/carte/tuiles/19/0/0.json",
        "/carte/tuiles/3/8/0.json",
        "/carte/tuiles/3/0/8.json",
        "/carte/tuiles/3/-1/0.json",
    ],
)
def test_a_tile_off_the_map_is_not_found(dataset, url):  # noqa: F811
    response = client_as(dataset, "institution").get(url)
    assert response.status_code == 404


@pytest.mark.parametrize("query", ["indicator=people_reached", "level=qpv", "from=2025-13-01"])
def test_a_malformed_tile_request_is_refused(dataset, query):  # noqa: F811
    response = client_as(dataset, "institution").get(f"/carte/tuiles/9/262/180.json?{query}")
    assert response.status_code == 400


def test_tiles_ask_for_a_signed_in_reader(dataset, client):  # noqa: F811
    response = client.get("/carte/tuiles/9/262/180.json")
    assert response.status_code in (302, 401)


def test_embedded_tiles_show_the_public_figures_to_anyone(dataset, monkeypatch):  # noqa: F811
    coordinator = client_as(dataset, "coordinator")
    (x, y), *_ = tile_range(level_bounds(dataset), 9)
    url = f"/carte/embed/tuiles/9/{x}/{y}.json?indicator=reports&level=commune"
    assert coordinator.get(url).status_code == 404  # embedding is off by default
    monkeypatch.setitem(dataset.config, "EMBED", True)
    found, _seen = every_tile(dataset, coordinator, 9, "indicator=reports&level=commune")
    assert found["69029"][VALUE] == "3"  # the coordination's own tiles: raw
    response = coordinator.get(url)
    assert response.headers["Cache-Control"] == "public, max-age=300"
    public = {territory[CODE]: territory for territory in response.get_json()["territories"]}
    embedded = tooltips(coordinator.get("/carte/embed?indicator=reports").get_data(as_text=True))
    assert public["69029"][VALUE] != "3"  # perturbed to 5 or more, or hidden: never the truth
    for territory in public.values():
        drawn = embedded[str(escape(territory[NAME]))]
        assert (str(escape(territory[VALUE])), territory[HIDDEN]) == (
            drawn["value"],
            drawn["hidden"],
        )


def test_postgis_cuts_the_tiles_the_shapely_path_cuts(dataset, database_kind):  # noqa: F811
    """ST_AsMVTGeom against the Python path, which SpatiaLite uses: same territories, same
    areas up to the simplification of each."""
    if database_kind != "postgis":
        pytest.skip("ST_AsMVTGeom: PostGIS only; SpatiaLite runs the shapely path itself")
    compared = 0
    with dataset.app_context():
        bounds = tiles.level_bounds("commune")
        stamp = tiles.stamp("commune")
        for z in (8, 10, 12):
            for x, y in tile_range(bounds, z):
                fast = {
                    o.territory_id: area(o.polygons) for o in tiles.outlines("commune", z, x, y)
                }
                slow = {
                    o.territory_id: area(o.polygons)
                    for o in tiles._shapely_outlines("commune", stamp, z, x, y)
                }
                # A sliver along the tile's margin may round to nothing on one side only.
                for territory_id in fast.keys() ^ slow.keys():
                    assert fast.get(territory_id, slow.get(territory_id)) < 40
                for territory_id in fast.keys() & slow.keys():
                    big = max(fast[territory_id], slow[territory_id])
                    gap = abs(fast[territory_id] - slow[territory_id])
                    assert gap <= 0.02 * big + 40, (z, x, y, territory_id)
                    compared += 1
    assert compared > 100


def area(text: str) -> float:
    """The area in square tile units, holes taken out (even-odd, as the canvas fills)."""
    rings = [shapely.Polygon(ring).buffer(0) for polygon in json.loads(text) for ring in polygon]
    return functools.reduce(shapely.symmetric_difference, rings).area


# Every commune of France, in a real browser ----------------------------------------------------

FRANCE = (-4.75, 42.5, 8.0, 51.0)  # west, south, east, north
STEP = 0.25  # degrees: about 1,900 squares, well above the tiling threshold
HIDDEN_CODE, SEEN_CODE = "F0700", "F1200"


def square_of(code: str):
    columns = int((FRANCE[2] - FRANCE[0]) / STEP)
    index = int(code[1:])
    west = FRANCE[0] + (index % columns) * STEP
    south = FRANCE[1] + (index // columns) * STEP
    return shapely.box(west, south, west + STEP, south + STEP)


@pytest.fixture
def france(app):
    """Communes over the whole of mainland France's box, one hidden count and one that is
    not, and an institution to read them."""
    columns = int((FRANCE[2] - FRANCE[0]) / STEP)
    rows = int((FRANCE[3] - FRANCE[1]) / STEP)
    with app.app_context():
        db.session.add_all(
            Territory(
                code=f"F{index:04d}",
                name=f"Commune {index}",
                level="commune",
                population=1000 + index,
                geom=from_shape(shapely.MultiPolygon([square_of(f"F{index:04d}")]), srid=4326),
            )
            for index in range(columns * rows)
        )
        db.session.flush()
        structure = make_structure("Structure F", SEEN_CODE)
        for day in (2, 3):  # keys of 0: perturbed by nothing, so 2 stays under K
            make_report(structure, HIDDEN_CODE, dt.date(2025, 3, day), record_key=0)
        for day in range(1, 21):
            make_report(structure, SEEN_CODE, dt.date(2025, 3, day), record_key=0)
        make_user("institution@example.org", "institution")
        db.session.commit()
    return columns * rows


TILE_LAYER = """
    const map = window[document.querySelector(".folium-map").id];
    const layer = Object.values(map._layers).find((l) => l instanceof L.OhpTerritoryTiles);
"""
TILES_LOADED = (
    TILE_LAYER
    + """
    const canvases = [...document.querySelectorAll("canvas.ohp-tile")];
    return canvases.length > 0 && !layer.isLoading() && canvases.every(
        (canvas) => canvas.classList.contains("leaflet-tile-loaded"));
"""
)
PAINTED = """
    let painted = 0, total = 0;
    for (const canvas of document.querySelectorAll("canvas.ohp-tile")) {
        const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
        for (let i = 3; i < pixels.data.length; i += 4) {
            total += 1;
            if (pixels.data[i] > 0) painted += 1;
        }
    }
    return [painted, total];
"""
ENTRIES = (
    TILE_LAYER
    + """
    const found = [];
    for (const data of layer._tiles_data.values()) {
        for (const territory of data.territories) {
            if (territory[0] === arguments[0]) found.push(territory.slice(0, 6));
        }
    }
    return found;
"""
)


def test_a_map_of_every_commune_of_france_is_drawn_from_tiles(france, database_url):
    with gunicorn(database_url) as base:
        driver = chromium()
        try:
            driver.execute_cdp_cmd("Network.enable", {})
            driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["https://*"]})
            sign_in(driver, base, "institution@example.org")
            driver.get(f"{base}/carte?indicator=reports&level=commune")
            wait_until(lambda: driver.execute_script(TILES_LOADED), 60, "the first tiles")
            # The whole country in view, drawn from a handful of tiles, not from the page.
            assert "Commune 700" not in driver.page_source
            zoom = driver.execute_script(TILE_LAYER + "return map.getZoom();")
            assert zoom <= 6
            painted, total = driver.execute_script(PAINTED)
            assert painted > total / 10
            hidden = driver.execute_script(ENTRIES, HIDDEN_CODE)
            seen = driver.execute_script(ENTRIES, SEEN_CODE)
            assert hidden and seen
            for entry in hidden:
                assert entry[VALUE:] == ["< 5", None, HIDDEN_COLOUR, True]
            for entry in seen:  # 20 reports, read within the perturbation
                assert not entry[HIDDEN] and abs(int(entry[VALUE]) - 20) <= MOST

            # Zoomed in on the hidden commune: the view's own tiles, and its tooltip.
            centre = square_of(HIDDEN_CODE).centroid
            driver.execute_script(
                TILE_LAYER + "map.setView([arguments[0], arguments[1]], 10);", centre.y, centre.x
            )
            wait_until(
                lambda: (
                    driver.execute_script(TILE_LAYER + "return layer._tileZoom === 10;")
                    and driver.execute_script(TILES_LOADED)
                ),
                60,
                "the tiles at zoom 10",
            )
            frame = driver.find_element(By.CSS_SELECTOR, ".folium-map")
            ActionChains(driver).move_to_element(frame).move_by_offset(3, 3).perform()
            tooltip = wait_until(
                lambda: driver.find_elements(By.CSS_SELECTOR, ".ohp-tile-tooltip"),
                what="the tooltip of the hidden commune",
            )[0]
            assert "Commune 700" in tooltip.text and "< 5" in tooltip.text
            assert "2" not in tooltip.text.replace("Commune 700", "")
        finally:
            driver.quit()
