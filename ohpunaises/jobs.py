"""Work that takes longer than a request should: run beside the requests, in this process.

A job is a function of plain arguments, run in a thread of a small pool with the
application's context. It keeps its own state in the database (a pack file's status and
progress), so that any worker answers "how far has it got", and a job lost with its process
is started again by the next request that finds it silent for too long.
"""

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait

from flask import current_app

from .extensions import db

log = logging.getLogger(__name__)

_pool: ThreadPoolExecutor | None = None
_running: set[Future] = set()
_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ohpunaises-job")
    return _pool


def submit(function, *args) -> Future:
    """Run `function(*args)` in the background with this application's context."""
    app = current_app._get_current_object()
    future = _executor().submit(_run, app, function, args)
    with _lock:
        _running.add(future)
    future.add_done_callback(_forget)
    return future


def _forget(future: Future) -> None:
    with _lock:
        _running.discard(future)


def drain(timeout: float = 60.0) -> bool:
    """Wait for the jobs under way (a test ends with none); False if some still run."""
    with _lock:
        running = set(_running)
    return not wait(running, timeout=timeout).not_done


def _run(app, function, args) -> None:
    with app.app_context():
        try:
            function(*args)
        except Exception:
            log.exception("job %s failed", function.__name__)
        finally:
            db.session.remove()
