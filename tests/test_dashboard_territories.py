"""The dashboard at the scale of France: its table by territory is searched and paged, its
territory filter is typed once the territories are many, its spread timeline is cut short.

Each test loads a few hundred small square communes of its own (codes 99001 and on, in the
sea off Brittany, far from the Lyon territories every test starts with)."""

import datetime as dt
import html
import re

import pytest
import sqlalchemy as sa
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, box

from ohpunaises.extensions import db
from ohpunaises.models import Territory

from .conftest import make_report, make_structure, make_user, signed_in_client
from .test_indicators import add_structure
from .test_web_indicators import cells

COORDINATOR = "/indicateurs?from=2025-01-01&to=2025-12-31&level=commune"
PROTECTED = "/indicateurs?periode=2025&level=commune"
CAPTION = "Indicateurs par territoire"
SPECIAL = {7: "Saint-Étienne-des-Essais", 210: "Lœuilly-sur-Mer"}
ROLES = ("coordinator", "institution")


def name_of(index: int) -> str:
    return SPECIAL.get(index, f"Commune d'essai {index:03d}")


def add_communes(count: int, first: int = 1, name=name_of) -> list[str]:
    """`count` square communes, codes 99001 and on; their codes."""
    codes = []
    for index in range(first, first + count):
        lon, lat = -6.0 + (index % 40) * 0.01, 47.0 + (index // 40) * 0.01
        shape = MultiPolygon([box(lon, lat, lon + 0.01, lat + 0.01)])
        code = f"99{index:03d}"
        db.session.add(
            Territory(
                code=code,
                name=name(index),
                level="commune",
                population=1000 + index,
                geom=from_shape(shape, srid=4326),
            )
        )
        codes.append(code)
    db.session.flush()
    return codes


def commune(code: str) -> Territory:
    return db.session.scalar(sa.select(Territory).where(Territory.code == code))


def commune_names() -> list[str]:
    query = sa.select(Territory.name).where(Territory.level == "commune")
    return list(db.session.scalars(query))


@pytest.fixture
def accounts(app):
    """A coordinator and an institution, and 250 more communes."""
    with app.app_context():
        ids = {role: make_user(f"{role}@example.org", role).id for role in ROLES}
        add_communes(250)
        db.session.commit()
    return {role: signed_in_client(app, user_id) for role, user_id in ids.items()}


def get(client, url, status=200) -> str:
    response = client.get(url)
    assert response.status_code == status, url
    return response.get_data(as_text=True)


def next_link(page: str) -> str | None:
    found = re.search(r'<a href="([^"]+)" rel="next">', page)
    return html.unescape(found.group(1)) if found else None


def rows_of(page: str) -> dict:
    """Territory name (unescaped) → its cells, in the order of the page's table."""
    if f"<caption>{CAPTION}</caption>" not in page:
        return {}
    return {html.unescape(name): row for name, row in cells(page, CAPTION).items()}


def summary(page: str) -> str:
    return re.search(r'<p class="table-summary"[^>]*>(.*?)</p>', page, re.S).group(1)


def test_paging_through_every_page_lists_every_territory_once(app, accounts):
    client = accounts["coordinator"]
    url, names, pages = COORDINATOR, [], []
    while url:
        page = get(client, url)
        pages.append(summary(page))
        names.extend(rows_of(page))
        url = next_link(page)
        if url:
            assert "from=2025-01-01" in url and "to=2025-12-31" in url and "level=commune" in url
    with app.app_context():
        every = commune_names()
    assert len(every) == 308  # the 58 communes of the Lyon metropolis, and 250
    assert len(names) == len(set(names)) == len(every)
    assert sorted(names) == sorted(every)
    assert pages == [
        "Territoires 1 à 100 sur 308.",
        "Territoires 101 à 200 sur 308.",
        "Territoires 201 à 300 sur 308.",
        "Territoires 301 à 308 sur 308.",
    ]


def test_the_pages_link_each_other_and_keep_the_filters(app, accounts):
    page = get(accounts["coordinator"], COORDINATOR + "&page_territoires=2")
    assert "Page 2 sur 4" in page
    previous = html.unescape(re.search(r'<a href="([^"]+)" rel="prev">', page).group(1))
    assert previous.startswith("/indicateurs?") and "page_territoires" not in previous
    assert "from=2025-01-01" in previous and previous.endswith("#territories-heading")
    assert "page_territoires=3" in next_link(page)
    form = page.split('<form class="territory-search', 1)[1].split("</form>", 1)[0]
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form))
    assert hidden == {"from": "2025-01-01", "to": "2025-12-31", "level": "commune"}


def test_the_search_finds_territories_by_name_whatever_the_case_and_accents(app, accounts):
    client = accounts["coordinator"]
    for typed in ("saint etienne", "SAINT-ÉTIENNE", "Étienne-des"):
        page = get(client, f"{COORDINATOR}&recherche_territoire={typed}")
        assert list(rows_of(page)) == ["Saint-Étienne-des-Essais"], typed
    page = get(client, f"{COORDINATOR}&recherche_territoire=loeuilly")
    assert list(rows_of(page)) == ["Lœuilly-sur-Mer"]
    page = get(client, f"{COORDINATOR}&recherche_territoire=villeurb")
    assert list(rows_of(page)) == ["Villeurbanne"]
    assert "Territoires 1 à 1 sur 1 correspondant à « villeurb »." in page


def test_the_search_finds_territories_by_code_and_pages_its_results(app, accounts):
    client = accounts["coordinator"]
    page = get(client, f"{COORDINATOR}&recherche_territoire=99123")
    assert list(rows_of(page)) == ["Commune d'essai 123"]
    page = get(client, f"{COORDINATOR}&recherche_territoire=9912")
    assert list(rows_of(page)) == [f"Commune d'essai {n}" for n in range(120, 130)]
    url, found = f"{COORDINATOR}&recherche_territoire=essai", []  # all but Lœuilly-sur-Mer
    page = get(client, url)
    assert "Territoires 1 à 100 sur 249 correspondant à « essai »." in page
    while url:
        page = get(client, url)
        found.extend(rows_of(page))
        url = next_link(page)
        assert url is None or "recherche_territoire=essai" in url
    assert len(found) == len(set(found)) == 249
    assert "Saint-Étienne-des-Essais" in found and "Lœuilly-sur-Mer" not in found
    none = get(client, f"{COORDINATOR}&recherche_territoire=zzz")
    assert "Aucun territoire ne correspond à « zzz »." in none
    assert f"<caption>{CAPTION}</caption>" not in none


def test_a_hidden_count_stays_hidden_in_its_page(app, accounts):
    """Two reports in commune 99210, on the third page: "< 5" there for the institution,
    whether the page is reached by its number or by a search."""
    with app.app_context():
        structure = make_structure("Structure A", "69123")
        for day in (3, 4):
            make_report(structure, "99210", dt.date(2025, 5, day), record_key=0)
        db.session.commit()
    institution = accounts["institution"]
    for url in (
        f"{PROTECTED}&page_territoires=3",
        f"{PROTECTED}&recherche_territoire=99210",
        f"{PROTECTED}&recherche_territoire=loeuilly&page_territoires=1",
    ):
        page = get(institution, url)
        assert rows_of(page)["Lœuilly-sur-Mer"][0] == "&lt; 5", url
        every_cell = re.findall(r"<td>(\d+)</td>", page)
        assert not [value for value in every_cell if 0 < int(value) < 5], url
        assert "&lt; 5 : effectif de 1 à 4" in page
    raw = get(accounts["coordinator"], f"{COORDINATOR}&page_territoires=3")
    assert rows_of(raw)["Lœuilly-sur-Mer"][0] == "2"


@pytest.mark.parametrize("asked", ["999", "5", "-1", "0", "deux", "9" * 40])
def test_a_page_out_of_range_gives_a_page_that_exists(app, accounts, asked):
    page = get(accounts["coordinator"], f"{COORDINATOR}&page_territoires={asked}")
    last = asked in ("999", "5")
    expected = "Territoires 301 à 308 sur 308." if last else "Territoires 1 à 100 sur 308."
    assert summary(page) == expected
    number = 4 if last else 1
    notice = f"La page demandée n'existe pas : voici la page {number} sur 4."
    assert notice in html.unescape(page)


def test_the_territory_filter_lists_the_territories_while_they_are_few(app, accounts):
    page = get(accounts["coordinator"], COORDINATOR + "&territory=69266")
    assert '<select id="territory" name="territory"' in page
    assert '<option value="69266" selected>Villeurbanne (Commune)</option>' in page
    assert "Territoire : Villeurbanne." in page
    assert list(rows_of(page)) == ["Villeurbanne"]


def test_the_territory_filter_takes_a_code_or_a_name_once_territories_are_many(app, accounts):
    with app.app_context():
        add_communes(300, first=251)
        db.session.commit()
    client = accounts["coordinator"]
    page = get(client, COORDINATOR)
    assert '<select id="territory"' not in page and "<datalist" not in page
    assert '<input type="text" id="territory" name="territory" value=""' in page
    assert '<label for="territory">Territoire</label>' in page
    for typed, name, code in (
        ("69266", "Villeurbanne", "69266"),
        ("99123", "Commune d'essai 123", "99123"),
        ("venissieux", "Vénissieux", "69259"),
        ("Saint Étienne des essais", "Saint-Étienne-des-Essais", "99007"),
    ):
        page = get(client, f"{COORDINATOR}&territory={typed}")
        assert html.unescape(f"Territoire : {name}.") in html.unescape(page), typed
        assert f'name="territory" value="{code}"' in page, typed
        assert list(rows_of(page)) == [name], typed
        assert f'<input type="hidden" name="territory" value="{code}">' in page


def test_an_unknown_territory_is_refused_with_a_message_in_french(app, accounts):
    for role, url in (("coordinator", COORDINATOR), ("institution", PROTECTED)):
        for typed in ("99999", "Atlantide", "x" * 300):
            page = get(accounts[role], f"{url}&territory={typed}", status=422)
            assert "Aucun territoire n&#39;a ce code ni ce nom" in page, (role, typed)
            assert 'id="territory-error"' in page


def test_a_name_several_territories_share_asks_for_the_code(app, accounts):
    with app.app_context():
        add_communes(2, first=900, name=lambda _index: "Saint-Denis")
        db.session.commit()
    page = get(accounts["coordinator"], f"{COORDINATOR}&territory=saint-denis", status=422)
    message = "2 territoires s&#39;appellent « saint-denis » : 99900 (Commune), 99901 (Commune)."
    assert message in page
    assert "Saisissez le code de celui que vous voulez." in page
    chosen = get(accounts["coordinator"], f"{COORDINATOR}&territory=99901")
    assert "Territoire : Saint-Denis." in chosen


def test_the_spread_timeline_shows_its_first_200_communes(app, accounts):
    with app.app_context():
        for index in range(1, 231):
            where = commune(f"99{index:03d}")
            add_structure(f"Partenaire {index}", "association", where, "2025-03-01")
        db.session.commit()
    page = get(accounts["coordinator"], COORDINATOR)
    timeline = cells(page, "Chronologie de l'essaimage par commune")
    assert len(timeline) == 200
    assert "Seules les 200 premières communes de la chronologie sont affichées, sur 230" in page
    assert "les 30 autres n&#39;y figurent pas" in page
    link = html.unescape(re.search(r'<a href="(/api/v1/indicators\?[^"]+)">', page).group(1))
    assert "ids=first_report_by_territory" in link and "level=commune" in link
    assert "from=2025-01-01" in link and "to=2025-12-31" in link
    assert page.count('<rect class="mark-partner"') == 200


def test_the_scrolling_tables_are_regions_a_keyboard_reaches(app, accounts):
    with app.app_context():
        add_structure("Structure A", "association", commune("69123"), "2025-03-01")
        db.session.commit()
    page = get(accounts["coordinator"], COORDINATOR)
    for heading in ("territories-heading", "spread-heading"):
        region = f'class="table-scroll" role="region" aria-labelledby="{heading}"'
        assert region in page
    regions = re.findall(r'<div class="table-scroll"([^>]*)>', page)
    assert regions and all('tabindex="0"' in attributes for attributes in regions)
    assert '<label for="territory-search" id="territory-search-label">' in page
