"""`flask worker`: the rq worker, plus a ticker for the periodic jobs.

Jobs run in this process (rq's SimpleWorker), each in an app context of its own so that it gets a
fresh database session. The ticker enqueues the periodic work — the sweep of unprocessed
interactions, the outbox drain — guarded by a short Redis lock so that many workers tick once.
Without Redis the ticker runs the same work inline, so embedded mode can run a worker too.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import threading
import time

from flask import Flask, current_app
from redis import Redis
from redis.exceptions import RedisError
from rq import SimpleWorker

from crm import jobs

log = logging.getLogger(__name__)

TICK_S = 5


class AppWorker(SimpleWorker):
    flask_app: Flask

    def execute_job(self, job, queue):
        with self.flask_app.app_context():
            return super().execute_job(job, queue)


def tick(app: Flask) -> None:
    """One round of periodic work; safe to run from several workers (every piece is idempotent)."""
    from crm.pipeline import sweep
    from crm.search import drain, uses_elasticsearch

    with app.app_context():
        try:
            sweep()
            if uses_elasticsearch():
                jobs.enqueue(drain, once_key="drain")
            for fn in _periodic_extras():
                jobs.enqueue(fn, once_key=f"{fn.__module__}.{fn.__name__}")
        except Exception:
            log.exception("periodic tick failed; trying again in %s s", TICK_S)


def _periodic_extras() -> list:
    """Periodic jobs that other packages provide (segment refresh, outbound deliveries)."""
    extras = []
    try:
        from crm.segments.jobs import PERIODIC

        extras.extend(PERIODIC)
    except ImportError:
        pass
    from crm.personalization.catalog_db import refresh_if_stale
    from crm.personalization.scores import rescore_daily

    extras.append(refresh_if_stale)  # rebuilds the product model when it is an hour old
    extras.append(rescore_daily)  # journey stage and churn risk move with time alone: once a day
    from crm.experiments.jobs import PERIODIC as EXPERIMENTS

    extras.extend(EXPERIMENTS)  # ends experiments past their end, assigns members no interaction brought in
    return extras


def _ticker(app: Flask, conn: Redis | None, stop: threading.Event) -> None:
    while not stop.wait(TICK_S):
        if conn is not None:
            try:
                if not conn.set(f"crm:{app.config['RQ_QUEUE']}:ticker", "1", nx=True, ex=TICK_S - 1):
                    continue
            except RedisError:
                continue  # Redis down: nothing can be enqueued; the next tick tries again
        tick(app)


def run(burst: bool = False) -> None:
    app = current_app._get_current_object()
    url = app.config.get("REDIS_URL")
    stop = threading.Event()
    if not url:
        log.info("no REDIS_URL: running the periodic work inline every %s s (Ctrl-C to stop)", TICK_S)
        try:
            while True:
                tick(app)
                if burst:
                    return
                time.sleep(TICK_S)
        except KeyboardInterrupt:
            return
    _children_die_with_this_process()
    # The worker's own connection: no socket timeout, since it blocks waiting for jobs.
    conn = Redis.from_url(url)
    ticker = threading.Thread(target=_ticker, args=(app, Redis.from_url(url, socket_timeout=5), stop), daemon=True)
    ticker.start()
    try:
        _supervise(app, conn, burst)
    finally:
        stop.set()


RESTART_DELAYS_S = [1, 2, 5, 10, 30]
_PR_SET_PDEATHSIG = 1
_pdeathsig_registered = False  # once per process: the hook is inherited by every later fork


def _children_die_with_this_process() -> None:
    """rq runs its scheduler (retries, delayed jobs) in a forked process that outlives a worker killed
    with SIGKILL or by the OOM killer, and then runs on forever on its own. On Linux the processes this
    worker forks are asked to get SIGTERM when it dies (prctl PR_SET_PDEATHSIG), which stops rq's
    scheduler cleanly (it releases its lock and another worker's scheduler takes over)."""
    global _pdeathsig_registered
    if not sys.platform.startswith("linux") or _pdeathsig_registered:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    forking = [0]

    def before() -> None:
        forking[0] = os.getpid()

    def in_child() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != forking[0]:  # the parent died between the fork and the prctl
            os.kill(os.getpid(), signal.SIGTERM)

    os.register_at_fork(before=before, after_in_child=in_child)
    _pdeathsig_registered = True


def _supervise(app: Flask, conn: Redis, burst: bool) -> None:
    """Run rq workers until asked to stop. rq's worker quits when it loses Redis; this starts a new one
    once Redis answers again, so a Redis restart does not need a process supervisor to recover."""
    failures = 0
    while True:
        worker = AppWorker([app.config["RQ_QUEUE"]], connection=conn)
        worker.flask_app = app
        started = time.monotonic()
        try:
            worker.work(burst=burst, with_scheduler=True, logging_level="WARNING")
        except RedisError as exc:
            log.warning("worker: Redis unavailable (%s: %s)", exc.__class__.__name__, exc)
        else:
            if worker._stop_requested:
                return
        if burst:
            return
        if time.monotonic() - started > 60:
            failures = 0
        delay = RESTART_DELAYS_S[min(failures, len(RESTART_DELAYS_S) - 1)]
        failures += 1
        log.warning("worker: stopped without being asked (Redis lost?); starting again in %s s", delay)
        time.sleep(delay)
