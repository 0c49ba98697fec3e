"""Settings read from the environment and checked at start-up."""

import os
import secrets
from pathlib import Path

ENVIRONMENTS = ("production", "development", "test")


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message says which and why."""


def database_uri(url: str | None, instance_path: str) -> str:
    """The SQLAlchemy URL for DATABASE_URL, defaulting to SpatiaLite in the instance folder."""
    if not url:
        Path(instance_path).mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{Path(instance_path) / 'ohpunaises.sqlite'}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if url.startswith(("postgresql+psycopg://", "sqlite:///")):
        return url
    raise ConfigError(
        f"DATABASE_URL non reconnue : {url!r}. Attendu : postgresql://… ou sqlite:///chemin."
    )


def _integer(env, name, default, minimum):
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value < minimum:
        raise ConfigError(f"{name} doit être un entier ≥ {minimum} (reçu : {raw!r}).")
    return value


def _flag(env, name, default):
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "oui", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "non", "off"):
        return False
    raise ConfigError(f"{name} doit valoir 0 ou 1 (reçu : {raw!r}).")


def _secret_key(env, environment, instance_path):
    key = env.get("SECRET_KEY")
    if key:
        if len(key) < 16:
            raise ConfigError("SECRET_KEY doit compter au moins 16 caractères.")
        return key
    if environment == "production":
        raise ConfigError(
            "SECRET_KEY est obligatoire en production : définissez une longue chaîne aléatoire."
        )
    return _instance_secret(Path(instance_path))


def _instance_secret(instance: Path) -> str:
    # Kept on disk so that every gunicorn worker and every restart signs with the same key.
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def load_settings(instance_path: str, env=None) -> dict:
    """Every setting of the application, from the environment, validated."""
    env = os.environ if env is None else env
    environment = env.get("OHPUNAISES_ENV", "production")
    if environment not in ENVIRONMENTS:
        raise ConfigError(
            f"OHPUNAISES_ENV doit valoir {', '.join(ENVIRONMENTS)} (reçu : {environment!r})."
        )
    uri = database_uri(env.get("DATABASE_URL"), instance_path)
    return {
        "ENV_NAME": environment,
        "TESTING": environment == "test",
        "SECRET_KEY": _secret_key(env, environment, instance_path),
        "SQLALCHEMY_DATABASE_URI": uri,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(uri),
        "SPATIALITE_LIBRARY": env.get("OHPUNAISES_SPATIALITE_LIBRARY", "mod_spatialite"),
        "SUPPRESSION_K": _integer(env, "OHPUNAISES_SUPPRESSION_K", 5, 2),
        "DEMO": _flag(env, "OHPUNAISES_DEMO", True),
        "MAX_CONTENT_LENGTH": _integer(env, "OHPUNAISES_MAX_BODY_BYTES", 2_000_000, 1024),
        "PSEUDONYM_KEY": env.get("OHPUNAISES_PSEUDONYM_KEY") or None,
        "RATELIMIT_STORAGE_URI": env.get("OHPUNAISES_RATELIMIT_STORAGE") or "memory://",
        "RATELIMIT_API": env.get("OHPUNAISES_RATELIMIT_API") or "1200 per minute",
        "RATELIMIT_LOGIN": env.get("OHPUNAISES_RATELIMIT_LOGIN") or "10 per minute",
        "RATELIMIT_HEADERS_ENABLED": True,
        "BABEL_DEFAULT_LOCALE": "fr",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Paris",
    }


def engine_options(uri: str) -> dict:
    """Engine options for the database behind the URI."""
    if uri.startswith("sqlite"):
        import sqlean

        return {"module": sqlean, "connect_args": {"timeout": 30}}
    return {"pool_pre_ping": True, "connect_args": {"connect_timeout": 5}}
