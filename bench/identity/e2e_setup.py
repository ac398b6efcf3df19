"""Setting up the end-to-end identity benchmark: a database of its own, the app on it, the six sources
of the generator, and the generated data stored as canonical interactions through the intake.

The database is a fresh one on the PostgreSQL server of DATABASE_URL (or .services/env), dropped at
the end; without one, a temporary SQLite file. Redis and Elasticsearch are left out on purpose: jobs
run in this process, and indexing is not what is measured.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.identity import vocab
from bench.identity.generate import Interaction, Profile

ROOT = Path(__file__).resolve().parents[2]
CHANNELS = {"mail": "email", "web": "email", "intercom": "chat", "twilio": "phone", "shopify": "store", "pos": "store"}
KIND = {"email": ("message", {}), "chat": ("message", {}), "phone": ("call", {"duration_s": 60})}
BASE_TIME = datetime(2026, 6, 1, tzinfo=UTC)


def _services_url() -> str | None:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    env = ROOT / ".services" / "env"
    if env.exists():
        for line in env.read_text().splitlines():
            if line.startswith("export DATABASE_URL="):
                return line.split("=", 1)[1]
    return None


@contextmanager
def bench_database(sqlite: bool = False):
    """Yields a database URL for one run; a PostgreSQL database is created and dropped around it."""
    server = None if sqlite else _services_url()
    if server is None:
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(server).set(drivername="postgresql+psycopg")
    name = f"crm_bench_identity_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        _drop(admin, name)


def _drop(admin, name: str) -> None:
    """Drop the run's database, waiting out a server restart (others' fault tests share the server)."""
    import time

    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    for _ in range(30):
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            break
        except OperationalError:
            time.sleep(2)
    admin.dispose()


def make_app(database_url: str, **config):
    """The real app on the bench database, migrated, with the generator's shared identifiers blocked
    (and `config` over the bench's settings)."""
    os.environ.setdefault("CRM_INSTANCE_PATH", tempfile.mkdtemp(prefix="crm-bench-"))
    for name in ("REDIS_URL", "ELASTICSEARCH_URL"):
        os.environ.pop(name, None)
    from flask_migrate import upgrade

    from crm import create_app

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": None,
            "ELASTICSEARCH_URL": None,
            "SECRET_KEY": "bench",
            "IDENTITY_BLOCKLIST": list(vocab.BLOCKLIST),
            "RATELIMIT_STORAGE_URI": "memory://",
            **config,
        }
    )
    with app.app_context():
        upgrade()
    return app


def make_sources() -> dict:
    from crm.channels.cli import create_source
    from crm.extensions import db

    sources = {
        slug: create_source(slug, channel, "generic", f"{slug}-bench-secret-0123") for slug, channel in CHANNELS.items()
    }
    db.session.commit()
    return sources


def interaction_item(n: int, block: Interaction) -> dict:
    """A generated customer block as the canonical interaction its source would send; n orders arrival."""
    channel = CHANNELS[block.source_slug]
    kind, data = KIND.get(channel, ("purchase", {"total": "12.50", "currency": "USD"}))
    return {
        "external_id": f"i{n}",
        "occurred_at": (BASE_TIME + timedelta(seconds=n)).isoformat(),
        "type": kind,
        "direction": "inbound",
        "customer": _compact(block.customer),
        "data": data,
    }


def profile_item(n: int, profile: Profile) -> dict:
    """A generated profile as one interaction: its names, address, birth date and identifiers."""
    r = profile.record
    customer = {
        "name": r.name,
        "email": r.emails[0] if r.emails else None,
        "phone": (r.phones or r.invalid_phones or (None,))[0],
        "attributes": {
            "first_name": r.first_name,
            "last_name": r.last_name,
            "birth_date": r.birth_date.isoformat() if r.birth_date else None,
            "address": _compact({"line1": r.line1, "city": r.city, "postcode": r.postcode, "country": r.country}),
        },
    }
    if not customer["email"] and not r.phones:
        customer["loyalty_id"] = f"P{r.customer_id}"  # a card of its own: something to be found by, shared with nobody
    return {
        "external_id": f"p{n}",
        "occurred_at": (BASE_TIME + timedelta(seconds=n)).isoformat(),
        "type": "message",
        "direction": "inbound",
        "customer": _compact(customer),
    }


def _compact(value):
    if isinstance(value, dict):
        out = {k: _compact(v) for k, v in value.items() if v not in (None, "", {})}
        return {k: v for k, v in out.items() if v not in (None, "", {})}
    return value


def store(sources: dict, items: list[tuple[str, dict]], progress=None) -> list[int]:
    """Store (slug, item) pairs through the intake, 500 a transaction per source; returns the interaction
    ids in the order of `items` (the order they are then processed in: their arrival)."""
    from crm.channels.intake import Received, store_canonical

    by_source: dict[str, list[int]] = {}
    for index, (slug, _) in enumerate(items):
        by_source.setdefault(slug, []).append(index)
    ids = [0] * len(items)
    received = Received(body=b"", headers={}, url="bench", content_type="application/json")
    for slug, indices in by_source.items():
        for start in range(0, len(indices), 500):
            chunk = indices[start : start + 500]
            accepted = store_canonical(sources[slug], [items[i][1] for i in chunk], received).accepted
            for index, iid in zip(chunk, accepted, strict=True):
                ids[index] = iid
            if progress is not None:
                progress.update(len(chunk))
    return ids
