"""The benchmark's own app: a dedicated PostgreSQL database and index prefix on the local services."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "crmbench"


def _services_env() -> None:
    env_file = ROOT / ".services" / "env"
    if env_file.exists():
        for line in env_file.read_text().splitlines():
            if line.startswith("export ") and "=" in line:
                key, _, value = line[len("export ") :].partition("=")
                os.environ.setdefault(key, value)


def server_url() -> str:
    """The PostgreSQL server of DATABASE_URL (or .services/env), as a URL to its default database."""
    _services_env()
    url = os.environ.get("DATABASE_URL")
    if not url or not url.startswith("postgresql"):
        raise SystemExit("the search benchmark needs PostgreSQL: run scripts/services.sh or set DATABASE_URL")
    return url.rsplit("/", 1)[0] + "/postgres"


def bench_app(dsn: str):
    """An app on the bench database and index prefix; jobs inline, the index refreshing on its own."""
    _services_env()
    if not os.environ.get("ELASTICSEARCH_URL"):
        raise SystemExit("the search benchmark needs Elasticsearch: run scripts/services.sh or set ELASTICSEARCH_URL")
    os.environ.setdefault("CRM_INSTANCE_PATH", str(ROOT / "instance" / "bench"))
    from crm import create_app, freeze_startup_objects

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": dsn,
            "ELASTICSEARCH_URL": os.environ["ELASTICSEARCH_URL"],
            "ELASTICSEARCH_TIMEOUT": 60,
            "REDIS_URL": None,
            "SEARCH_INDEX_PREFIX": PREFIX,
            "SEARCH_REFRESH": "false",
            "SECRET_KEY": "bench",
            "RATELIMIT_ENABLED": False,
        }
    )
    freeze_startup_objects()  # as wsgi.py and `flask worker` do: the figures are the production processes'
    return app
