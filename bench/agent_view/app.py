"""The app the agent view bench runs: the project's own create_app on the bench database and services."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parents[2]
BENCH_PREFIX = "p7bench-agentview"  # not crm*: other runs clean up crm* indices
BENCH_QUEUE = "crm-bench-agentview"


def services_env() -> None:
    """DATABASE_URL, REDIS_URL, ELASTICSEARCH_URL from .services/env (scripts/services.sh) unless set."""
    env_file = ROOT / ".services" / "env"
    if not env_file.exists():
        return
    for line in env_file.read_text().splitlines():
        if line.startswith("export ") and "=" in line:
            key, _, value = line[len("export ") :].partition("=")
            os.environ.setdefault(key, value)


def bench_app(database_url: str, *, migrate: bool = False, redis: bool = True, search: bool = True) -> Flask:
    """The app on the bench database; Redis and Elasticsearch under bench-only names when asked for."""
    os.environ.setdefault("CRM_INSTANCE_PATH", tempfile.mkdtemp(prefix="crm-bench-"))
    from crm import create_app

    config = {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "bench",
        "TESTING": True,
        "RATELIMIT_ENABLED": False,
        "REDIS_URL": os.environ.get("REDIS_URL") if redis else None,
        "RQ_QUEUE": BENCH_QUEUE,
        "ELASTICSEARCH_URL": os.environ.get("ELASTICSEARCH_URL") if search else None,
        "SEARCH_INDEX_PREFIX": BENCH_PREFIX,
    }
    app = create_app(config)
    if migrate:
        from flask_migrate import upgrade

        with app.app_context():
            upgrade()
    from crm import freeze_startup_objects

    freeze_startup_objects()  # as wsgi.py does: the figures are the web process's
    return app


def ensure_sources() -> None:
    """The four sources, created in the order whose ids the loader uses (email 1, chat 2, phone 3, store 4)."""
    from sqlalchemy import select

    from crm.channels.cli import create_source
    from crm.channels.models import Source
    from crm.extensions import db

    for slug, channel in (("bench-email", "email"), ("bench-chat", "chat"), ("bench-phone", "phone")):
        if db.session.scalar(select(Source).where(Source.slug == slug)) is None:
            create_source(slug, channel, "generic", f"{slug}-secret-0123456789")
    if db.session.scalar(select(Source).where(Source.slug == "bench-store")) is None:
        create_source("bench-store", "store", "generic", "bench-store-secret-0123456789")
