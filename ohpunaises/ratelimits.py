"""Where rate limits are counted: in this process, safely under a gthread worker's threads,
or in Redis when several hosts share them.

`limits`' own memory storage starts a timer thread to expire its windows, and two request
threads can both restart it at once ("threads can only be started once", a 500). Ours has no
thread: each fixed window lives behind one lock and is dropped when it is met expired, and
every expired one whenever the table grows past MAX_WINDOWS. `memory://` in the settings
means this storage.
"""

import threading
import time

from flask import current_app, request
from flask_login import current_user
from limits.storage import Storage

MAX_WINDOWS = 10_000  # past this many counters, expired ones are swept before adding one


class LocalStorage(Storage):
    """Fixed windows in this process's memory, behind one lock."""

    STORAGE_SCHEME = ["local"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        self._lock = threading.Lock()
        self._windows: dict[str, list] = {}  # key: [count, expires at (time.time())]
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self):
        return ValueError

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.time()
        with self._lock:
            window = self._live(key, now)
            if window is None:
                if len(self._windows) >= MAX_WINDOWS:
                    self._sweep(now)
                window = self._windows[key] = [0, now + expiry]
            window[0] += amount
            return window[0]

    def get(self, key: str) -> int:
        with self._lock:
            window = self._live(key, time.time())
            return window[0] if window else 0

    def get_expiry(self, key: str) -> float:
        now = time.time()
        with self._lock:
            window = self._live(key, now)
            return window[1] if window else now

    def check(self) -> bool:
        return True

    def reset(self) -> int:
        with self._lock:
            count = len(self._windows)
            self._windows.clear()
            return count

    def clear(self, key: str) -> None:
        with self._lock:
            self._windows.pop(key, None)

    def _live(self, key: str, now: float):
        window = self._windows.get(key)
        if window is not None and window[1] <= now:
            del self._windows[key]
            return None
        return window

    def _sweep(self, now: float):
        for key in [key for key, (_count, expires) in self._windows.items() if expires <= now]:
            del self._windows[key]


def storage_uri(setting: str | None) -> str:
    """The storage a setting names: this process's (`memory://`, the default) or another."""
    if not setting or setting.startswith("memory://"):
        return "local://"
    return setting


def rate_key() -> str:
    """Whom a limit counts: the account the request was authenticated as, else the address.

    Never what a header claims: a bogus bearer token beside a session counts as the session.
    """
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return "ip:" + (request.remote_addr or "")


def figures_limit():
    """The shared limit of the pages and endpoints that compute figures, per account or
    address (`OHPUNAISES_RATELIMIT_FIGURES`)."""
    from .extensions import limiter

    return limiter.shared_limit(
        lambda: current_app.config["RATELIMIT_FIGURES"], scope="figures", key_func=rate_key
    )


def tiles_limit():
    """The shared limit of map tiles, per account or address (`OHPUNAISES_RATELIMIT_TILES`):
    a view loads a dozen of them at once, and each one only joins cached figures."""
    from .extensions import limiter

    return limiter.shared_limit(
        lambda: current_app.config["RATELIMIT_TILES"], scope="tiles", key_func=rate_key
    )
