"""The worker's side of the flow of one interaction (DESIGN.md), stage by stage, in one transaction:

identity resolution → attributes, case, sentiment → profile aggregates → personalization scores →
real-time segments → outbox. Then the outbox is drained into the index.

Idempotent: the interaction row is locked and its processed_at checked first, and every aggregate is
recomputed from rows, so a job killed half-way and retried (or run twice) leaves the state of one run.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from crm import jobs
from crm.channels.models import Source
from crm.columns import utcnow
from crm.extensions import db
from crm.profiles import aggregates, attributes, cases
from crm.profiles.models import Customer, Interaction
from crm.profiles.resolve import resolve
from crm.search import record_change

log = logging.getLogger(__name__)


def process_interactions(ids: list[int]) -> int:
    """The job enqueued on acceptance: process each interaction in its own transaction."""
    done, failed = 0, []
    for interaction_id in ids:
        try:
            done += process_interaction(interaction_id)
        except Exception as exc:
            # One bad interaction must not hold up the rest of its batch; the job fails at the end
            # so that rq retries it (the ones already done are skipped on the retry).
            db.session.rollback()
            log.exception("processing interaction %s failed", interaction_id)
            _record_failure(interaction_id, exc)
            failed.append(interaction_id)
    after_processing()
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(ids)} interactions failed: {failed[:20]}")
    return done


def _record_failure(interaction_id: int, exc: Exception) -> None:
    try:
        row = db.session.get(Interaction, interaction_id)
        if row is not None:
            row.process_attempts += 1
            row.last_error = f"{exc.__class__.__name__}: {exc}"[:2000]
            db.session.commit()
    except Exception:
        db.session.rollback()


def process_interaction(interaction_id: int) -> int:
    """Process one interaction; returns 1 when it did the work, 0 when it was done already."""
    stmt = select(Interaction).where(Interaction.id == interaction_id)
    if db.engine.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    interaction = db.session.scalar(stmt)
    if interaction is None or interaction.processed_at is not None:
        db.session.rollback()
        return 0
    source = db.session.get(Source, interaction.source_id)
    resolution = resolve(interaction, source)
    customer = resolution.customer
    interaction.customer_id = customer.id
    interaction.sentiment = interaction_sentiment(interaction)
    attributes.apply_interaction(customer, interaction)
    cases.apply_interaction(customer, interaction)
    db.session.flush()
    refresh_customer(customer, interaction_id=interaction.id)
    interaction.processed_at = utcnow()
    interaction.last_error = None
    record_change("interaction", interaction.id)
    db.session.commit()
    return 1


def refresh_customer(customer: Customer, interaction_id: int | None = None) -> None:
    """Everything derived from a customer's rows, after any change to them (interaction, merge, undo, edit)."""
    aggregates.recompute(customer)
    _personalize(customer)
    _segments(customer, interaction_id)
    _experiments(customer, interaction_id)
    _suggestions(customer, interaction_id)
    record_change("customer", customer.id)


def _suggestions(customer: Customer, interaction_id: int | None) -> None:
    """Duplicate suggestions for the customer just touched: its match record, then its candidates only."""
    from crm.profiles.suggestions import refresh_for

    refresh_for(customer, interaction_id)


def _personalize(customer: Customer) -> None:
    try:
        from crm.personalization.scores import store_scores
    except ImportError:  # the personalization scores arrive with their own change
        return
    store_scores(customer)


def _segments(customer: Customer, interaction_id: int | None) -> None:
    try:
        from crm.segments.realtime import evaluate_customer
    except ImportError:  # real-time segments arrive with their own change
        return
    evaluate_customer(customer, interaction_id=interaction_id)


def _experiments(customer: Customer, interaction_id: int | None) -> None:
    # After segments: a customer who just entered an experiment's segment is assigned in this transaction.
    from crm.experiments.assignment import assign_on_entry

    assign_on_entry(customer, interaction_id=interaction_id)


def interaction_sentiment(interaction: Interaction) -> float | None:
    """VADER compound score of what the customer wrote (not what agents wrote)."""
    from crm.personalization.sentiment import score_text

    data = interaction.data or {}
    parts: list[str] = []
    if interaction.type == "survey":
        parts.append(data.get("comment") or interaction.text or "")
    elif interaction.type == "message" and interaction.direction == "inbound":
        if data.get("messages"):
            parts.extend(m.get("text") or "" for m in data["messages"] if m.get("author") == "customer")
        else:
            parts.append(interaction.text or "")
    text = " ".join(p for p in parts if p).strip()
    return round(score_text(text[:20000]), 4) if text else None


def after_processing() -> None:
    """Drain the outbox once the batch is in (one drain job however many batches asked)."""
    from crm.search import drain, uses_elasticsearch

    if uses_elasticsearch():
        jobs.enqueue(drain, once_key="drain")


def sweep(older_than_s: int | None = None, limit: int = 10_000) -> int:
    """Enqueue interactions accepted but not processed (Redis was down, a worker died); returns how many.

    Each one is swept at most once in a while (a marker in Redis), so a backlog the workers are still
    getting through is not queued once more on every tick of every worker.
    """
    age = current_app.config["SWEEP_AFTER_S"] if older_than_s is None else older_than_s
    cutoff = utcnow() - timedelta(seconds=age)
    rows = db.session.execute(
        select(Interaction.id, Interaction.received_at)
        .where(Interaction.processed_at.is_(None), Interaction.received_at <= cutoff)
        .order_by(Interaction.id)
        .limit(limit)
    ).all()
    db.session.rollback()
    ids = _not_swept_lately(rows, repeat_s=max(60, 10 * age))
    for start in range(0, len(ids), 100):
        if not jobs.enqueue(process_interactions, ids[start : start + 100]):
            return start
    return len(ids)


def _not_swept_lately(rows: list, repeat_s: int) -> list[int]:
    """The ids of (id, received_at) rows no sweep queued in the last repeat_s seconds; marks them swept.

    The marker names the receipt time as well as the id, so a restarted id sequence (a restored or
    truncated database) is not mistaken for rows swept before.
    """
    from redis.exceptions import RedisError

    conn = jobs.redis_connection()
    if conn is None or not rows:
        return [row[0] for row in rows]
    prefix = f"crm:{current_app.config['RQ_QUEUE']}:swept:"
    try:
        pipe = conn.pipeline(transaction=False)
        for interaction_id, received_at in rows:
            pipe.set(f"{prefix}{interaction_id}:{received_at.timestamp():.6f}", 1, nx=True, ex=repeat_s)
        fresh = pipe.execute()
    except RedisError:
        return [row[0] for row in rows]  # the enqueue finds Redis down too, and says so once
    return [row[0] for row, new in zip(rows, fresh, strict=True) if new]
