"""The outbox: changes to index, written in the same transaction as the change itself.

`record_change` adds a row; `drain` claims a batch, reads the current documents from the database,
sends them in bulk and deletes the rows that made it. Rows that fail stay, with a growing delay (at
most 30 s), so the index catches up on its own once Elasticsearch is back: the worker's ticker drains
every 5 s. Without Elasticsearch no rows are written: the SQL backend reads the tables themselves.
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

BACKOFF_S = [1, 2, 5, 10, 20, 30]
ENTITIES = ("customer", "interaction")


def record_change(entity: str, entity_id: int) -> None:
    """Note that a customer or interaction changed; committed with the caller's transaction."""
    if entity not in ENTITIES:
        raise ValueError(f"entity must be one of {', '.join(ENTITIES)}, not {entity!r}")
    if not current_app.config.get("ELASTICSEARCH_URL"):
        return
    db.session.add(OutboxEntry(entity=entity, entity_id=entity_id))


def index_lag_seconds() -> float | None:
    """Age of the oldest row not yet indexed (0 when nothing waits; None without Elasticsearch)."""
    if not current_app.config.get("ELASTICSEARCH_URL"):
        return None
    # The oldest id is (near enough) the oldest row, and the primary key finds it without a scan.
    oldest = db.session.scalar(select(OutboxEntry.created_at).order_by(OutboxEntry.id).limit(1))
    if oldest is None:
        return 0.0
    return round(max((utcnow() - oldest).total_seconds(), 0.0), 3)


def pending_count() -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxEntry)) or 0


def failing_summary() -> dict:
    """Rows that failed at least once: how many, the most attempts, and the latest error."""
    count, most = db.session.execute(
        select(func.count(), func.max(OutboxEntry.attempts)).where(OutboxEntry.attempts > 0)
    ).one()
    latest = db.session.scalar(
        select(OutboxEntry.last_error).where(OutboxEntry.attempts > 0).order_by(OutboxEntry.id.desc()).limit(1)
    )
    return {"rows": count or 0, "max_attempts": most or 0, "last_error": latest}


def _claim(limit: int) -> list[OutboxEntry]:
    stmt = select(OutboxEntry).where(OutboxEntry.available_at <= utcnow()).order_by(OutboxEntry.id).limit(limit)
    if db.engine.dialect.name == "postgresql":
        # Two workers draining at once take different rows instead of waiting on each other.
        stmt = stmt.with_for_update(skip_locked=True)
    return list(db.session.scalars(stmt))


def _settle(rows: list[OutboxEntry], failures: dict[tuple[str, int], str]) -> int:
    """Delete the rows that made it; push back the others with their error. Returns rows done."""
    failed = [r for r in rows if (r.entity, r.entity_id) in failures]
    done_ids = [r.id for r in rows if (r.entity, r.entity_id) not in failures]
    if done_ids:
        db.session.execute(
            delete(OutboxEntry).where(OutboxEntry.id.in_(done_ids)), execution_options={"synchronize_session": False}
        )
    by_attempt: dict[tuple[int, str], list[int]] = {}
    for row in failed:
        by_attempt.setdefault((row.attempts + 1, failures[(row.entity, row.entity_id)]), []).append(row.id)
    for (attempts, error), ids in by_attempt.items():
        delay = BACKOFF_S[min(attempts, len(BACKOFF_S)) - 1]
        db.session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.id.in_(ids))
            .values(attempts=attempts, last_error=error[:2000], available_at=utcnow() + timedelta(seconds=delay)),
            execution_options={"synchronize_session": False},
        )
    db.session.commit()
    if failed:
        first = failures[(failed[0].entity, failed[0].entity_id)]
        log.warning("search: %d outbox rows failed to index and wait for a retry (%s)", len(failed), first[:300])
    return len(done_ids)


def drain(limit: int = 5000, batch: int = 1000) -> int:
    """Index what waits, batch by batch, until `limit` rows or a failure; returns the rows indexed."""
    from crm.search import elastic, indexer

    done = 0
    while done < limit:
        rows = _claim(min(batch, limit - done))
        if not rows:
            db.session.commit()
            break
        version = indexer.clock_us()  # after the claim: this batch reads everything committed before it
        wanted: dict[str, set[int]] = {entity: set() for entity in ENTITIES}
        for row in rows:
            wanted[row.entity].add(row.entity_id)
        try:
            failures = indexer.index_entities(elastic.client(), wanted, version)
        except elastic.ES_ERRORS as exc:
            failures = {(r.entity, r.entity_id): elastic.describe(exc) for r in rows}
        settled = _settle(rows, failures)
        done += settled
        if settled < len(rows):
            break
    return done
