"""Every setting, read from the environment, with the embedded defaults.

Absent settings give the embedded mode: a SQLite file, jobs run inline, search served by SQL.
`DATABASE_URL`, `REDIS_URL` and `ELASTICSEARCH_URL` switch each piece to its full-mode service.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_int(name: str, default: int) -> int:
    value = _env(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise RuntimeError(f"setting {name} must be a whole number, got {value!r}") from exc


def _env_fraction(name: str) -> float | None:
    value = _env(name)
    if value is None:
        return None
    try:
        number = float(value)
        if 0.0 <= number <= 1.0:  # NaN is neither
            return number
    except ValueError:
        pass
    raise RuntimeError(f"setting {name} must be a number from 0 to 1, got {value!r}")


def _env_bool(name: str, default: bool) -> bool:
    value = _env(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in (_env(name, default) or "").split(",") if item.strip()]


def load_config(instance_path: str) -> dict:
    """The configuration mapping for create_app, from the environment."""
    sqlite_path = Path(instance_path) / "crm.db"
    database_url = _env("DATABASE_URL", f"sqlite:///{sqlite_path}")
    # Heroku-style URLs name the driver "postgres"; SQLAlchemy wants postgresql+psycopg.
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgres://") :]
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]
    return {
        "SECRET_KEY": _env("SECRET_KEY") or _dev_secret(instance_path),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(database_url),
        "REDIS_URL": _env("REDIS_URL"),
        "RQ_QUEUE": _env("RQ_QUEUE", "crm"),
        "ELASTICSEARCH_URL": _env("ELASTICSEARCH_URL"),
        "ELASTICSEARCH_API_KEY": _env("ELASTICSEARCH_API_KEY"),
        "ELASTICSEARCH_CA_CERTS": _env("ELASTICSEARCH_CA_CERTS"),
        "ELASTICSEARCH_TIMEOUT": _env_int("ELASTICSEARCH_TIMEOUT", 10),
        "SEARCH_INDEX_PREFIX": _env("SEARCH_INDEX_PREFIX", "crm"),
        "SEARCH_REFRESH": _env("SEARCH_REFRESH", "false"),
        # Webhooks
        "WEBHOOK_MAX_BYTES": _env_int("WEBHOOK_MAX_BYTES", 5 * 1024 * 1024),
        "WEBHOOK_MAX_BATCH": _env_int("WEBHOOK_MAX_BATCH", 1000),
        "SIGNATURE_TOLERANCE_S": _env_int("SIGNATURE_TOLERANCE_S", 300),
        "SECRET_ROTATION_GRACE_S": _env_int("SECRET_ROTATION_GRACE_S", 24 * 3600),
        # Twilio signs the URL it called; behind a proxy that is the public one, not the one Flask sees.
        "PUBLIC_BASE_URL": _env("PUBLIC_BASE_URL"),
        # Identity
        "DEFAULT_PHONE_REGION": _env("DEFAULT_PHONE_REGION", "US"),
        "EMAIL_STRIP_PLUS_TAGS": _env_bool("EMAIL_STRIP_PLUS_TAGS", False),
        "IDENTITY_MAX_PER_KIND": _env_int("IDENTITY_MAX_PER_KIND", 5),
        "IDENTITY_BLOCKLIST": _env_list("IDENTITY_BLOCKLIST"),
        # The score from which two customers are suggested as duplicates (None: the scorer's THRESHOLD).
        "DUPLICATE_THRESHOLD": _env_fraction("DUPLICATE_THRESHOLD"),
        # Jobs
        "SWEEP_AFTER_S": _env_int("SWEEP_AFTER_S", 30),
        "JOB_RETRIES": _env_int("JOB_RETRIES", 5),
        # Cases and personalization
        "CASE_SLA_HOURS": _env_int("CASE_SLA_HOURS", 24),
        "BASE_CURRENCY": _env("BASE_CURRENCY", "USD"),
        # The agent view is cached per customer version for this long (0: never cached).
        "AGENT_VIEW_CACHE_S": _env_int("AGENT_VIEW_CACHE_S", 300),
        # Segments: how often dynamic segments are worked out again in full; CSV streamed up to this many members
        "SEGMENT_REFRESH_MINUTES": _env_int("SEGMENT_REFRESH_MINUTES", 15),
        "SEGMENT_EXPORT_STREAM_MAX": _env_int("SEGMENT_EXPORT_STREAM_MAX", 10_000),
        # Outbound webhooks to loopback, private or link-local addresses are refused unless this is set
        # (a subscriber URL must not reach the services next to the CRM: Redis, Elasticsearch, metadata).
        "OUTBOUND_ALLOW_PRIVATE": _env_bool("OUTBOUND_ALLOW_PRIVATE", False),
        # Web
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _env_bool("SESSION_COOKIE_SECURE", False),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": _env_bool("SESSION_COOKIE_SECURE", False),
        "WTF_CSRF_TIME_LIMIT": None,
        "RATELIMIT_STORAGE_URI": _env("RATELIMIT_STORAGE_URI") or _env("REDIS_URL") or "memory://",
        "RATELIMIT_LOGIN": _env("RATELIMIT_LOGIN", "10 per minute"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "JSON_SORT_KEYS": False,
    }


def _engine_options(database_url: str) -> dict:
    from crm.columns import json_loads

    jit = "on" if (_env("DATABASE_JIT", "off") or "").lower() == "on" else "off"

    if database_url.startswith("sqlite"):
        # One writer at a time; wait for the lock rather than failing at once.
        return {"connect_args": {"timeout": 30}, "json_deserializer": json_loads}
    return {
        "json_deserializer": json_loads,
        "pool_pre_ping": True,
        "pool_size": _env_int("DATABASE_POOL_SIZE", 5),
        "max_overflow": _env_int("DATABASE_MAX_OVERFLOW", 10),
        # Sessions in UTC whatever the server's default: times come back in the UTC the app works in
        # (converting every one of them cost a tenth of building the search documents), and date
        # arithmetic in SQL means the same on every server. No JIT compilation: the app's statements
        # are short, and PostgreSQL compiled any whose estimate passed jit_above_cost (a batch of a
        # thousand ids does) for longer than it ran them: the drain's activity read of 1,000 customers
        # took 74 ms with it, 45 ms without (13 ms of it compiling). DATABASE_JIT=on gives it back.
        "connect_args": {
            "connect_timeout": _env_int("DATABASE_CONNECT_TIMEOUT", 5),
            "options": f"-c timezone=UTC -c jit={jit}",
        },
    }


def _dev_secret(instance_path: str) -> str:
    """A per-install secret kept in the instance folder, so embedded mode needs no setting.

    Production sets SECRET_KEY: the same on every web process, or sessions break across them.
    """
    path = Path(instance_path) / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        value = secrets.token_hex(32)
        path.write_text(value)
        return value


def mode(config: dict) -> str:
    """'full' when every service is configured, 'embedded' when none is, 'mixed' otherwise."""
    full = [
        not config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"),
        bool(config.get("REDIS_URL")),
        bool(config.get("ELASTICSEARCH_URL")),
    ]
    if all(full):
        return "full"
    if not any(full):
        return "embedded"
    return "mixed"
