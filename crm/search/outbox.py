"""The outbox: changes to index, written in the same transaction as the change itself.

`record_change` adds a row; `drain` claims a batch, reads the current documents from the database,
sends them in bulk, and lets go of the rows that made it. Rows that fail stay, with a growing delay (at
most 30 s), so the index catches up on its own once Elasticsearch is back: the worker's ticker drains
every 5 s, and a drain job with more waiting than its limit queues another (crm.search.drain).
Without Elasticsearch no rows are written: the SQL backend reads the tables themselves.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Connection, delete, func, select, text, update

from crm.columns import utcnow
from crm.extensions import db
from crm.search.ids import id_in
from crm.search.models import OutboxEntry

log = logging.getLogger(__name__)

BACKOFF_S = [1, 2, 5, 10, 20, 30]
LEASE_S = 60  # without PostgreSQL's row locks: how long a claimed row is left to the drain that took it
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
    created_at: datetime | None = None  # PostgreSQL: kept to put a failed row back as it was


@dataclass(eq=False)
class Batch:
    """Rows taken by one drain. On PostgreSQL `conn` is the transaction that has deleted them, open (the
    rows locked) until they are settled; elsewhere (None) they are held by a lease on `available_at`."""

    rows: list[Claimed]
    conn: Connection | None = None

    def release(self) -> None:
        """Give the rows back untouched (due again at once), if still held."""
        self._end(commit=False)

    def commit(self) -> None:
        """Make the claim final: the rows are gone, but for those put back meanwhile.

        Without waiting for the disk: losing the last of it in a database crash only means rows indexed
        again, which indexing tolerates by design; the rows themselves are written by the callers, with
        full durability."""
        self.conn.execute(text("SET LOCAL synchronous_commit TO OFF"))
        self._end(commit=True)

    def _end(self, commit: bool) -> None:
        if self.conn is None:
            return
        try:
            if commit:
                self.conn.commit()
            else:
                self.conn.rollback()
        finally:
            self.conn.close()
            self.conn = None


# Claimed rows are deleted at once, in a transaction held open until the batch is settled: other
# drains skip them (the delete locks them), and the transaction's commit is the only write on success.
# A batch that fails is rolled back or its failed rows are put back, so no row is lost either way.
_CLAIM = text(
    """
    DELETE FROM outbox WHERE id = ANY(ARRAY(
        SELECT id FROM outbox WHERE id > :after AND available_at <= :now ORDER BY id LIMIT :limit
        FOR UPDATE SKIP LOCKED
    ))
    RETURNING id, entity, entity_id, attempts, created_at
    """
)


def _claim(limit: int, after: int = 0) -> Batch:
    """Take up to `limit` due rows: other drains skip them while this one indexes them, and if this
    process dies they are due again. `after`: the last id this drain claimed, so each claim starts where
    the previous one ended instead of walking again over the rows just claimed and deleted (quadratic in
    a long backlog until the table is vacuumed).

    PostgreSQL: the rows are deleted (`FOR UPDATE SKIP LOCKED`) in a transaction of their own, on a
    connection of their own, committed when they are settled; a process that dies drops its connection
    and its transaction with it, and the rows are due again as they were. The former way, an UPDATE
    setting a lease on each and a DELETE afterwards, wrote every row twice (0.74 s of PostgreSQL per 50k
    rows, against 0.35 s so, measured alone: about a tenth of the drain's time).
    """
    if db.engine.dialect.name == "postgresql":
        conn = db.engine.connect()
        try:
            found = conn.execute(_CLAIM, {"limit": limit, "after": after, "now": utcnow()}).all()
        except BaseException:
            conn.close()
            raise
        if not found:
            conn.rollback()
            conn.close()
            return Batch([])
        return Batch(sorted((Claimed(*r) for r in found), key=lambda r: r.id), conn)
    returning = (OutboxEntry.id, OutboxEntry.entity, OutboxEntry.entity_id, OutboxEntry.attempts)
    due = (
        select(OutboxEntry.id)
        .where(OutboxEntry.id > after, OutboxEntry.available_at <= utcnow())
        .order_by(OutboxEntry.id)
        .limit(limit)
    )
    rows = [
        Claimed(*r) for r in db.session.execute(select(*returning).where(OutboxEntry.id.in_(due.scalar_subquery())))
    ]
    if rows:
        lease = utcnow() + timedelta(seconds=LEASE_S)
        db.session.execute(
            update(OutboxEntry).where(id_in(OutboxEntry.id, [r.id for r in rows])).values(available_at=lease)
        )
    db.session.commit()
    return Batch(sorted(rows, key=lambda r: r.id))


def _settle(batch: Batch, failures: dict) -> int:
    """Let go of the rows that made it; push back the others with their error. Returns rows done."""
    rows = batch.rows
    if None in failures:  # the whole batch failed
        failures = {(r.entity, r.entity_id): failures[None] for r in rows}
    failed = [r for r in rows if (r.entity, r.entity_id) in failures]
    if batch.conn is not None:
        _put_back(batch.conn, failed, failures)
        batch.commit()
    else:
        _settle_leased(rows, failed, failures)
    if failed:
        first = failures[(failed[0].entity, failed[0].entity_id)]
        log.warning("search: %d outbox rows failed to index and wait for a retry (%s)", len(failed), first[:300])
    return len(rows) - len(failed)


def _backoff(attempts: int) -> datetime:
    return utcnow() + timedelta(seconds=BACKOFF_S[min(attempts, len(BACKOFF_S)) - 1])


def _put_back(conn: Connection, failed: list[Claimed], failures: dict) -> None:
    """The failed rows of a claim, inserted again in its transaction: same id and age, one more attempt."""
    if not failed:
        return
    conn.execute(
        OutboxEntry.__table__.insert(),
        [
            {
                "id": r.id,
                "entity": r.entity,
                "entity_id": r.entity_id,
                "created_at": r.created_at,
                "available_at": _backoff(r.attempts + 1),
                "attempts": r.attempts + 1,
                "last_error": failures[(r.entity, r.entity_id)][:2000],
            }
            for r in failed
        ],
    )


def _settle_leased(rows: list[Claimed], failed: list[Claimed], failures: dict) -> None:
    """Without PostgreSQL: delete the rows that made it, push back the others under a backoff."""
    options = {"synchronize_session": False}
    done_ids = [r.id for r in rows if (r.entity, r.entity_id) not in failures]
    if done_ids:
        db.session.execute(delete(OutboxEntry).where(id_in(OutboxEntry.id, done_ids)), execution_options=options)
    by_attempt: dict[tuple[int, str], list[int]] = {}
    for row in failed:
        by_attempt.setdefault((row.attempts + 1, failures[(row.entity, row.entity_id)]), []).append(row.id)
    for (attempts, error), ids in by_attempt.items():
        db.session.execute(
            update(OutboxEntry)
            .where(id_in(OutboxEntry.id, ids))
            .values(attempts=attempts, last_error=error[:2000], available_at=_backoff(attempts)),
            execution_options=options,
        )
    db.session.commit()


def _wanted(rows: list[Claimed]) -> dict[str, set[int]]:
    wanted: dict[str, set[int]] = {entity: set() for entity in ENTITIES}
    for row in rows:
        wanted[row.entity].add(row.entity_id)
    return wanted


def drain(limit: int = 5000, batch: int = 1000) -> int:
    """Index what waits, batch by batch, until `limit` rows or a failure; returns the rows indexed.

    Each batch is read from the database while the previous ones are being indexed (bulk.py). Rows of
    a batch that cannot be built (a database error, a bug) are put back with the error and a backoff;
    whatever is still held when the drain stops is given back, due at once.
    """
    from crm.search import elastic, indexer
    from crm.search.bulk import BulkPipeline

    es = elastic.client()
    done = claimed = after = 0
    failed = False
    held: list[Batch] = []
    try:
        with BulkPipeline(es) as bulk:
            while claimed < limit and not failed:
                # Onwards from the last row claimed: a row behind it (come due again, or committed late
                # under a lower id) is taken by the next drain, which starts from the beginning.
                taken = _claim(min(batch, limit - claimed), after)
                if not taken.rows:
                    break
                held.append(taken)
                claimed, after = claimed + len(taken.rows), taken.rows[-1].id
                version = indexer.clock_us()  # after the claim: this batch reads everything committed before it
                try:
                    actions = indexer.build_actions(es, _wanted(taken.rows), version)
                except elastic.ES_ERRORS as exc:
                    db.session.rollback()
                    done += _settle(taken, {None: elastic.describe(exc)})
                    break
                except Exception as exc:
                    db.session.rollback()
                    _settle(taken, {None: f"building the documents: {exc.__class__.__name__}: {exc}"})
                    raise
                db.session.rollback()  # end the read transaction before the next claim
                for sent, failures in bulk.submit(taken, actions):
                    done += _settle(sent, failures)
                    failed = failed or bool(failures)
            for sent, failures in bulk.finish():
                done += _settle(sent, failures)
    finally:
        for taken in held:
            taken.release()  # a no-op for the batches settled
    return done
