"""The indicator dashboard and the public advocacy page."""

import re

import pytest

from ohpunaises.extensions import db
from ohpunaises.privacy import MAX_PERTURBATION as MOST

from .conftest import make_structure, make_user
from .test_indicators import add_report, add_structure, build_dataset, territory
from .test_web_session import sign_in

DASHBOARD = "/indicateurs?from=2025-01-01&to=2025-12-31&level=commune"
PROTECTED = "/indicateurs?periode=2025&level=commune"  # the list protected readers pick from
ROLES = ("agent", "partner_admin", "coordinator", "institution", "evaluator")


@pytest.fixture
def users(app):
    """One account per role, made outside any request; the dataset of test_indicators."""
    with app.app_context():
        structure = make_structure("Structure A", "69123")
        for role in ROLES:
            make_user(
                f"{role}@example.org",
                role,
                structure if role in ("agent", "partner_admin") else None,
            )
        db.session.commit()
        build_dataset()
    return {role: f"{role}@example.org" for role in ROLES}


def page(client, email, url=DASHBOARD):
    sign_in(client, email)
    response = client.get(url)
    return response, response.get_data(as_text=True)


def cells(html: str, caption: str) -> dict:
    """Row header → cells of the table with this caption."""
    table = html.split(f"<caption>{caption}</caption>", 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<tr><th scope="row">(.*?)</th>(.*?)</tr>', table, re.S)
    return {head: re.findall(r"<td>(.*?)</td>", rest) for head, rest in rows}


@pytest.mark.parametrize("role", ROLES)
def test_the_dashboard_opens_for_every_role(app, users, role):
    response, html = page(app.test_client(), users[role])
    assert response.status_code == 200
    for heading in ("Activité", "Signalements par trimestre", "Chronologie de l'essaimage"):
        assert heading in html
    assert "<svg" in html and '<title id="trend-title">' in html
    assert "<script" not in html.split("<main", 1)[1]


def test_the_coordination_reads_raw_counts(app, users):
    _, html = page(app.test_client(), users["coordinator"])
    rows = cells(html, "Indicateurs par territoire")
    assert rows["Vénissieux"][0] == "3"
    assert rows["Lyon"][0] == "8"
    assert "secret statistique" not in html


def test_an_institution_sees_counts_protected_and_the_legend(app, users):
    _, html = page(app.test_client(), users["institution"], PROTECTED)
    rows = cells(html, "Indicateurs par territoire")
    for name, truth in (("Villeurbanne", 12), ("Lyon", 8), ("Vénissieux", 3)):
        shown = rows[name][0]
        assert shown == "&lt; 5" or (int(shown) >= 5 and abs(int(shown) - truth) <= MOST), name
    assert "&lt; 5 : effectif de 1 à 4" in html
    assert "2 au plus dans 19 cas sur 20" in html
    # Never a small count: no table cell of the dashboard holds 1 to 4.
    every_cell = re.findall(r"<td>(\d+)</td>", html)
    assert not [value for value in every_cell if 0 < int(value) < 5]


def test_protected_readers_pick_a_calendar_period_from_a_list(app, users):
    response, html = page(app.test_client(), users["institution"], "/indicateurs")
    assert response.status_code == 200
    assert "depuis le début du programme" in html
    assert '<select id="periode" name="periode"' in html and 'type="date"' not in html
    for value, label in (("2025", "2025"), ("2025-T2", "T2 2025"), ("2025-03", "mars 2025")):
        assert f'<option value="{value}">{label}</option>' in html
    chosen, html = page(app.test_client(), users["institution"], "/indicateurs?periode=2025-T2")
    assert chosen.status_code == 200 and "du 1 avril 2025 au 30 juin 2025" in html
    off, html = page(app.test_client(), users["institution"], DASHBOARD.replace("12-31", "12-30"))
    assert off.status_code == 422 and "mois, trimestre ou année civils" in html
    unknown, _html = page(app.test_client(), users["institution"], "/indicateurs?periode=2025-T9")
    assert unknown.status_code == 422
    _, coordinator = page(app.test_client(), users["coordinator"], "/indicateurs")
    assert 'type="date"' in coordinator and 'name="periode"' not in coordinator


def test_the_period_and_sources_are_printed_with_the_figures(app, users):
    _, html = page(app.test_client(), users["institution"])
    assert "du 1 janvier 2025 au 31 décembre 2025" in html
    assert "Source : Signalements" in html
    assert "Référence nationale : 866" in html


def test_a_bad_period_is_refused_with_the_field_named(app, users):
    url = "/indicateurs?from=2025-12-31&to=2025-01-01&territory=99999"
    response, html = page(app.test_client(), users["coordinator"], url)
    assert response.status_code == 422
    assert 'id="to-error"' in html


def test_the_dashboard_asks_to_sign_in_first(client):
    response = client.get("/indicateurs")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/connexion")


def test_the_advocacy_page_is_off_by_default(client):
    assert client.get("/plaidoyer").status_code == 404


def test_the_advocacy_page_is_public_when_turned_on(make_app, app):
    with app.app_context():
        build_dataset()
    public = make_app(OHPUNAISES_PUBLIC_PAGE="1")
    response = public.test_client().get("/plaidoyer")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "ANSES (2023)" in html
    assert "11 <span" in html and "866 <span" in html
    assert "calculés le" in html
    assert "&lt; 5 : effectif de 1 à 4" in html
    every_cell = re.findall(r"<td[^>]*>(\d+)</td>", html)
    assert not [value for value in every_cell if 0 < int(value) < 5]


def test_the_public_page_setting_is_checked(make_app):
    from ohpunaises.config import ConfigError

    with pytest.raises(ConfigError, match="OHPUNAISES_PUBLIC_PAGE"):
        make_app(OHPUNAISES_PUBLIC_PAGE="peut-être")


@pytest.mark.parametrize(("language", "first_quarter"), [("fr", "T1"), ("en", "Q1")])
def test_the_quarterly_chart_names_each_year_once_in_every_language(
    app, users, language, first_quarter
):
    with app.app_context():
        lyon = territory("69123")
        add_report(add_structure("S6", "association", lyon, "2024-01-01"), "2026-02-01", lyon)
        db.session.commit()
    client = app.test_client()
    sign_in(client, users["coordinator"])
    url = "/indicateurs?from=2025-01-01&to=2026-03-31&level=commune"
    html = client.get(url, headers={"Accept-Language": language}).get_data(as_text=True)
    chart = html.split('class="chart"', 1)[1].split("</svg>", 1)[0]
    labels = re.findall(r'<text class="chart-label"[^>]*>([^<]+)</text>', chart)
    assert labels[:2] == [first_quarter, "2025"]
    assert labels[-2:] == [first_quarter, "2026"]  # the new year under its first quarter
    assert labels.count("2025") == labels.count("2026") == 1
