"""The `ohpunaises` console script, run as an operator would, on an empty database."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import environ_for

SCRIPT = Path(sys.executable).parent / "ohpunaises"


def ohpunaises(database_url, *args, **env):
    return subprocess.run(
        [str(SCRIPT), *args],
        env={**os.environ, **environ_for(database_url, **env)},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def empty_database(database_kind, new_database_url):
    return new_database_url(database_kind)


def test_init_builds_the_database_and_prints_demo_logins_once(empty_database):
    first = ohpunaises(empty_database, "init")
    assert first.returncode == 0, first.stderr
    assert "Territoires chargés : 58 (commune)." in first.stdout
    assert "Territoires chargés : 9 (arrondissement)." in first.stdout
    assert "DÉMONSTRATION" in first.stdout
    for role in ("agent", "partner_admin", "coordinator", "institution", "evaluator"):
        assert f"  {role} " in first.stdout

    second = ohpunaises(empty_database, "init")
    assert second.returncode == 0, second.stderr
    assert "Territoires chargés" not in second.stdout
    assert "DÉMONSTRATION" not in second.stdout
    assert "Base prête." in second.stdout

    listing = ohpunaises(empty_database, "territories", "list").stdout.splitlines()
    assert sum(line.split()[-2:-1] == ["commune"] for line in listing) == 58
    assert sum(line.split()[-2:-1] == ["arrondissement"] for line in listing) == 9
    assert ["69123", "Lyon", "commune", "519127"] in [line.split() for line in listing]


def test_init_without_demo_creates_no_account(empty_database):
    result = ohpunaises(empty_database, "init", OHPUNAISES_DEMO="0")
    assert result.returncode == 0, result.stderr
    assert "DÉMONSTRATION" not in result.stdout


def test_db_upgrade_is_available(empty_database):
    result = ohpunaises(empty_database, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert "Running upgrade" in result.stderr


def test_a_bad_setting_stops_the_command_with_a_clear_message(empty_database):
    result = ohpunaises(empty_database, "territories", "list", OHPUNAISES_SUPPRESSION_K="x")
    assert result.returncode == 2
    assert "Configuration invalide : OHPUNAISES_SUPPRESSION_K doit être un entier" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreachable_database_is_said_plainly(database_kind, tmp_path):
    url = {
        "spatialite": f"sqlite:///{tmp_path}/missing/db.sqlite",
        "postgis": "postgresql://postgres@127.0.0.1:1/nowhere",
    }[database_kind]
    result = ohpunaises(url, "territories", "list")
    assert result.returncode == 1
    assert "Base de données injoignable" in result.stderr
    assert "Traceback" not in result.stderr
