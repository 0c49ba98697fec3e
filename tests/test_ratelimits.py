"""Rate limits under the threads of a gthread worker, and when their storage fails."""

import sys
import threading
import time

import pytest

from ohpunaises.app import create_app
from ohpunaises.auth import issue_token
from ohpunaises.extensions import db, limiter
from ohpunaises.ratelimits import LocalStorage, storage_uri

from .conftest import SECRET, make_user

THREADS = 32
RACE_SECONDS = 10  # the race showed within 2.5 s in every trial on a 2-core machine


def embedded_app(tmp_path, **env):
    """The application as the embedded default configures it (no database is touched)."""
    settings = {
        "OHPUNAISES_ENV": "test",
        "SECRET_KEY": SECRET,
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite",
        **env,
    }
    return create_app(settings)


@pytest.fixture
def fast_switching():
    """Threads switch every microsecond, as they might at any instruction under load."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


def hammer(work, seconds: float) -> list[str]:
    """Run `work(n)` in THREADS threads until `seconds` pass or one of them fails."""
    failures, deadline = [], time.monotonic() + seconds

    def loop(number):
        count = 0
        while time.monotonic() < deadline and not failures:
            try:
                work(number)
            except Exception as error:  # what a request thread would turn into a 500
                failures.append(repr(error))
            count += 1
            if count % 50 == 0:
                time.sleep(0.011)  # windows and timers expire meanwhile

    threads = [threading.Thread(target=loop, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


def test_many_threads_hitting_the_limiter_of_one_process_never_fail(tmp_path, fast_switching):
    embedded_app(tmp_path)
    storage = limiter.storage  # what the app's limiter counts in

    def hit(number):
        key = f"LIMITS/token:{number % 4}/api"
        storage.incr(key, 1)  # one-second windows: they expire all the time
        storage.get(key)

    assert hammer(hit, RACE_SECONDS) == []


def test_the_default_storage_is_this_process_s_own_and_counts_exactly(tmp_path):
    embedded_app(tmp_path)
    assert isinstance(limiter.storage, LocalStorage)
    storage = LocalStorage()
    threads = [
        threading.Thread(target=lambda: [storage.incr("k", 60) for _ in range(500)])
        for _ in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert storage.get("k") == THREADS * 500


def test_a_window_ends_when_it_expires(monkeypatch):
    storage, now = LocalStorage(), [1000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    assert storage.incr("k", 60) == 1 and storage.incr("k", 60) == 2
    assert storage.get_expiry("k") == 1060.0
    now[0] = 1060.0
    assert storage.get("k") == 0
    assert storage.incr("k", 60) == 1


def test_expired_windows_are_swept_when_the_table_is_full(monkeypatch):
    from ohpunaises import ratelimits

    monkeypatch.setattr(ratelimits, "MAX_WINDOWS", 10)
    storage, now = LocalStorage(), [1000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    for number in range(10):
        storage.incr(f"old-{number}", 5)
    now[0] = 1010.0
    storage.incr("new", 5)
    assert storage._windows.keys() == {"new"}


def test_memory_in_the_settings_means_this_process_s_storage():
    assert storage_uri(None) == storage_uri("memory://") == "local://"
    assert storage_uri("redis://cache:6379/0") == "redis://cache:6379/0"


def test_a_failing_storage_lets_requests_through_and_is_logged(app, make_app, capsys):
    """Redis out of reach: the request is served, never a 500, and the failure is logged."""
    broken = make_app(OHPUNAISES_RATELIMIT_STORAGE="redis://127.0.0.1:1/0")
    with broken.app_context():
        token = issue_token(make_user("agent@example.org", "agent"))[0]
        db.session.commit()
    capsys.readouterr()
    response = broken.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert "Failed to rate limit" in capsys.readouterr().err
