"""Settings read from the environment and checked at start-up."""

import os
import re
import secrets
import time
from email.policy import default as email_policy
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .ratelimits import storage_uri

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
    # Created exclusively: workers starting together all read the one key the first wrote.
    path = instance / "secret_key"
    instance.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _written_secret(path)
    with os.fdopen(descriptor, "w") as file:
        file.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _written_secret(path: Path) -> str:
    """The key another process is writing: it takes a moment to appear whole."""
    for _attempt in range(50):
        key = path.read_text().strip()
        if key:
            return key
        time.sleep(0.02)
    raise ConfigError(f"{path} est vide : supprimez-le, une nouvelle clé sera créée.")


def _age(env, name, default):
    raw = (env.get(name) or default).strip().lower()
    if len(raw) < 2 or raw[-1] not in "ymd" or not raw[:-1].isdigit() or int(raw[:-1]) < 1:
        raise ConfigError(f"{name} doit être une durée comme 5y, 18m ou 90d (reçu : {raw!r}).")
    return raw


OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>'


def _tile_url(env):
    url = env.get("OHPUNAISES_TILE_URL") or OSM_TILES
    if not all(part in url for part in ("{z}", "{x}", "{y}")):
        raise ConfigError(
            f"OHPUNAISES_TILE_URL doit contenir {{z}}, {{x}} et {{y}} (reçu : {url!r})."
        )
    return url


TILE_HOST = re.compile(r"([A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?")


def tile_origin(url: str) -> str | None:
    """The origin the maps load their tiles from, as the Content-Security-Policy names it.

    None for tiles served by the site itself (a path); a subdomain placeholder such as
    `{s}.tile.example.org` becomes the wildcard `*.tile.example.org`.
    """
    if url.startswith("/") and not url.startswith("//"):
        return None
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0]
    labels = host.split(".")
    templated = [index for index, label in enumerate(labels) if "{" in label or "}" in label]
    if templated:
        labels = ["*", *labels[templated[-1] + 1 :]]
    fixed = ".".join(labels[1:] if templated else labels)
    if scheme not in ("http", "https") or not fixed or not TILE_HOST.fullmatch(fixed):
        raise ConfigError(
            "OHPUNAISES_TILE_URL doit être une adresse http(s)://hôte/… ou un chemin /… "
            f"(reçu : {url!r})."
        )
    return f"{scheme}://{'.'.join(labels)}"


def _origins(env, name):
    """Origins (scheme://host[:port]) separated by spaces or commas."""
    origins = (env.get(name) or "").replace(",", " ").split()
    for origin in origins:
        scheme, _, host = origin.partition("://")
        if scheme not in ("http", "https") or not host or "/" in host or "'" in origin:
            raise ConfigError(
                f"{name} attend des origines comme https://exemple.fr (reçu : {origin!r})."
            )
    return tuple(origins)


def _base_url(env):
    url = (env.get("OHPUNAISES_BASE_URL") or "").rstrip("/")
    scheme, _, rest = url.partition("://")
    if url and (scheme not in ("http", "https") or not rest or "'" in url or " " in url):
        raise ConfigError(
            f"OHPUNAISES_BASE_URL attend une adresse comme https://ohpunaises.exemple.fr "
            f"(reçu : {url!r})."
        )
    return url or None


SETTINGS_FILE = "settings.env"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def instance_settings(instance_path: str) -> dict[str, str]:
    """`NAME=value` lines of the instance's settings file, if there is one.

    `make run` writes `OHPUNAISES_ENV=development` there, so that every command run in the
    checkout finds the embedded database's settings; the environment always wins over it.
    """
    path = Path(instance_path) / SETTINGS_FILE
    if not path.is_file():
        return {}
    settings = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, equals, value = line.partition("=")
        if not equals or not name.strip():
            raise ConfigError(f"{path}, ligne {number} : NOM=valeur attendu (reçu : {line!r}).")
        settings[name.strip()] = value.strip()
    return settings


def _limit(env, name, default) -> tuple[int, int]:
    """A limit such as "10 per minute", as (attempts, seconds)."""
    from limits import parse

    raw = env.get(name) or default
    try:
        item = parse(raw)
    except ValueError:
        item = None
    if item is None:
        raise ConfigError(f"{name} doit être une limite comme 10 per minute (reçu : {raw!r}).")
    return item.amount, item.get_expiry()


def _choice(env, name, choices, default):
    value = env.get(name) or default
    if value not in choices:
        raise ConfigError(f"{name} doit valoir {', '.join(choices)} (reçu : {value!r}).")
    return value


SMTP_PORTS = {"smtp": 25, "smtps": 465}
SMTP_FORM = "smtp://[identifiant[:mot de passe]@]hôte[:port] ou smtps://…"


def _smtp_server(env) -> dict | None:
    """OHPUNAISES_SMTP_URL as {scheme, host, port, username, password}; None when unset.

    `smtps://` speaks TLS from the first byte (port 465 by default); `smtp://` (port 25)
    moves to TLS with STARTTLS when the server offers it (`mail.py` says when it must).
    The identifier and password are URL-encoded in the address, and ASCII (smtplib's AUTH).
    """
    raw = env.get("OHPUNAISES_SMTP_URL") or ""
    if not raw:
        return None
    parts = urlsplit(raw)
    shown, port = _without_password(parts), _smtp_port(parts)
    extra = parts.path.strip("/") or parts.query or parts.fragment
    if parts.scheme not in SMTP_PORTS or not parts.hostname or not port or extra:
        raise ConfigError(f"OHPUNAISES_SMTP_URL doit être {SMTP_FORM} (reçu : {shown!r}).")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password or "") if username else None
    if not f"{username or ''}{password or ''}".isascii():
        raise ConfigError(
            "OHPUNAISES_SMTP_URL : l'identifiant et le mot de passe doivent être en ASCII "
            f"(reçu : {shown!r})."
        )
    server = {"scheme": parts.scheme, "host": parts.hostname, "port": port}
    return {**server, "username": username, "password": password}


def _smtp_port(parts) -> int | None:
    """The address's port, else its scheme's; None when it is not a port."""
    try:
        port = parts.port
    except ValueError:
        return None
    return SMTP_PORTS.get(parts.scheme) if port is None else port or None


def _without_password(parts) -> str:
    """The address as an error may show it: never its password."""
    if parts.password is None:
        return parts.geturl()
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)).geturl()


DEFAULT_MAIL_FROM = "Oh Punaises! <ne-pas-repondre@localhost>"


def _mail_from(env) -> str:
    """OHPUNAISES_MAIL_FROM, one address with its domain (a display name is welcome)."""
    raw = env.get("OHPUNAISES_MAIL_FROM") or DEFAULT_MAIL_FROM
    header = email_policy.header_factory("from", raw)
    addresses = header.addresses
    whole = len(addresses) == 1 and addresses[0].username and addresses[0].domain
    if header.defects or not whole:
        raise ConfigError(
            "OHPUNAISES_MAIL_FROM doit être une adresse comme "
            f"« Oh Punaises! <ne-pas-repondre@exemple.fr> » (reçu : {raw!r})."
        )
    return str(addresses[0])


def load_settings(instance_path: str, env=None) -> dict:
    """Every setting of the application, from the environment (then the instance's settings
    file), validated."""
    env = os.environ if env is None else env
    env = {**instance_settings(instance_path), **env}
    environment = env.get("OHPUNAISES_ENV", "production")
    if environment not in ENVIRONMENTS:
        raise ConfigError(
            f"OHPUNAISES_ENV doit valoir {', '.join(ENVIRONMENTS)} (reçu : {environment!r})."
        )
    uri = database_uri(env.get("DATABASE_URL"), instance_path)
    statement_timeout = _integer(env, "OHPUNAISES_STATEMENT_TIMEOUT", 30, 0)
    tiles = _tile_url(env)
    return {
        "ENV_NAME": environment,
        "TESTING": environment == "test",
        "SECRET_KEY": _secret_key(env, environment, instance_path),
        "SQLALCHEMY_DATABASE_URI": uri,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(uri, statement_timeout),
        "STATEMENT_TIMEOUT": statement_timeout,
        "SPATIALITE_LIBRARY": env.get("OHPUNAISES_SPATIALITE_LIBRARY", "mod_spatialite"),
        "SUPPRESSION_K": _integer(env, "OHPUNAISES_SUPPRESSION_K", 5, 2),
        "DEMO": _flag(env, "OHPUNAISES_DEMO", True),
        "PUBLIC_PAGE": _flag(env, "OHPUNAISES_PUBLIC_PAGE", False),
        "MAX_CONTENT_LENGTH": _integer(env, "OHPUNAISES_MAX_BODY_BYTES", 2_000_000, 1024),
        "IMPORT_MAX_MB": _integer(env, "OHPUNAISES_IMPORT_MAX_MB", 50, 1),
        "PSEUDONYM_KEY": env.get("OHPUNAISES_PSEUDONYM_KEY") or None,
        "RETENTION": _age(env, "OHPUNAISES_RETENTION", "5y"),
        "RATELIMIT_STORAGE_URI": storage_uri(env.get("OHPUNAISES_RATELIMIT_STORAGE")),
        "RATELIMIT_STRATEGY": "fixed-window",
        "RATELIMIT_FIGURES": env.get("OHPUNAISES_RATELIMIT_FIGURES") or "60 per minute",
        # Figures are measured by at most this many threads of a process at once; a request
        # waits at most FIGURE_WAIT seconds for them, then gets a 503.
        "FIGURE_COMPUTATIONS": _integer(env, "OHPUNAISES_FIGURE_COMPUTATIONS", 2, 1),
        "FIGURE_WAIT": _integer(env, "OHPUNAISES_FIGURE_WAIT", 30, 1),
        # A storage that fails (Redis out of reach) lets requests through, and is logged.
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_API": env.get("OHPUNAISES_RATELIMIT_API") or "1200 per minute",
        "LOGIN_LIMIT": _limit(env, "OHPUNAISES_RATELIMIT_LOGIN", "10 per minute"),
        "RATELIMIT_HEADERS_ENABLED": True,
        # Cookies: never read by scripts, not sent by other sites' forms, HTTPS-only in production.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": environment == "production",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": environment == "production",
        "BABEL_DEFAULT_LOCALE": "fr",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Paris",
        # The phone form's outbox may send hours after the page was loaded: the CSRF token
        # lives as long as the session.
        "WTF_CSRF_TIME_LIMIT": None,
        "TILE_URL": tiles,
        "TILE_ORIGIN": tile_origin(tiles),
        "TILE_ATTRIBUTION": env.get("OHPUNAISES_TILE_ATTRIBUTION") or OSM_ATTRIBUTION,
        # A level with more territories than this is drawn from tiles loaded as the view
        # moves (map/tiles.py), not written whole into the page.
        "MAP_TILES_ABOVE": _integer(env, "OHPUNAISES_MAP_TILES_ABOVE", 1000, 0),
        "RATELIMIT_TILES": env.get("OHPUNAISES_RATELIMIT_TILES") or "1200 per minute",
        # The embeddable map is public (suppressed aggregates, no sign-in): off unless asked.
        "EMBED": _flag(env, "OHPUNAISES_EMBED", False),
        "EMBED_ORIGINS": _origins(env, "OHPUNAISES_EMBED_ORIGINS"),
        # Where the service is reached from outside: the links sent by e-mail start with it.
        "BASE_URL": _base_url(env),
        # One JSON object per line in production (for a log collector), plain text otherwise.
        "LOG_FORMAT": _choice(
            env,
            "OHPUNAISES_LOG_FORMAT",
            ("json", "text"),
            "json" if environment == "production" else "text",
        ),
        "LOG_LEVEL": _choice(env, "OHPUNAISES_LOG_LEVEL", LOG_LEVELS, "INFO"),
        # Outgoing mail (`mail.py`): through this server, else written to instance/mail/.
        "SMTP_URL": env.get("OHPUNAISES_SMTP_URL") or None,
        "SMTP_SERVER": _smtp_server(env),
        "MAIL_FROM": _mail_from(env),
        # Seconds each step of an SMTP conversation may take before the send fails.
        "SMTP_TIMEOUT": 10,
    }


def engine_options(uri: str, statement_timeout: int = 0) -> dict:
    """Engine options for the database behind the URI; on PostgreSQL, statements longer than
    `statement_timeout` seconds (0: no bound) are cancelled."""
    if uri.startswith("sqlite"):
        import sqlean

        # gthread workers hand pooled connections from thread to thread.
        return {"module": sqlean, "connect_args": {"timeout": 30, "check_same_thread": False}}
    connect_args = {"connect_timeout": 5}
    if statement_timeout:
        connect_args["options"] = f"-c statement_timeout={statement_timeout * 1000}"
    return {"pool_pre_ping": True, "connect_args": connect_args}
