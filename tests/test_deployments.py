"""Deployments (DESIGN §2): opened over the territories loaded, from Lyon or elsewhere; the
structures of their communes join them, accounts are attached to them, every change audited.

Deployments outlive each test (see conftest): those a test opens are removed after it.
"""

import json

import pytest
import sqlalchemy as sa

from ohpunaises.bootstrap import DEFAULT_DEPLOYMENT
from ohpunaises.errors import Conflict, Invalid, NotFound
from ohpunaises.extensions import db
from ohpunaises.models import AuditEvent, Deployment, Structure, user_deployments
from ohpunaises.permissions import Actor
from ohpunaises.usecases import deployments
from ohpunaises.usecases.territories import TerritoryFile, load_territories

from .conftest import make_structure, make_user
from .test_cli import ohpunaises

# A dozen Belgian municipalities (NIS codes, not INSEE), around Brussels, 0.02° apart.
BELGIAN = (
    ("21001", "Anderlecht", 118_000),
    ("21002", "Oudergem / Auderghem", 34_000),
    ("21003", "Sint-Agatha-Berchem / Berchem-Sainte-Agathe", 25_000),
    ("21004", "Brussel / Bruxelles", 188_000),
    ("21005", "Etterbeek", 48_000),
    ("21006", "Evere", 42_000),
    ("21007", "Vorst / Forest", 56_000),
    ("21008", "Ganshoren", 25_000),
    ("21009", "Elsene / Ixelles", 87_000),
    ("21010", "Jette", 52_000),
    ("21011", "Koekelberg", 22_000),
    ("21012", "Sint-Jans-Molenbeek / Molenbeek-Saint-Jean", 97_000),
)


def square(index: int) -> list:
    lon, lat = 4.30 + (index % 4) * 0.02, 50.80 + (index // 4) * 0.02
    ring = [[lon, lat], [lon + 0.02, lat], [lon + 0.02, lat + 0.02], [lon, lat + 0.02]]
    return [[[*ring, ring[0]]]]


def belgian_geojson(path):
    """The municipalities as a file of another country would hold them: own property names."""
    features = [
        {
            "type": "Feature",
            "properties": {"nis_code": code, "naam_nom": name, "inwoners": people},
            "geometry": {"type": "MultiPolygon", "coordinates": square(index)},
        }
        for index, (code, name, people) in enumerate(BELGIAN)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    return path


BELGIAN_OPTIONS = {
    "code_property": "nis_code",
    "name_property": "naam_nom",
    "population_property": "inwoners",
}
BELGIAN_CLI_OPTIONS = [
    "--level",
    "commune",
    "--code-property",
    "nis_code",
    "--name-property",
    "naam_nom",
    "--population-property",
    "inwoners",
]


def drop_opened_deployments(app):
    """Remove every deployment but the default one, and what points to them."""
    with app.app_context():
        db.session.rollback()
        ids = db.session.scalars(
            sa.select(Deployment.id).where(Deployment.name != DEFAULT_DEPLOYMENT)
        ).all()
        if ids:
            db.session.execute(
                sa.update(Structure)
                .where(Structure.deployment_id.in_(ids))
                .values(deployment_id=None)
            )
            db.session.execute(
                user_deployments.delete().where(user_deployments.c.deployment_id.in_(ids))
            )
            for deployment in db.session.scalars(
                sa.select(Deployment).where(Deployment.id.in_(ids))
            ):
                deployment.territories = []
            db.session.flush()
            db.session.execute(sa.delete(Deployment).where(Deployment.id.in_(ids)))
        db.session.commit()
        db.session.remove()


@pytest.fixture(autouse=True)
def _opened_deployments_removed(app):
    yield
    drop_opened_deployments(app)


@pytest.fixture
def belgium(app_context, tmp_path):
    """The Belgian municipalities loaded next to Lyon's territories."""
    source = TerritoryFile(belgian_geojson(tmp_path / "be.geojson"), "commune", **BELGIAN_OPTIONS)
    load_territories(Actor.operator(), source)
    return [code for code, _name, _people in BELGIAN]


def audit_rows(action: str) -> list[AuditEvent]:
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()


# Opening and editing ----------------------------------------------------------------------------


def test_a_deployment_opens_over_foreign_territories_and_takes_their_structures(belgium):
    structure = make_structure("Entraide Ixelles", "21009")
    db.session.commit()
    assert structure.deployment_id is None

    opened = deployments.create_deployment(
        Actor.operator(), "  Région  de Bruxelles ", ["21004", "21009", "21004"]
    )

    assert opened.name == "Région de Bruxelles"
    assert [t.code for t in opened.territories] == ["21004", "21009"]
    assert db.session.get(Structure, structure.id).deployment_id == opened.id
    [event] = audit_rows("deployment.create")
    assert event.actor == "cli"
    assert event.target == f"deployment:{opened.id}"
    assert event.details["territories"] == ["21004", "21009"]
    assert event.details["structures_joined"] == [structure.id]
    listed = {row.name: row for row in deployments.list_deployments(Actor.operator())}
    assert (
        listed["Région de Bruxelles"].territories,
        listed["Région de Bruxelles"].structures,
    ) == (
        2,
        1,
    )


def test_a_commune_belongs_to_one_deployment_only(belgium):
    deployments.create_deployment(Actor.operator(), "Bruxelles", ["21004"])
    with pytest.raises(Conflict) as refused:
        deployments.create_deployment(Actor.operator(), "Autre", ["21005", "21004"])
    assert "Déjà dans le déploiement « Bruxelles » : Brussel / Bruxelles (21004)." in (
        refused.value.message()
    )
    with pytest.raises(Conflict):
        deployments.create_deployment(Actor.operator(), "Lyon bis", ["69123"])
    names = db.session.scalars(sa.select(Deployment.name).order_by(Deployment.name)).all()
    assert names == ["Bruxelles", DEFAULT_DEPLOYMENT]
    assert len(audit_rows("deployment.create")) == 1


def test_names_are_unique_whatever_their_case_and_codes_must_be_loaded(belgium):
    deployments.create_deployment(Actor.operator(), "Bruxelles", ["21004"])
    with pytest.raises(Conflict) as twin:
        deployments.create_deployment(Actor.operator(), "BRUXELLES", ["21005"])
    assert twin.value.errors == {"name": "Un déploiement s'appelle déjà « Bruxelles »."}
    with pytest.raises(Invalid) as unknown:
        deployments.create_deployment(Actor.operator(), "Gand", ["44021", "21005"])
    assert "Territoire(s) inconnu(s) : 44021." in unknown.value.errors["territories"]
    with pytest.raises(Invalid):
        deployments.create_deployment(Actor.operator(), "Vide", [])
    with pytest.raises(Invalid):
        deployments.create_deployment(Actor.operator(), "   ", ["21005"])
    assert db.session.scalar(sa.select(sa.func.count(Deployment.id))) == 2


def test_editing_the_territories_moves_the_structures_with_their_commune(belgium):
    in_evere = make_structure("Evere Solidaire", "21006")
    in_jette = make_structure("Jette Services", "21010")
    db.session.commit()
    north = deployments.create_deployment(Actor.operator(), "Nord", ["21006"])
    south = deployments.create_deployment(Actor.operator(), "Sud", ["21007"])
    north_id, south_id = north.id, south.id

    deployments.update_deployment(
        Actor.operator(), north_id, {"name": "Nord-Ouest", "territories": ["21010"]}
    )
    assert db.session.get(Structure, in_jette.id).deployment_id == north_id
    assert db.session.get(Structure, in_evere.id).deployment_id is None
    deployments.update_deployment(Actor.operator(), south_id, {"territories": ["21007", "21006"]})
    assert db.session.get(Structure, in_evere.id).deployment_id == south_id

    first, second = audit_rows("deployment.update")
    assert first.details["fields"] == ["name", "territories"]
    assert (first.details["added"], first.details["removed"]) == (["21010"], ["21006"])
    assert (first.details["structures_joined"], first.details["structures_left"]) == (
        [in_jette.id],
        [in_evere.id],
    )
    assert second.details["structures_joined"] == [in_evere.id]
    with pytest.raises(Conflict):
        deployments.update_deployment(Actor.operator(), north_id, {"name": "sud"})
    assert db.session.get(Deployment, north_id).name == "Nord-Ouest"


def test_people_without_a_structure_are_attached_and_detached(belgium):
    opened = deployments.create_deployment(Actor.operator(), "Bruxelles", ["21004"])
    institution = make_user("region@example.org", "institution")
    agent = make_user("agent-bxl@example.org", "agent", make_structure("S", "21004"))
    db.session.commit()

    assert institution in deployments.attachable_people(Actor.operator(), opened)
    assert agent not in deployments.attachable_people(Actor.operator(), opened)
    assert deployments.attach_people(Actor.operator(), opened.id, [institution.id]) == [institution]
    assert deployments.attach_people(Actor.operator(), opened.id, [institution.id]) == []
    assert deployments.attached_people(opened) == [institution]
    with pytest.raises(Invalid):
        deployments.attach_people(Actor.operator(), opened.id, [agent.id])
    with pytest.raises(NotFound):
        deployments.attach_people(Actor.operator(), opened.id, [999_999])

    deployments.detach_person(Actor.operator(), opened.id, institution.id)
    assert deployments.attached_people(opened) == []
    with pytest.raises(NotFound):
        deployments.detach_person(Actor.operator(), opened.id, institution.id)
    [attached] = audit_rows("deployment.attach")
    assert attached.details == {"users": [institution.id], "roles": ["institution"]}
    [detached] = audit_rows("deployment.detach")
    assert detached.details == {"user": institution.id, "role": "institution"}


def test_an_attached_coordinator_opens_deployments_within_their_reach(belgium):
    lyon = db.session.scalar(sa.select(Deployment).where(Deployment.name == DEFAULT_DEPLOYMENT))
    coordinator = make_user("coord-lyon@example.org", "coordinator")
    coordinator.deployments = [lyon]
    other = make_user("ailleurs@example.org", "institution")
    db.session.commit()
    actor = Actor.of(coordinator)

    opened = deployments.create_deployment(actor, "Bruxelles", ["21004"])

    assert {d.name for d in coordinator.deployments} == {DEFAULT_DEPLOYMENT, "Bruxelles"}
    assert other not in deployments.attachable_people(actor, opened)  # sees everything
    with pytest.raises(NotFound):
        deployments.attach_people(actor, opened.id, [other.id])
    lone = make_user("seule@example.org", "evaluator")
    lone.deployments = [opened]
    db.session.commit()
    with pytest.raises(Invalid) as refused:  # detached from their last one, they would see all
        deployments.detach_person(Actor.of(coordinator), opened.id, lone.id)
    assert "C'est le seul déploiement de seule@example.org" in refused.value.message()
    assert [d.name for d in lone.deployments] == ["Bruxelles"]


def test_choosing_territories_by_level_parent_and_search(app_context):
    arrondissements = deployments.choosable_territories("arrondissement", "69123")
    assert len(arrondissements) == 9
    assert {c.parent_name for c in arrondissements} == {"Lyon"}
    found = deployments.choosable_territories(search="VENIS")
    assert [(c.code, c.name, c.deployment) for c in found] == [
        ("69259", "Vénissieux", DEFAULT_DEPLOYMENT)
    ]
    lyon = db.session.scalar(sa.select(Deployment).where(Deployment.name == DEFAULT_DEPLOYMENT))
    [editing] = deployments.choosable_territories(search="69259", editing=lyon.id)
    assert editing.deployment is None
    assert ("69123", "Lyon") in deployments.parent_choices()
    assert deployments.loaded_levels() == ["commune", "arrondissement"]


# Command line -----------------------------------------------------------------------------------


@pytest.fixture
def empty_database(database_kind, new_database_url):
    return new_database_url(database_kind)


def test_init_without_default_territories_opens_nothing_of_lyon(empty_database):
    result = ohpunaises(empty_database, "init", "--no-default-territories", OHPUNAISES_DEMO="0")
    assert result.returncode == 0, result.stderr
    assert "Territoires chargés" not in result.stdout
    assert "Déploiement créé" not in result.stdout
    territories = ohpunaises(empty_database, "territories", "list")
    assert territories.stdout.splitlines()[-1] == "0 territoire(s)."
    listing = ohpunaises(empty_database, "deployments", "list")
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.splitlines()[-1] == "0 déploiement(s)."


def test_foreign_territories_loaded_before_init_then_a_deployment(empty_database, tmp_path):
    path = str(belgian_geojson(tmp_path / "be.geojson"))
    migrated = ohpunaises(empty_database, "db", "upgrade")
    assert migrated.returncode == 0, migrated.stderr
    loaded = ohpunaises(empty_database, "territories", "load", path, *BELGIAN_CLI_OPTIONS)
    assert loaded.returncode == 0, loaded.stderr
    assert "12 territoire(s) créé(s)" in loaded.stdout

    init = ohpunaises(empty_database, "init", OHPUNAISES_DEMO="1")
    assert init.returncode == 0, init.stderr
    assert "Territoires déjà chargés (12)" in init.stdout
    assert "Déploiement créé" not in init.stdout
    assert "  coordinator " in init.stdout and "  agent " not in init.stdout  # no structure
    assert "[DÉMO]" not in ohpunaises(empty_database, "structures", "list").stdout

    created = ohpunaises(
        empty_database,
        "deployments",
        "create",
        "--name",
        "Bruxelles-Capitale",
        "--territory",
        "21004",
        "--territory",
        "21009",
        "--started",
        "2026-09-01",
    )
    assert created.returncode == 0, created.stderr
    assert "Déploiement ouvert : Bruxelles-Capitale (2 territoire(s), 0 structure(s))." in (
        created.stdout
    )
    assert created.stdout.splitlines()[-1].isdigit()
    again = ohpunaises(
        empty_database, "deployments", "create", "--name", "Autre", "--territory", "21004"
    )
    assert again.returncode == 1
    assert again.stderr.startswith("Erreur : Déjà dans le déploiement « Bruxelles-Capitale »")
    unknown = ohpunaises(
        empty_database, "deployments", "create", "--name", "Lyon", "--territory", "69123"
    )
    assert unknown.returncode == 1
    assert "Territoire(s) inconnu(s) : 69123." in unknown.stderr

    listing = ohpunaises(empty_database, "deployments", "list").stdout.splitlines()
    assert len(listing) == 3
    assert listing[1].split()[1:] == ["Bruxelles-Capitale", "2026-09-01", "2", "0", "0"]
    assert listing[-1] == "1 déploiement(s)."
