"""The bench's view of the local services (.services/env from scripts/services.sh): database URLs on the
same PostgreSQL server, databases made and dropped, and the app bound to a bench database."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]


def services_env() -> dict[str, str]:
    """DATABASE_URL, REDIS_URL, ELASTICSEARCH_URL from .services/env unless already set; returns them."""
    env_file = ROOT / ".services" / "env"
    if env_file.exists():
        for line in env_file.read_text().splitlines():
            if line.startswith("export ") and "=" in line:
                key, _, value = line[len("export ") :].partition("=")
                os.environ.setdefault(key, value)
    wanted = ("DATABASE_URL", "REDIS_URL", "ELASTICSEARCH_URL")
    missing = [k for k in wanted if not os.environ.get(k)]
    if missing or not os.environ["DATABASE_URL"].startswith("postgresql"):
        raise SystemExit(f"the benchmarks need {', '.join(missing) or 'PostgreSQL'}: run `bash scripts/services.sh`")
    return {k: os.environ[k] for k in wanted}


def database_url(name: str) -> str:
    """The SQLAlchemy URL of database `name` on the DATABASE_URL server."""
    url = make_url(os.environ["DATABASE_URL"]).set(drivername="postgresql+psycopg", database=name)
    return url.render_as_string(hide_password=False)


def libpq(url: str) -> str:
    """A SQLAlchemy URL as psycopg takes it."""
    return url.replace("postgresql+psycopg://", "postgresql://")


def database_exists(name: str) -> bool:
    with psycopg.connect(libpq(database_url("postgres")), autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def recreate_database(name: str) -> str:
    """Drop database `name` if it exists, make it again, empty; returns its URL."""
    with psycopg.connect(libpq(database_url("postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return database_url(name)


def drop_database(name: str) -> None:
    with psycopg.connect(libpq(database_url("postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bench_config(name: str, prefix: str, *, redis: bool = False, queue: str = "crm-bench") -> dict:
    """create_app settings for a bench database and index prefix (Redis only when asked: jobs inline)."""
    return {
        "SQLALCHEMY_DATABASE_URI": database_url(name),
        "ELASTICSEARCH_URL": os.environ["ELASTICSEARCH_URL"],
        "ELASTICSEARCH_TIMEOUT": 60,
        "SEARCH_INDEX_PREFIX": prefix,
        "SEARCH_REFRESH": "false",
        "REDIS_URL": os.environ["REDIS_URL"] if redis else None,
        "RQ_QUEUE": queue,
        "RATELIMIT_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "SECRET_KEY": "bench",
    }


def bench_app(name: str, prefix: str, **options):
    """The project's own app on a bench database and index prefix."""
    os.environ.setdefault("CRM_INSTANCE_PATH", tempfile.mkdtemp(prefix="crm-bench-"))
    from crm import create_app, freeze_startup_objects

    app = create_app(bench_config(name, prefix, **options))
    freeze_startup_objects()  # as wsgi.py and `flask worker` do: the figures are the production processes'
    return app


def flask_env(name: str, prefix: str, *, queue: str = "crm-bench") -> dict[str, str]:
    """The environment for `flask ...`, gunicorn and `flask worker` subprocesses on a bench database."""
    return {
        **os.environ,
        "DATABASE_URL": database_url(name),
        "SEARCH_INDEX_PREFIX": prefix,
        "RQ_QUEUE": queue,
        "SECRET_KEY": "bench",
        "FLASK_APP": "wsgi:app",
        "LOG_LEVEL": "WARNING",
        "CRM_INSTANCE_PATH": os.environ.get("CRM_INSTANCE_PATH") or tempfile.mkdtemp(prefix="crm-bench-"),
    }
