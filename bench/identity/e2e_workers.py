"""Processing the benchmark's interactions with real `flask worker` processes on Redis instead of in
this process: the same jobs the webhook enqueues, taken by N workers at once, so that merges are
measured under the races two workers can have on one person.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid

from sqlalchemy import func, select
from tqdm import tqdm

from bench.identity import vocab
from bench.identity.e2e_setup import ROOT

BATCH = 50


def redis_url() -> str:
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"]
    env = ROOT / ".services" / "env"
    for line in env.read_text().splitlines() if env.exists() else []:
        if line.startswith("export REDIS_URL="):
            return line.split("=", 1)[1]
    raise SystemExit("--workers needs Redis: set REDIS_URL or run scripts/services.sh")


def use_queue(app) -> str:
    """Point the app at a queue of its own on the real Redis; returns the queue name."""
    name = f"crm-bench-identity-{uuid.uuid4().hex[:8]}"
    app.config.update(REDIS_URL=redis_url(), RQ_QUEUE=name)
    app.extensions.pop("crm.redis", None)
    return name


def _start(app, count: int) -> list[subprocess.Popen]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=app.config["REDIS_URL"],
        RQ_QUEUE=app.config["RQ_QUEUE"],
        ELASTICSEARCH_URL="",
        IDENTITY_BLOCKLIST=",".join(vocab.BLOCKLIST),
        SECRET_KEY="bench",
        SWEEP_AFTER_S="600",
        FLASK_APP="wsgi:app",
        CRM_INSTANCE_PATH=tempfile.mkdtemp(prefix="crm-bench-worker-"),
        LOG_LEVEL="WARNING",
    )
    return [
        subprocess.Popen([sys.executable, "-m", "flask", "worker"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
        for _ in range(count)
    ]


def process_with_workers(app, ids: list[int], workers: int, label: str) -> float:
    """Enqueue the interactions in arrival order, BATCH a job, and let `workers` processes take them;
    returns the wall time in seconds from the first job taken to the last interaction processed."""
    from crm import jobs
    from crm.extensions import db
    from crm.pipeline import process_interactions
    from crm.profiles.models import Interaction

    for start in range(0, len(ids), BATCH):
        jobs.enqueue(process_interactions, ids[start : start + BATCH])
    started = time.perf_counter()
    procs = _start(app, workers)
    done = 0
    try:
        with tqdm(total=len(ids), desc=f"{label}, {workers} workers", unit="interaction") as bar:
            while done < len(ids):
                time.sleep(0.5)
                now = db.session.scalar(select(func.count()).where(Interaction.processed_at.is_not(None))) or 0
                db.session.rollback()
                bar.update(now - done)
                done = now
                if all(p.poll() is not None for p in procs):
                    raise SystemExit("every worker stopped before the work was done")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        _clean_queue(app)
    return time.perf_counter() - started


def _clean_queue(app) -> None:
    from crm.jobs import redis_connection

    conn = redis_connection()
    for key in conn.scan_iter(f"*{app.config['RQ_QUEUE']}*"):
        conn.delete(key)
