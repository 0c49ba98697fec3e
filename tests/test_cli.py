"""The `ohpunaises` console script, run as an operator would, on an empty database."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import environ_for

SCRIPT = Path(sys.executable).parent / "ohpunaises"
ROOT = Path(__file__).resolve().parent.parent


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


def test_help_needs_no_setting():
    """`--help` lists every command with an empty environment, and builds no application."""
    for args in ([], ["territories", "load"], ["export", "reports"], ["roles"]):
        result = subprocess.run(
            [str(SCRIPT), *args, "--help"], env={}, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
        assert "Usage: ohpunaises" in result.stdout
    listing = subprocess.run([str(SCRIPT), "--help"], env={}, capture_output=True, text=True)
    for command in ("init", "db", "territories", "users", "tokens", "export", "roles"):
        assert f"  {command} " in listing.stdout


def test_a_missing_secret_key_is_one_line_and_exit_status_2(tmp_path):
    result = subprocess.run(
        [str(SCRIPT), "territories", "list"],
        env={"DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Configuration invalide : SECRET_KEY est obligatoire en production : définissez une "
        "longue chaîne aléatoire."
    ]


def test_the_instance_settings_file_fills_what_the_environment_leaves_unset(tmp_path):
    from ohpunaises.config import ConfigError, load_settings

    (tmp_path / "settings.env").write_text(
        "# écrit par make run\nOHPUNAISES_ENV=development\n\nOHPUNAISES_SUPPRESSION_K=7\n"
    )
    settings = load_settings(str(tmp_path), {})
    assert (settings["ENV_NAME"], settings["SUPPRESSION_K"]) == ("development", 7)
    assert (tmp_path / "secret_key").exists()  # development keeps its key in the instance
    assert load_settings(str(tmp_path), {"OHPUNAISES_SUPPRESSION_K": "3"})["SUPPRESSION_K"] == 3
    (tmp_path / "settings.env").write_text("ceci n'est pas un réglage\n")
    with pytest.raises(ConfigError, match="ligne 1 : NOM=valeur attendu"):
        load_settings(str(tmp_path), {})


def test_make_run_writes_the_settings_the_commands_then_find(tmp_path):
    """The Makefile's rule that `make run` depends on, run in a scratch directory: what it
    writes makes the commands of the checkout use the embedded database's settings."""
    from ohpunaises.config import load_settings

    made = subprocess.run(
        ["make", "-s", "-f", str(ROOT / "Makefile"), "instance/settings.env"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr
    settings = load_settings(str(tmp_path / "instance"), {})
    assert settings["ENV_NAME"] == "development"
    assert settings["SQLALCHEMY_DATABASE_URI"].endswith("instance/ohpunaises.sqlite")
