"""The system under load: a database and queue of the benchmark's own, the app under gunicorn, a worker.

Everything runs on the services of .services/env (PostgreSQL, Redis, Elasticsearch): a fresh database
`crm_bench_ingest_<id>` migrated with Alembic, the rq queue and index prefix `crm-bench-ingest-<id>`,
all removed at the end. gunicorn and `flask worker` are real subprocesses with that environment.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
SECRET = "bench-ingest-secret-0123456789"


def services_env() -> dict[str, str]:
    env = {}
    path = ROOT / ".services" / "env"
    if path.exists():
        for line in path.read_text().splitlines():
            if line.startswith("export ") and "=" in line:
                key, _, value = line[len("export ") :].partition("=")
                env[key] = value
    env.update({k: os.environ[k] for k in ("DATABASE_URL", "REDIS_URL", "ELASTICSEARCH_URL") if os.environ.get(k)})
    missing = [k for k in ("DATABASE_URL", "REDIS_URL") if not env.get(k)]
    if missing:
        raise SystemExit(f"bench/ingest needs {', '.join(missing)}: run `bash scripts/services.sh` first")
    return env


@dataclass
class Stack:
    database_url: str  # postgresql+psycopg://... of the bench database
    env: dict[str, str]  # the environment of gunicorn and the worker
    sources: dict[str, int] = field(default_factory=dict)  # channel -> source id
    slugs: dict[str, str] = field(default_factory=dict)  # channel -> slug
    base_url: str = ""
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def libpq_url(self) -> str:
        return self.database_url.replace("postgresql+psycopg://", "postgresql://")


@contextmanager
def bench_stack():
    """Yields a Stack with its database migrated and one generic source per channel; removes it all after."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    services = services_env()
    run_id = uuid.uuid4().hex[:8]
    server = make_url(services["DATABASE_URL"]).set(drivername="postgresql+psycopg")
    name = f"crm_bench_ingest_{run_id}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": services["REDIS_URL"],
        "ELASTICSEARCH_URL": services.get("ELASTICSEARCH_URL", ""),
        "RQ_QUEUE": f"crm-bench-ingest-{run_id}",
        "SEARCH_INDEX_PREFIX": f"crm-bench-ingest-{run_id}",
        "SECRET_KEY": "bench",
        "FLASK_APP": "wsgi:app",
        "LOG_LEVEL": "WARNING",
        "CRM_INSTANCE_PATH": tempfile.mkdtemp(prefix="crm-bench-ingest-"),
    }
    stack = Stack(database_url=url, env=env)
    try:
        _migrate_and_add_sources(stack)
        yield stack
    finally:
        for proc in stack.processes:
            stop(proc)
        _clean_queue_and_indices(stack)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _flask(stack: Stack, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "flask", *args], cwd=ROOT, env=stack.env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def _migrate_and_add_sources(stack: Stack) -> None:
    import psycopg

    _flask(stack, "db", "upgrade")
    for channel in ("email", "chat", "phone", "store"):
        slug = f"bench-{channel}"
        _flask(stack, "sources", "add", slug, "--channel", channel, "--provider", "generic", "--secret", SECRET)
        stack.slugs[channel] = slug
    with psycopg.connect(stack.libpq_url) as conn:
        stack.sources = dict((c, i) for i, c in conn.execute("SELECT id, channel FROM sources").fetchall())


def _clean_queue_and_indices(stack: Stack) -> None:
    from redis import Redis

    try:
        conn = Redis.from_url(stack.env["REDIS_URL"])
        for key in conn.scan_iter(f"*{stack.env['RQ_QUEUE']}*"):
            conn.delete(key)
    except Exception as exc:  # cleanup must not hide the figures
        print(f"(could not clean the bench queue: {exc})")
    if stack.env.get("ELASTICSEARCH_URL"):
        try:
            prefix = stack.env["SEARCH_INDEX_PREFIX"]
            requests.delete(f"{stack.env['ELASTICSEARCH_URL']}/{prefix}*", timeout=30)
        except requests.RequestException as exc:
            print(f"(could not delete the bench indices: {exc})")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(stack: Stack, workers: int) -> subprocess.Popen:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}", "--log-level", "warning",
         "--backlog", "2048", "wsgi:app"],
        cwd=ROOT, env=stack.env,
    )  # fmt: skip
    stack.processes.append(proc)
    stack.base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(stack.base_url + "/healthz", timeout=5)
            return proc
        except requests.RequestException:
            time.sleep(0.3)
    raise SystemExit("gunicorn did not answer /healthz within 60 s")


def start_worker(stack: Stack) -> subprocess.Popen:
    log = open(Path(stack.env["CRM_INSTANCE_PATH"]) / "worker.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "flask", "worker"], cwd=ROOT, env=stack.env, stdout=log, stderr=log)
    stack.processes.append(proc)
    return proc


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def reset_backlog(stack: Stack) -> None:
    """Empty the queue and mark earlier phases processed, so a worker phase processes its own rows only."""
    import psycopg
    from redis import Redis

    conn = Redis.from_url(stack.env["REDIS_URL"])
    for key in conn.scan_iter(f"*{stack.env['RQ_QUEUE']}*"):
        conn.delete(key)
    with psycopg.connect(stack.libpq_url) as db:
        db.execute("UPDATE interactions SET processed_at = now() WHERE processed_at IS NULL")
        db.execute("DELETE FROM outbox")
