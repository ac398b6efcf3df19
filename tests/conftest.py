"""Fixtures: an app on the real services (or embedded), a clean database per test, clients, workers.

Full mode (the default when .services/env or DATABASE_URL/REDIS_URL/ELASTICSEARCH_URL are set): a
fresh PostgreSQL database per test run, migrated with Alembic; a queue name and an Elasticsearch index
prefix of its own per run and per test, so runs can share the servers. Embedded mode
(CRM_TEST_MODE=embedded): a SQLite file, inline jobs, SQL search.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
RUN_ID = uuid.uuid4().hex[:8]
MODE = os.environ.get("CRM_TEST_MODE", "full")


def _load_services_env() -> None:
    env_file = ROOT / ".services" / "env"
    if MODE != "full" or not env_file.exists():
        return
    for line in env_file.read_text().splitlines():
        if line.startswith("export ") and "=" in line:
            key, _, value = line[len("export ") :].partition("=")
            os.environ.setdefault(key, value)


_load_services_env()


def pytest_collection_modifyitems(config, items):
    if MODE == "full":
        missing = [k for k in ("DATABASE_URL", "REDIS_URL", "ELASTICSEARCH_URL") if not os.environ.get(k)]
        if missing:
            raise pytest.UsageError(
                f"full-mode tests need {', '.join(missing)}: run scripts/services.sh, or set CRM_TEST_MODE=embedded"
            )
    else:
        # Embedded: tests that need the real services are deselected (not skipped): they ran in full mode.
        kept = [i for i in items if i.get_closest_marker("services") is None]
        deselected = [i for i in items if i.get_closest_marker("services") is not None]
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = kept


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if MODE != "full":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'crm.db'}"
        return
    server = make_url(os.environ["DATABASE_URL"]).set(drivername="postgresql+psycopg")
    name = f"crm_test_{RUN_ID}"
    # pre_ping: the fault tests restart PostgreSQL, and the drop at the end must not use a dead connection.
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield server.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def base_config(database_url: str) -> dict:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "SWEEP_AFTER_S": 0,
        "OUTBOUND_ALLOW_PRIVATE": True,  # the tests' webhook receivers listen on loopback
    }
    if MODE == "full":
        config.update(
            REDIS_URL=os.environ["REDIS_URL"],
            ELASTICSEARCH_URL=os.environ["ELASTICSEARCH_URL"],
            RQ_QUEUE=f"crm-test-{RUN_ID}",
            SEARCH_INDEX_PREFIX=f"crmt-{RUN_ID}",
            SEARCH_REFRESH="wait_for",
        )
    else:
        config.update(REDIS_URL=None, ELASTICSEARCH_URL=None, RATELIMIT_STORAGE_URI="memory://")
    return config


@pytest.fixture(scope="session")
def _app(database_url, tmp_path_factory):
    os.environ["CRM_INSTANCE_PATH"] = str(tmp_path_factory.mktemp("instance"))
    from flask_migrate import upgrade

    from crm import create_app

    app = create_app(base_config(database_url))
    with app.app_context():
        upgrade()
    yield app
    if MODE == "full":
        _cleanup_redis(app)
        _delete_indices(app, f"crmt-{RUN_ID}*")


def _cleanup_redis(app) -> None:
    from redis import Redis

    conn = Redis.from_url(app.config["REDIS_URL"])
    for key in conn.scan_iter(f"*crm-test-{RUN_ID}*"):
        conn.delete(key)


def _delete_indices(app, pattern: str) -> None:
    from crm.search.elastic import client

    with app.app_context():
        try:
            client().indices.delete(index=pattern, ignore_unavailable=True, allow_no_indices=True)
        except Exception:  # cleanup must not hide the test's own result
            pass


@pytest.fixture
def app(_app):
    """The app, in an app context, with empty tables and (full mode) a fresh index prefix after each test."""
    from crm.extensions import db

    prefix = f"crmt-{RUN_ID}-{uuid.uuid4().hex[:6]}"
    if MODE == "full":
        _app.config["SEARCH_INDEX_PREFIX"] = prefix
    with _app.app_context():
        yield _app
        db.session.rollback()
        _truncate(db)
    if MODE == "full":
        _delete_indices(_app, f"{prefix}-*")
        # Jobs a test queued and never ran, and its once-keys and daily claims, must not reach the next test.
        _cleanup_redis(_app)


def _truncate(db) -> None:
    tables = [t.name for t in db.metadata.sorted_tables]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(tables):
                conn.execute(text(f'DELETE FROM "{table}"'))
    db.session.remove()


class IsolatedClient(FlaskClient):
    """Each request in an app context of its own, as in production: its own `g` (the logged-in user)
    and its own database session, even though the test itself holds an app context open."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    app.test_client_class = IsolatedClient
    return app.test_client()


@pytest.fixture
def run_jobs(app):
    """Run what is queued (full mode: a real rq burst worker on Redis, in this process); returns a callable."""

    def _run(max_rounds: int = 20) -> None:
        if not app.config.get("REDIS_URL"):
            return
        from crm.jobs import redis_connection
        from crm.worker import AppWorker

        for _ in range(max_rounds):
            worker = AppWorker([app.config["RQ_QUEUE"]], connection=redis_connection())
            worker.flask_app = app
            worker.work(burst=True, logging_level="WARNING")
            from crm.jobs import queue

            if queue().count == 0:
                return

    return _run


class WorkerProcess:
    """A real `flask worker` process on the test database, queue and index prefix."""

    def __init__(self, app, log_path: Path):
        env = dict(os.environ)
        env.update(
            DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
            REDIS_URL=app.config["REDIS_URL"] or "",
            ELASTICSEARCH_URL=app.config["ELASTICSEARCH_URL"] or "",
            RQ_QUEUE=app.config["RQ_QUEUE"],
            SEARCH_INDEX_PREFIX=app.config["SEARCH_INDEX_PREFIX"],
            SECRET_KEY="test-secret",
            SWEEP_AFTER_S="2",
            FLASK_APP="wsgi:app",
            SEARCH_REFRESH="wait_for",
            OUTBOUND_ALLOW_PRIVATE="1",
        )
        self.log_path = log_path
        self.env = env
        self.proc: subprocess.Popen | None = None

    def start(self) -> WorkerProcess:
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "flask", "worker"], cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT
        )
        return self

    def kill(self, sig: int = 9) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def worker_process(app, tmp_path):
    """Start real worker processes: `w = worker_process()`; stopped at the end of the test."""
    started: list[WorkerProcess] = []

    def _start() -> WorkerProcess:
        w = WorkerProcess(app, tmp_path / f"worker-{len(started)}.log").start()
        started.append(w)
        return w

    yield _start
    for w in started:
        w.stop()


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.2, message: str = "condition"):
    """Poll until predicate() is truthy; returns its value or fails naming what was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {message}")
        time.sleep(interval)
