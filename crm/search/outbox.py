"""The outbox: changes to index, written in the same transaction as the change itself.

`record_change` adds a row; `drain` claims a batch, reads the current documents from the database,
sends them in bulk and deletes the rows that made it. Rows that fail stay, with a growing delay (at
most 30 s), so the index catches up on its own once Elasticsearch is back: the worker's ticker drains
every 5 s, and a drain job with more waiting than its limit queues another (crm.search.drain). Without Elasticsearch no rows are written: the SQL backend reads the tables themselves.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, select, text, update

from crm.columns import utcnow
from crm.extensions import db
from crm.search.ids import id_in
from crm.search.models import OutboxEntry

log = logging.getLogger(__name__)

BACKOFF_S = [1, 2, 5, 10, 20, 30]
LEASE_S = 60  # how long a claimed row is left to the drain that took it
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


def due_beyond(count: int) -> bool:
    """Whether more than `count` rows are due now (reads at most count + 1 entries of the index)."""
    beyond = select(OutboxEntry.id).where(OutboxEntry.available_at <= utcnow()).offset(count).limit(1)
    return db.session.scalar(beyond) is not None


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


@dataclass(frozen=True)
class Claimed:
    """A claimed row as plain values: the session commits between claiming and settling it."""

    id: int
    entity: str
    entity_id: int
    attempts: int


def _no_commit_wait() -> None:
    """The drain's own bookkeeping (leases, deletions, backoffs) commits without waiting for the disk.

    Losing the last of it in a database crash only means rows indexed again or retried sooner, which
    indexing tolerates by design; the rows themselves are written by the callers, with full durability.
    """
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL synchronous_commit TO OFF"))


_CLAIM = text(
    """
    UPDATE outbox SET available_at = :available_at
    WHERE id = ANY(ARRAY(
        SELECT id FROM outbox WHERE id > :after AND available_at <= :now ORDER BY id LIMIT :limit
        FOR UPDATE SKIP LOCKED
    ))
    RETURNING id, entity, entity_id, attempts
    """
)


def _claim(limit: int, after: int = 0) -> list[Claimed]:
    """Take up to `limit` due rows under a lease: other drains skip them while this one indexes them, and
    if this process dies they come due again when the lease runs out. `after`: the last id this drain
    claimed, so each claim starts where the previous one ended instead of walking again over the rows
    just claimed and deleted (quadratic in a long backlog until the table is vacuumed)."""
    due = (
        select(OutboxEntry.id)
        .where(OutboxEntry.id > after, OutboxEntry.available_at <= utcnow())
        .order_by(OutboxEntry.id)
        .limit(limit)
    )
    _no_commit_wait()
    lease = {"available_at": utcnow() + timedelta(seconds=LEASE_S)}
    returning = (OutboxEntry.id, OutboxEntry.entity, OutboxEntry.entity_id, OutboxEntry.attempts)
    if db.engine.dialect.name == "postgresql":
        # One statement: two drains at once take different rows (skip locked), and the lease is set. The
        # ids go through ARRAY(...) so the update finds them by primary key: `id IN (subquery)` was planned
        # as a hash join over the whole table, once per claim (quadratic in a long backlog).
        rows = [
            Claimed(*r) for r in db.session.execute(_CLAIM, {"limit": limit, "after": after, "now": utcnow(), **lease})
        ]
    else:
        rows = [
            Claimed(*r) for r in db.session.execute(select(*returning).where(OutboxEntry.id.in_(due.scalar_subquery())))
        ]
        if rows:
            db.session.execute(update(OutboxEntry).where(id_in(OutboxEntry.id, [r.id for r in rows])).values(**lease))
    db.session.commit()
    return sorted(rows, key=lambda r: r.id)


def _settle(rows: list[Claimed], failures: dict) -> int:
    """Delete the rows that made it; push back the others with their error. Returns rows done."""
    _no_commit_wait()
    if None in failures:  # the whole batch failed
        failures = {(r.entity, r.entity_id): failures[None] for r in rows}
    failed = [r for r in rows if (r.entity, r.entity_id) in failures]
    done_ids = [r.id for r in rows if (r.entity, r.entity_id) not in failures]
    if done_ids:
        db.session.execute(
            delete(OutboxEntry).where(id_in(OutboxEntry.id, done_ids)), execution_options={"synchronize_session": False}
        )
    by_attempt: dict[tuple[int, str], list[int]] = {}
    for row in failed:
        by_attempt.setdefault((row.attempts + 1, failures[(row.entity, row.entity_id)]), []).append(row.id)
    for (attempts, error), ids in by_attempt.items():
        delay = BACKOFF_S[min(attempts, len(BACKOFF_S)) - 1]
        db.session.execute(
            update(OutboxEntry)
            .where(id_in(OutboxEntry.id, ids))
            .values(attempts=attempts, last_error=error[:2000], available_at=utcnow() + timedelta(seconds=delay)),
            execution_options={"synchronize_session": False},
        )
    db.session.commit()
    if failed:
        first = failures[(failed[0].entity, failed[0].entity_id)]
        log.warning("search: %d outbox rows failed to index and wait for a retry (%s)", len(failed), first[:300])
    return len(done_ids)


def _wanted(rows: list[Claimed]) -> dict[str, set[int]]:
    wanted: dict[str, set[int]] = {entity: set() for entity in ENTITIES}
    for row in rows:
        wanted[row.entity].add(row.entity_id)
    return wanted


def drain(limit: int = 5000, batch: int = 1000) -> int:
    """Index what waits, batch by batch, until `limit` rows or a failure; returns the rows indexed.

    Each batch is read from the database while the previous ones are being indexed (bulk.py).
    """
    from crm.search import elastic, indexer
    from crm.search.bulk import BulkPipeline

    es = elastic.client()
    done = claimed = after = 0
    failed = False
    with BulkPipeline(es) as bulk:
        while claimed < limit and not failed:
            # Onwards from the last row claimed: a row behind it (come due again, or committed late under
            # a lower id) is taken by the next drain, which starts from the beginning.
            rows = _claim(min(batch, limit - claimed), after)
            if not rows:
                break
            claimed, after = claimed + len(rows), rows[-1].id
            version = indexer.clock_us()  # after the claim: this batch reads everything committed before it
            try:
                actions = indexer.build_actions(es, _wanted(rows), version)
            except elastic.ES_ERRORS as exc:
                done += _settle(rows, {None: elastic.describe(exc)})
                break
            finally:
                db.session.rollback()  # end the read transaction before the next claim
            for sent, failures in bulk.submit(rows, actions):
                done += _settle(sent, failures)
                failed = failed or bool(failures)
        for sent, failures in bulk.finish():
            done += _settle(sent, failures)
    return done
