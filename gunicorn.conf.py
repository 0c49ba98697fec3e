"""gunicorn settings, read from the environment."""

import multiprocessing
import os

bind = os.environ.get("OHPUNAISES_BIND") or f"127.0.0.1:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", min(4, multiprocessing.cpu_count() * 2)))
# Two threads make gunicorn use gthread workers, whose heartbeat lets a long streamed
# export run past `timeout`; sync workers would be killed mid-stream.
threads = int(os.environ.get("OHPUNAISES_THREADS", "2"))
timeout = int(os.environ.get("OHPUNAISES_TIMEOUT", "120"))
graceful_timeout = 30
# Long enough for every query string the API documents (cursors, filters), percent-encoded.
limit_request_line = 8190
# No access log of gunicorn's own: it would print query strings, which may carry personal
# data. The application logs one line per request itself (ohpunaises/logs.py).
accesslog = None
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
