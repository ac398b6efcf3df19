"""The outbox: changes to index, written in the same transaction as the change itself.

`record_change` adds a row; `drain` reads a batch, builds the current documents from the database,
sends them in bulk and deletes the rows that made it. Rows that fail stay, with a backoff, so the
index catches up on its own once Elasticsearch is back. Without Elasticsearch the rows are not kept:
the SQL backend reads the tables themselves.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, select, update

from crm.columns import utcnow
from crm.extensions import db
from crm.search.models import OutboxEntry

log = logging.getLogger(__name__)

BACKOFF_S = [1, 2, 5, 10, 30, 60, 120, 300]


def record_change(entity: str, entity_id: int) -> None:
    """Note that a customer or interaction changed; committed with the caller's transaction."""
    if not current_app.config.get("ELASTICSEARCH_URL"):
        return
    db.session.add(OutboxEntry(entity=entity, entity_id=entity_id))


def index_lag_seconds() -> float | None:
    """Age of the oldest row not yet indexed (None when nothing waits)."""
    if not current_app.config.get("ELASTICSEARCH_URL"):
        return None
    oldest = db.session.scalar(select(func.min(OutboxEntry.created_at)))
    if oldest is None:
        return 0.0
    return round((utcnow() - oldest).total_seconds(), 3)


def pending_count() -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxEntry)) or 0


def _claim(limit: int) -> list[OutboxEntry]:
    stmt = select(OutboxEntry).where(OutboxEntry.available_at <= utcnow()).order_by(OutboxEntry.id).limit(limit)
    if db.engine.dialect.name == "postgresql":
        # Two workers draining at once take different rows instead of waiting on each other.
        stmt = stmt.with_for_update(skip_locked=True)
    return list(db.session.scalars(stmt))


def drain(limit: int = 5000, batch: int = 1000) -> int:
    """Index what waits, batch by batch; returns how many rows were indexed."""
    from crm.search import elastic

    done = 0
    while done < limit:
        rows = _claim(min(batch, limit - done))
        if not rows:
            db.session.commit()
            break
        ok_ids, failed = elastic.apply_changes(rows)
        if ok_ids:
            db.session.execute(delete(OutboxEntry).where(OutboxEntry.id.in_(ok_ids)))
        for row, error in failed.items():
            attempts = row.attempts + 1
            delay = BACKOFF_S[min(attempts, len(BACKOFF_S)) - 1]
            db.session.execute(
                update(OutboxEntry)
                .where(OutboxEntry.id == row.id)
                .values(attempts=attempts, last_error=error[:2000], available_at=utcnow() + timedelta(seconds=delay))
            )
        db.session.commit()
        done += len(ok_ids)
        if failed:
            log.warning(
                "indexing: %d rows failed and wait for a retry (first: %s)",
                len(failed),
                next(iter(failed.values()))[:200],
            )
            break
    return done
