"""Placing a point in its territories, and loading territory files."""

import json

import pytest
import sqlalchemy as sa

from ohpunaises.extensions import db
from ohpunaises.models import Territory
from ohpunaises.territories import OutOfScope, place_commune_code, place_point

BELLECOUR = (4.8320, 45.7578)
VILLEURBANNE_TOWN_HALL = (4.8799, 45.7665)
EIFFEL_TOWER = (2.2945, 48.8584)


def square(lon, lat, half=0.003):
    ring = [
        [lon - half, lat - half],
        [lon + half, lat - half],
        [lon + half, lat + half],
        [lon - half, lat + half],
        [lon - half, lat - half],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def feature(geometry, **properties):
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def write_geojson(path, *features):
    path.write_text(json.dumps({"type": "FeatureCollection", "features": list(features)}))
    return path


def count(level):
    return db.session.scalar(sa.select(sa.func.count()).where(Territory.level == level))


def test_place_bellecour_is_in_lyon_2nd_arrondissement(app_context):
    placement = place_point(*BELLECOUR)
    assert placement.commune.code == "69123"
    assert placement.arrondissement.code == "69382"
    assert placement.qpv is None


def test_villeurbanne_town_hall_is_in_villeurbanne(app_context):
    placement = place_point(*VILLEURBANNE_TOWN_HALL)
    assert placement.commune.code == "69266"
    assert placement.arrondissement is None


def test_eiffel_tower_is_out_of_scope(app_context):
    placement = place_point(*EIFFEL_TOWER)
    assert not placement.in_scope
    assert placement.commune is None


def test_impossible_coordinates_are_refused(app_context):
    with pytest.raises(ValueError, match="hors des bornes"):
        place_point(200.0, 45.0)


def test_a_commune_code_alone_places_the_report(app_context):
    assert place_commune_code("69266").commune.code == "69266"


def test_an_arrondissement_code_gives_its_commune(app_context):
    placement = place_commune_code("69382")
    assert (placement.commune.code, placement.arrondissement.code) == ("69123", "69382")


def test_an_unknown_commune_code_is_out_of_scope(app_context):
    with pytest.raises(OutOfScope, match="hors périmètre"):
        place_commune_code("75056")


def test_default_territories_hold_insee_populations(app_context):
    lyon = db.session.scalar(sa.select(Territory).where(Territory.code == "69123"))
    assert lyon.population == 519_127
    assert (count("commune"), count("arrondissement")) == (58, 9)
    total = db.session.scalar(
        sa.select(sa.func.sum(Territory.population)).where(Territory.level == "commune")
    )
    assert total == 1_436_354


def test_arrondissements_have_lyon_as_parent(app_context):
    parents = db.session.scalars(
        sa.select(Territory.parent_id).where(Territory.level == "arrondissement")
    )
    lyon = db.session.scalar(sa.select(Territory.id).where(Territory.code == "69123"))
    assert set(parents) == {lyon}


def test_a_loaded_qpv_places_points_and_finds_its_commune(app, runner, tmp_path):
    path = write_geojson(
        tmp_path / "qpv.geojson",
        feature(square(*BELLECOUR), code_qp="QN06999Z", lib_qp="Quartier d'essai"),
    )
    result = runner.invoke(args=["territories", "load", str(path), "--level", "qpv"])
    assert result.exit_code == 0, result.output
    assert "1 territoire(s) créé(s)" in result.output
    with app.app_context():
        placement = place_point(*BELLECOUR)
        assert placement.qpv.code == "QN06999Z"
        assert placement.qpv.parent.code == "69123"
        assert place_point(*VILLEURBANNE_TOWN_HALL).qpv is None


def test_loading_the_same_file_again_updates_without_duplicates(app, runner, tmp_path):
    path = write_geojson(
        tmp_path / "qpv.geojson",
        feature(square(*BELLECOUR), code_qp="QN06999Z", lib_qp="Ancien nom", population=1200),
    )
    runner.invoke(args=["territories", "load", str(path), "--level", "qpv"])
    write_geojson(
        path,
        feature(square(*BELLECOUR), code_qp="QN06999Z", lib_qp="Nouveau nom", population=1300),
    )
    result = runner.invoke(args=["territories", "load", str(path), "--level", "qpv"])
    assert "0 territoire(s) créé(s), 1 mis à jour" in result.output
    with app.app_context():
        assert count("qpv") == 1
        qpv = db.session.scalar(sa.select(Territory).where(Territory.code == "QN06999Z"))
        assert (qpv.name, qpv.population) == ("Nouveau nom", 1300)


def test_properties_and_population_csv_are_named_by_the_operator(app, runner, tmp_path):
    path = write_geojson(
        tmp_path / "q.geojson", feature(square(*BELLECOUR), ident="Q1", libelle_long="Q un")
    )
    csv_path = tmp_path / "pop.csv"
    csv_path.write_text("ident;habitants\nQ1;4321\n")
    result = runner.invoke(
        args=[
            "territories",
            "load",
            str(path),
            "--level",
            "qpv",
            "--code-property",
            "ident",
            "--name-property",
            "libelle_long",
            "--population-csv",
            str(csv_path),
            "--csv-code-column",
            "ident",
            "--csv-population-column",
            "habitants",
        ]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        qpv = db.session.scalar(sa.select(Territory).where(Territory.code == "Q1"))
        assert (qpv.name, qpv.population) == ("Q un", 4321)


BOWTIE = {
    "type": "Polygon",
    "coordinates": [[[4.80, 45.70], [4.82, 45.72], [4.82, 45.70], [4.80, 45.72], [4.80, 45.70]]],
}
LAMBERT = {
    "type": "Polygon",
    "coordinates": [[[842000, 6519000], [843000, 6519000], [843000, 6520000], [842000, 6519000]]],
}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json at all", "n'est pas un fichier GeoJSON lisible"),
        (json.dumps({"type": "Feature"}), "n'est pas une FeatureCollection"),
        (json.dumps({"type": "FeatureCollection", "features": []}), "ne contient aucune entité"),
        (
            json.dumps(
                {
                    "type": "FeatureCollection",
                    "features": [
                        feature(square(*BELLECOUR), code_qp="A1", lib_qp="Bon"),
                        feature(BOWTIE, code_qp="A2", lib_qp="Noeud papillon"),
                    ],
                }
            ),
            "Entité n° 2 (A2) : géométrie invalide",
        ),
        (
            json.dumps(
                {
                    "type": "FeatureCollection",
                    "features": [
                        feature(square(*BELLECOUR), code_qp="A1", lib_qp="Bon"),
                        feature(square(4.85, 45.75), code_qp="A2"),
                    ],
                }
            ),
            "Entité n° 2 : propriété « lib_qp » absente",
        ),
        (
            json.dumps(
                {
                    "type": "FeatureCollection",
                    "features": [
                        feature(LAMBERT, code_qp="A1", lib_qp="Projeté"),
                    ],
                }
            ),
            "WGS84",
        ),
        (
            json.dumps(
                {
                    "type": "FeatureCollection",
                    "features": [
                        feature(
                            {"type": "Point", "coordinates": [4.8, 45.7]}, code_qp="A1", lib_qp="P"
                        ),
                    ],
                }
            ),
            "non surfacique",
        ),
        (
            json.dumps(
                {
                    "type": "FeatureCollection",
                    "features": [
                        feature(square(*BELLECOUR), code_qp="A1", lib_qp="Un"),
                        feature(square(4.85, 45.75), code_qp="A1", lib_qp="Deux"),
                    ],
                }
            ),
            "code A1 en double",
        ),
    ],
)
def test_a_broken_file_is_refused_and_nothing_is_loaded(app, runner, tmp_path, content, message):
    path = tmp_path / "broken.geojson"
    path.write_text(content)
    result = runner.invoke(args=["territories", "load", str(path), "--level", "qpv"])
    assert result.exit_code == 1
    assert message in result.output
    assert "Rien n'a été chargé" in result.output
    assert "Traceback" not in result.output
    with app.app_context():
        assert count("qpv") == 0


def test_a_code_already_used_at_another_level_is_refused(app, runner, tmp_path):
    path = write_geojson(tmp_path / "q.geojson", feature(square(*BELLECOUR), code="69123", nom="X"))
    result = runner.invoke(args=["territories", "load", str(path), "--level", "qpv"])
    assert result.exit_code == 1
    assert "existe déjà au niveau commune" in result.output
    with app.app_context():
        assert (
            db.session.scalar(sa.select(Territory.name).where(Territory.code == "69123")) == "Lyon"
        )


def test_territories_list_shows_code_name_level_population(runner):
    result = runner.invoke(args=["territories", "list", "--level", "commune"])
    assert result.exit_code == 0
    lyon = next(line for line in result.output.splitlines() if line.startswith("69123"))
    assert lyon.split() == ["69123", "Lyon", "commune", "519127"]
    assert "58 territoire(s)." in result.output
