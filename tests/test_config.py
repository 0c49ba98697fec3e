"""Settings come from the environment, and a bad one stops the start-up with a clear message."""

import pytest

from ohpunaises.config import ConfigError, load_settings


def settings(tmp_path, **env):
    return load_settings(str(tmp_path), {"OHPUNAISES_ENV": "test", **env})


def test_default_database_is_spatialite_in_the_instance_folder(tmp_path):
    uri = settings(tmp_path)["SQLALCHEMY_DATABASE_URI"]
    assert uri == f"sqlite:///{tmp_path / 'ohpunaises.sqlite'}"


def test_postgres_urls_use_psycopg(tmp_path):
    uri = settings(tmp_path, DATABASE_URL="postgres://u@h/db")["SQLALCHEMY_DATABASE_URI"]
    assert uri == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_URL": "mysql://u@h/db"}, "DATABASE_URL non reconnue"),
        ({"OHPUNAISES_SUPPRESSION_K": "abc"}, "OHPUNAISES_SUPPRESSION_K doit être un entier ≥ 2"),
        ({"OHPUNAISES_SUPPRESSION_K": "1"}, "OHPUNAISES_SUPPRESSION_K doit être un entier ≥ 2"),
        ({"OHPUNAISES_DEMO": "peut-être"}, "OHPUNAISES_DEMO doit valoir 0 ou 1"),
        ({"OHPUNAISES_ENV": "staging"}, "OHPUNAISES_ENV doit valoir"),
        ({"SECRET_KEY": "court"}, "SECRET_KEY doit compter au moins 16 caractères"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(tmp_path, env, message):
    with pytest.raises(ConfigError, match=message):
        settings(tmp_path, **env)


def test_production_requires_a_secret_key(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY est obligatoire en production"):
        load_settings(str(tmp_path), {})


def test_development_keeps_one_secret_key_across_starts(tmp_path):
    first = load_settings(str(tmp_path), {"OHPUNAISES_ENV": "development"})["SECRET_KEY"]
    second = load_settings(str(tmp_path), {"OHPUNAISES_ENV": "development"})["SECRET_KEY"]
    assert first == second
    assert len(first) >= 32


def test_suppression_threshold_defaults_to_five(tmp_path):
    assert settings(tmp_path)["SUPPRESSION_K"] == 5
    assert settings(tmp_path, OHPUNAISES_SUPPRESSION_K="10")["SUPPRESSION_K"] == 10


def test_workers_starting_together_share_one_instance_key(tmp_path):
    """Each gunicorn worker builds the app: the first writes the key, the others read it."""
    import threading

    keys, start = [], threading.Barrier(8)

    def worker():
        start.wait()
        keys.append(load_settings(str(tmp_path), {"OHPUNAISES_ENV": "development"})["SECRET_KEY"])

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8 and len(set(keys)) == 1
    assert oct((tmp_path / "secret_key").stat().st_mode & 0o777) == "0o600"
