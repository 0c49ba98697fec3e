"""Deployments side by side (/evaluation/deploiements, /api/v1/evaluation/deployments): the
same indicators over the same period per deployment, as the reader may read them, with counts
per 10,000 inhabitants of each deployment's communes.

The programme: the default deployment (Lyon's Métropole without Villeurbanne, Structure A)
and "Est lyonnais" (Villeurbanne, Structure B), with reports in the third quarter of 2026.
"""

import datetime as dt

import pytest
import sqlalchemy as sa
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, Polygon

from ohpunaises.errors import Invalid
from ohpunaises.extensions import db
from ohpunaises.indicators import Period, compute
from ohpunaises.models import Deployment, Structure, Territory, deployment_territories
from ohpunaises.usecases import comparison
from ohpunaises.usecases.comparison import COMPARED, compare_deployments, deployment_populations
from ohpunaises.usecases.indicators import OFF_THE_GRID

from .conftest import make_report, signed_in_client
from .test_evaluation import actor, attach, east, inside  # noqa: F401  (east: a fixture)
from .test_people import text_of

URL = "/api/v1/evaluation/deployments"
Q3 = Period(dt.date(2026, 7, 1), dt.date(2026, 9, 30))
Q3_ARGS = "from=2026-07-01&to=2026-09-30"


def commune_population(deployment_id: int) -> int:
    """The population of the communes of a deployment, read apart from the use case."""
    return db.session.scalar(
        sa.select(sa.func.sum(Territory.population))
        .join(deployment_territories, deployment_territories.c.territory_id == Territory.id)
        .where(
            deployment_territories.c.deployment_id == deployment_id,
            Territory.level == "commune",
        )
    )


@pytest.fixture
def programme(app, accounts, east):  # noqa: F811
    """Reports in Q3 2026: 12 of Structure A (default deployment), 7 of B (Est lyonnais), and
    one of A in June, outside the period."""
    with app.app_context():
        a = db.session.get(Structure, accounts["agent"].structure_id)
        b = db.session.get(Structure, accounts["agent_b"].structure_id)
        for day in range(12):
            make_report(a, "69123", dt.date(2026, 7, 1) + dt.timedelta(days=day), household_size=2)
        for day in range(7):
            make_report(b, "69266", dt.date(2026, 8, 1) + dt.timedelta(days=day))
        make_report(a, "69123", dt.date(2026, 6, 30))
        db.session.commit()
        db.session.remove()
    return east


def test_rows_are_computed_per_deployment_with_rates_per_10000(app, accounts, programme):
    default_id, east_id = programme
    with inside(app):
        for key in ("coordinator", "institution"):
            reader = actor(accounts, key)
            found = compare_deployments(reader, Q3)
            assert [row.name for row in found.rows] == [
                "Est lyonnais",
                "Métropole de Lyon",
                "Ensemble",
            ]
            assert [row.deployment_id for row in found.rows] == [east_id, default_id, None]
            for row in found.rows[:2]:
                expected = compute(
                    Q3, viewer_role=reader.role, ids=COMPARED, deployments=(row.deployment_id,)
                )
                for indicator in COMPARED:
                    assert row.value(indicator).figure == expected.indicator(indicator).whole
                population = commune_population(row.deployment_id)
                assert row.population == population
                reports = row.value("reports")
                if reports.figure.suppressed:
                    assert reports.per_10000.display == "s"
                else:
                    assert reports.per_10000.value == round(
                        reports.figure.value * 10_000 / population, 2
                    )
                assert row.value("share_vulnerable").per_10000 is None  # not a count
            total = found.rows[2]
            assert total.total and total.population == sum(r.population for r in found.rows[:2])
            everything = compute(Q3, viewer_role=reader.role, deployments=(default_id, east_id))
            assert total.value("reports").figure == everything.indicator("reports").whole
        raw = compare_deployments(actor(accounts, "coordinator"), Q3)
        assert [row.value("reports").figure.value for row in raw.rows] == [7, 12, 19]
        assert [row.value("people_reached").figure.value for row in raw.rows][1] == 24
        lyon = raw.rows[1]
        assert lyon.value("reports").per_10000.value == round(
            12 * 10_000 / commune_population(default_id), 2
        )
        only = compare_deployments(actor(accounts, "coordinator"), Q3, ids=[east_id])
        assert [row.name for row in only.rows] == ["Est lyonnais", "Ensemble"]


def test_a_reader_attached_to_a_deployment_compares_only_that_one(app, accounts, programme):
    default_id, east_id = programme
    with inside(app):
        attach(accounts, "evaluator", east_id)
        evaluator = actor(accounts, "evaluator")
        found = compare_deployments(evaluator, Q3)
        assert [row.name for row in found.rows] == ["Est lyonnais"]  # no "Ensemble"
        with pytest.raises(Invalid) as refused:
            compare_deployments(evaluator, Q3, ids=[default_id])
        assert "hors de votre périmètre" in str(refused.value.errors["ids"])
    body = accounts["evaluator"].get(f"{URL}?{Q3_ARGS}").get_json()
    assert [row["name"] for row in body["rows"]] == ["Est lyonnais"]
    refused = accounts["evaluator"].get(f"{URL}?{Q3_ARGS}&ids={default_id}")
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["field"] == "ids"


def test_populations_count_communes_and_the_arrondissements_outside_them(app_context):
    lyon = db.session.scalar(sa.select(Territory).where(Territory.code == "69123"))
    arrondissements = db.session.scalars(
        sa.select(Territory).where(
            Territory.level == "arrondissement", Territory.parent_id == lyon.id
        )
    ).all()
    assert arrondissements, "the shipped Lyon arrondissements are loaded"
    square = MultiPolygon([Polygon([(4.0, 45.0), (4.01, 45.0), (4.01, 45.01), (4.0, 45.0)])])
    unknown = Territory(
        code="99998", name="Sans population", level="commune", geom=from_shape(square, 4326)
    )
    made = [
        Deployment(
            name="Lyon entier", started_on=dt.date(2026, 1, 1), territories=[lyon, *arrondissements]
        ),
        Deployment(
            name="Arrondissements", started_on=dt.date(2026, 1, 1), territories=arrondissements[:2]
        ),
        Deployment(name="Inconnue", started_on=dt.date(2026, 1, 1), territories=[lyon, unknown]),
        Deployment(name="Vide", started_on=dt.date(2026, 1, 1), territories=[]),
    ]
    db.session.add_all(made)
    db.session.flush()
    populations = deployment_populations([deployment.id for deployment in made])
    assert list(populations.values()) == [
        lyon.population,
        arrondissements[0].population + arrondissements[1].population,
        None,
        None,
    ]
    db.session.rollback()


def test_a_rate_without_population_is_not_available(app_context):
    from ohpunaises.indicators.results import Figure

    assert comparison.per_10000(Figure(12, False, "12"), None).display == "non disponible"
    assert comparison.per_10000(Figure(12, False, "12"), 0).value is None
    assert comparison.per_10000(Figure(None, True, "< 5"), 1000).display == "s"
    assert comparison.per_10000(Figure(3, False, "3"), 7).value == round(3 * 10_000 / 7, 2)


def test_an_institution_is_refused_a_period_off_the_calendar(app, accounts, programme):
    off = Period(dt.date(2026, 7, 1), dt.date(2026, 8, 15))
    with inside(app):
        with pytest.raises(Invalid) as refused:
            compare_deployments(actor(accounts, "institution"), off)
        assert refused.value.errors == {"from": OFF_THE_GRID, "to": OFF_THE_GRID}
        assert compare_deployments(actor(accounts, "coordinator"), off).rows  # raw: any period
    answer = accounts["institution"].get(f"{URL}?from=2026-07-01&to=2026-08-15")
    assert answer.status_code == 422
    said = {error["field"]: error["message"] for error in answer.get_json()["errors"]}
    assert said["from"].startswith("Pour votre rôle, les indicateurs se lisent par mois")
    assert accounts["coordinator"].get(f"{URL}?from=2026-07-01&to=2026-08-15").status_code == 200
    page = signed_in_client(app, accounts["institution"].user_id).get(
        "/evaluation/deploiements?periode=2026-T9"
    )
    assert page.status_code == 422
    assert "Période inconnue : choisissez-la dans la liste." in text_of(page)


def test_the_api_answers_the_use_case_and_refuses_bad_input(app, accounts, programme):
    body = accounts["institution"].get(f"{URL}?{Q3_ARGS}").get_json()
    with inside(app):
        expected = compare_deployments(actor(accounts, "institution"), Q3).as_dict()
    assert body == expected
    assert body["period"] == {"start": "2026-07-01", "end": "2026-09-30", "label": "T3 2026"}
    assert body["suppression"]["applied"] is True
    reports = next(i for i in body["indicators"] if i["id"] == "reports")
    assert reports["per_10000"] is True
    for query in ("from=2026-13-01", "from=2026-09-30&to=2026-07-01", "ids=abc", "ids=0"):
        answer = accounts["coordinator"].get(f"{URL}?{query}")
        assert answer.status_code == 422, query
        assert answer.content_type == "application/problem+json"
        assert answer.get_json()["errors"], query
    assert accounts["agent"].get(URL).status_code == 403


def test_the_default_period_is_the_last_complete_quarter():
    assert comparison.last_quarter(dt.date(2026, 12, 3)) == Period(
        dt.date(2026, 7, 1), dt.date(2026, 9, 30)
    )
    assert comparison.last_quarter(dt.date(2026, 1, 1)) == Period(
        dt.date(2025, 10, 1), dt.date(2025, 12, 31)
    )
    assert comparison.last_quarter(dt.date(2026, 4, 30)) == Period(
        dt.date(2026, 1, 1), dt.date(2026, 3, 31)
    )


def test_the_page_shows_the_table_to_the_roles_granted(app, accounts, programme):
    today = dt.date.today()
    default = comparison.last_quarter(today)
    for role in ("coordinator", "institution", "evaluator"):
        client = signed_in_client(app, accounts[role].user_id)
        page = client.get("/evaluation/deploiements")
        assert page.status_code == 200, role
        shown = text_of(page)
        assert 'role="region"' in shown and 'tabindex="0"' in shown
        assert "<caption" in shown and "Est lyonnais" in shown and "Ensemble" in shown
        assert "pour 10 000 hab." in shown
    quarter = f"{default.start.year}-T{(default.start.month + 2) // 3}"
    institution = signed_in_client(app, accounts["institution"].user_id)
    shown = text_of(institution.get("/evaluation/deploiements"))
    assert f'<option value="{quarter}" selected>' in shown
    asked = text_of(institution.get("/evaluation/deploiements?periode=2026-T3"))
    assert "Déploiements côte à côte — T3 2026" in asked
    coordinator = signed_in_client(app, accounts["coordinator"].user_id)
    dated = coordinator.get(f"/evaluation/deploiements?{Q3_ARGS}")
    assert dated.status_code == 200
    cells = text_of(dated)
    assert "Déploiements côte à côte — T3 2026" in cells
    reversed_dates = coordinator.get("/evaluation/deploiements?from=2026-09-30&to=2026-07-01")
    assert reversed_dates.status_code == 422
    assert "La fin de période précède son début." in text_of(reversed_dates)
    for role in ("agent", "partner_admin"):
        client = signed_in_client(app, accounts[role].user_id)
        assert client.get("/evaluation/deploiements").status_code == 403, role
