"""Journey stage and churn risk stored on the customer row, so segments and search can filter on them.

The pipeline calls `store_scores` inside the processing transaction, after the aggregates, for every
processed interaction: it loads only what the two scores read (interactions and cases, no
attributes, segments or feedback) and writes two columns. `rescore` recomputes them for every
customer in batches, for backfills and because both scores move with time alone (silence grows).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import func, select

from crm.columns import utcnow
from crm.extensions import db
from crm.personalization.churn import churn_risk
from crm.personalization.facts import CustomerFacts
from crm.personalization.journey import journey_stage
from crm.personalization.loader import load_facts, load_many
from crm.profiles.models import Customer

BATCH = 500


def scores(facts: CustomerFacts, now: datetime) -> tuple[str, float]:
    """(journey stage, churn risk) of one customer; the churn risk feeds the journey rules."""
    risk, _ = churn_risk(facts, now)
    stage, _ = journey_stage(facts, now, churn=risk)
    return stage, risk


def store_scores(customer: Customer, now: datetime | None = None) -> bool:
    """Compute and store journey stage and churn risk on the row; True when either changed."""
    stage, risk = scores(load_facts(customer, scores_only=True), now or utcnow())
    return _apply(customer, stage, risk)


def _apply(customer: Customer, stage: str, risk: float) -> bool:
    if customer.journey_stage == stage and customer.churn_risk == risk:
        return False
    customer.journey_stage, customer.churn_risk = stage, risk
    return True


def rescore(
    now: datetime | None = None,
    batch: int = BATCH,
    progress: Callable[[int], None] | None = None,
    after_id: int = 0,
    up_to_id: int | None = None,
) -> dict[str, int]:
    """Recompute both scores for every active customer (with after_id < id <= up_to_id), a batch per transaction.

    A changed customer gets a new version (the agent view cache is keyed by it) and an outbox row, so
    the index and the segments read the new stage. Returns {"customers", "changed"}.
    """
    now = now or utcnow()
    seen = changed = 0
    last_id = after_id
    while True:
        stmt = select(Customer.id).where(Customer.status == "active", Customer.id > last_id)
        if up_to_id is not None:
            stmt = stmt.where(Customer.id <= up_to_id)
        ids = list(db.session.scalars(stmt.order_by(Customer.id).limit(batch)))
        if not ids:
            break
        changed += _rescore_batch(ids, now)
        last_id = ids[-1]
        seen += len(ids)
        if progress is not None:
            progress(len(ids))
    return {"customers": seen, "changed": changed}


def _rescore_batch(ids: list[int], now: datetime) -> int:
    """One transaction: the customers locked (as the pipeline locks them), re-read, rescored."""
    from crm.profiles.locks import lock_customers
    from crm.search import record_change

    lock_customers(ids)
    rows = list(db.session.scalars(select(Customer).where(Customer.id.in_(ids), Customer.status == "active")))
    changed = 0
    for loaded in load_many(rows, scores_only=True).values():
        stage, risk = scores(loaded.facts, now)
        if _apply(loaded.customer, stage, risk):
            loaded.customer.version = (loaded.customer.version or 0) + 1
            record_change("customer", loaded.customer.id)
            changed += 1
    db.session.commit()
    return changed


RANGE = 2000  # customer ids per daily rescore job: each job stays well inside rq's timeout
_claimed_days: set[str] = set()


def rescore_range(after_id: int, up_to_id: int) -> dict[str, int]:
    """A job of the daily rescore: the customers with after_id < id <= up_to_id."""
    return rescore(batch=200, after_id=after_id, up_to_id=up_to_id)


def rescore_daily() -> int:
    """The periodic job: once a day, queue the rescore of every customer in id ranges; returns jobs queued.

    Journey stage and churn risk move with time alone (a customer who stops writing becomes lapsed
    without a new interaction to rescore them), so the stored values are brought up to date daily.
    """
    from crm import jobs

    if not _claim(utcnow().date().isoformat()):
        return 0
    highest = db.session.scalar(select(func.max(Customer.id))) or 0
    db.session.rollback()
    queued = 0
    for start in range(0, highest, RANGE):
        queued += jobs.enqueue(rescore_range, start, start + RANGE)
    return queued


def claim_key(day: str) -> str:
    """The Redis key that marks a day's rescore as queued (one per queue, so per deployment)."""
    from flask import current_app

    return f"crm:{current_app.config['RQ_QUEUE']}:rescore:{day}"


def _claim(day: str) -> bool:
    """True for the first caller of the day: a Redis key when there is Redis, else this process (embedded)."""
    from redis.exceptions import RedisError

    from crm import jobs

    conn = jobs.redis_connection()
    if conn is None:
        if day in _claimed_days:
            return False
        _claimed_days.add(day)
        return True
    try:
        return bool(conn.set(claim_key(day), "1", nx=True, ex=2 * 24 * 3600))
    except RedisError:
        return False


def active_customers() -> int:
    return db.session.scalar(select(func.count()).select_from(Customer).where(Customer.status == "active")) or 0


def stage_counts(ids: Iterable[int] | None = None) -> dict[str, int]:
    """How many active customers are in each journey stage (None: not scored yet)."""
    stmt = select(Customer.journey_stage, func.count()).where(Customer.status == "active")
    if ids is not None:
        stmt = stmt.where(Customer.id.in_(list(ids)))
    return {str(stage): count for stage, count in db.session.execute(stmt.group_by(Customer.journey_stage))}
