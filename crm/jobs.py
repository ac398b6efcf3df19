"""Background jobs: `enqueue(fn, *ids)` puts a job on rq when REDIS_URL is set and runs it inline otherwise.

Jobs are plain functions that take ids and are idempotent. When Redis is down nothing is lost:
the job is not queued, the work waits in the database (unprocessed interactions, outbox rows) and
the periodic sweep enqueues it again once Redis is back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from flask import current_app
from redis import Redis
from redis.exceptions import RedisError

from crm.extensions import db

log = logging.getLogger(__name__)

RETRY_INTERVALS = [1, 5, 15, 60, 300]
_warned: dict[str, float] = {}
_warn_lock = threading.Lock()


def warn_once(key: str, message: str, every_s: float = 60.0) -> None:
    """Log a one-line warning at most once a minute per key: a service down is not a traceback per request."""
    now = time.monotonic()
    with _warn_lock:
        if now - _warned.get(key, -every_s - 1) < every_s:
            return
        _warned[key] = now
    log.warning(message)


def redis_connection() -> Redis | None:
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    conn = current_app.extensions.get("crm.redis")
    if conn is None:
        conn = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=5, health_check_interval=30)
        current_app.extensions["crm.redis"] = conn
    return conn


def queue():
    from rq import Queue

    return Queue(current_app.config["RQ_QUEUE"], connection=redis_connection(), default_timeout=300)


def enqueue(fn: Callable, *args, once_key: str | None = None) -> bool:
    """Queue fn(*args) (inline without Redis). True when queued or run; False when it must wait for the sweep.

    once_key: when given, a job with the same key already waiting is not queued twice (for drains).
    """
    if not current_app.config.get("REDIS_URL"):
        return run_inline(fn, *args)
    from rq import Retry

    conn = redis_connection()
    try:
        if once_key:
            key = f"crm:{current_app.config['RQ_QUEUE']}:once:{once_key}"
            if not conn.set(key, "1", nx=True, ex=300):
                return True
            args = (key, fn, *args)
            fn = _run_once
        retry = Retry(max=current_app.config["JOB_RETRIES"], interval=RETRY_INTERVALS)
        queue().enqueue(fn, *args, retry=retry, result_ttl=600, failure_ttl=7 * 24 * 3600)
        return True
    except RedisError as exc:
        warn_once(
            "redis",
            f"queue unavailable ({current_app.config['REDIS_URL']}): {exc.__class__.__name__}: {exc}; "
            "the work waits in the database for the sweep",
        )
        return False


def _run_once(key: str, fn: Callable, *args):
    """Clear the once-key first, so work that arrives while this job runs gets a job of its own."""
    conn = redis_connection()
    if conn is not None:
        try:
            conn.delete(key)
        except RedisError:
            pass
    return fn(*args)


def run_inline(fn: Callable, *args) -> bool:
    """Run a job now, in its own transaction. A failure is logged and left for the sweep, never raised."""
    try:
        fn(*args)
        return True
    except Exception:
        db.session.rollback()
        log.exception("inline job %s%r failed; it will be retried by the sweep", fn.__qualname__, args)
        return False


def queue_state() -> dict:
    """For /healthz: {'state': 'up'|'down'|'inline', ...}."""
    conn = redis_connection()
    if conn is None:
        return {"state": "inline"}
    try:
        conn.ping()
        return {"state": "up", "queued": queue().count}
    except RedisError as exc:
        return {"state": "down", "error": f"{exc.__class__.__name__}: {exc}"}
