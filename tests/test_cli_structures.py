"""`ohpunaises structures list`: the partner structures, with their people and last report."""

import datetime as dt

import pytest
import sqlalchemy as sa

from ohpunaises.bootstrap import DEFAULT_DEPLOYMENT
from ohpunaises.extensions import db
from ohpunaises.models import Deployment, Structure

from .conftest import make_report, make_structure, make_user
from .test_cli import ohpunaises


@pytest.fixture
def partners(app):
    """Three structures of the default deployment: A (Lyon, two active accounts and one
    deactivated, reports in 2025 and 2026), B (Villeurbanne, no account, no report), C
    (Vénissieux, inactive, one account). Returns {name: id}."""
    with app.app_context():
        a = make_structure("Alpha Habitat", "69123", "social_landlord")
        b = make_structure("Bêta Entraide", "69266", "association")
        c = make_structure("Gamma Santé", "69259", "health_centre")
        a.onboarded_on, b.onboarded_on, c.onboarded_on = (
            dt.date(2024, 5, 2),
            dt.date(2025, 1, 15),
            dt.date(2023, 9, 1),
        )
        c.active = False
        make_user("a1@example.org", "agent", a)
        make_user("a2@example.org", "partner_admin", a)
        make_user("a3@example.org", "agent", a).active = False
        make_user("c1@example.org", "agent", c)
        make_report(a, "69123", dt.date(2025, 11, 3))
        make_report(a, "69123", dt.date(2026, 2, 14))
        db.session.commit()
        return {s.name: s.id for s in (a, b, c)}


@pytest.fixture
def second_deployment(app, partners):
    """Bêta Entraide moved to a deployment of its own; removed afterwards (deployments
    outlive each test, see conftest)."""
    with app.app_context():
        other = Deployment(name="Déploiement Est", started_on=dt.date(2025, 1, 1))
        db.session.add(other)
        db.session.get(Structure, partners["Bêta Entraide"]).deployment = other
        db.session.commit()
        ids = {"default": db.session.get(Structure, partners["Alpha Habitat"]).deployment_id}
        ids["other"] = other.id
    yield ids
    with app.app_context():
        db.session.execute(
            sa.update(Structure)
            .where(Structure.deployment_id == ids["other"])
            .values(deployment_id=None)
        )
        db.session.execute(sa.delete(Deployment).where(Deployment.id == ids["other"]))
        db.session.commit()
        db.session.remove()


def deployment_of(structure_id: int) -> int:
    return db.session.get(Structure, structure_id).deployment_id


def listed(runner, *options) -> tuple[list[list[str]], str]:
    """The rows of the listing split on spaces (without the header), and its last line."""
    result = runner.invoke(args=["structures", "list", *options])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:3] == ["id", "nom", "type"]
    return [line.split() for line in lines[1:-1]], lines[-1]


def by_name(rows) -> dict[str, list[str]]:
    return {" ".join(row[1:3]): row for row in rows}


def test_every_structure_is_listed_by_name_with_its_people_and_last_report(
    app_context, runner, partners
):
    rows, count = listed(runner)
    assert count == "3 structure(s)."
    assert [" ".join(row[1:3]) for row in rows] == ["Alpha Habitat", "Bêta Entraide", "Gamma Santé"]
    alpha, beta, gamma = rows
    assert alpha[0] == str(partners["Alpha Habitat"])
    assert alpha[3:6] == ["social_landlord", "69123", "Lyon"]
    # Deployment id and name, active, onboarded on, active accounts, latest intervention.
    assert alpha[-4:] == ["oui", "2024-05-02", "2", "2026-02-14"]
    assert beta[-4:] == ["oui", "2025-01-15", "0", "—"]
    assert gamma[-4:] == ["non", "2023-09-01", "1", "—"]
    assert (
        " ".join(alpha[6:-4]) == f"{deployment_of(partners['Alpha Habitat'])} {DEFAULT_DEPLOYMENT}"
    )


def test_active_and_inactive_structures_apart(runner, partners):
    rows, count = listed(runner, "--active")
    assert list(by_name(rows)) == ["Alpha Habitat", "Bêta Entraide"]
    assert count == "2 structure(s)."
    rows, count = listed(runner, "--inactive")
    assert list(by_name(rows)) == ["Gamma Santé"]
    assert count == "1 structure(s)."


def test_the_structures_of_one_deployment(runner, second_deployment):
    rows, count = listed(runner, "--deployment", str(second_deployment["other"]))
    assert list(by_name(rows)) == ["Bêta Entraide"]
    assert f"{second_deployment['other']} Déploiement Est" in " ".join(rows[0])
    assert count == "1 structure(s)."
    rows, _count = listed(runner, "--deployment", str(second_deployment["default"]), "--active")
    assert list(by_name(rows)) == ["Alpha Habitat"]


def test_an_unknown_deployment_lists_nothing(runner, partners):
    rows, count = listed(runner, "--deployment", "999999")
    assert (rows, count) == ([], "0 structure(s).")


@pytest.mark.parametrize("value", ["abc", "0", str(2**31)])
def test_a_bad_deployment_number_is_one_line_of_usage(runner, value):
    result = runner.invoke(args=["structures", "list", "--deployment", value])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_the_console_script_lists_the_structures(database_url, partners):
    result = ohpunaises(database_url, "structures", "list", "--inactive")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "Gamma Santé" in lines[1]
    assert lines[-1] == "1 structure(s)."
