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
    now: datetime | None = None, batch: int = BATCH, progress: Callable[[int], None] | None = None
) -> dict[str, int]:
    """Recompute both scores for every active customer, a batch per transaction.

    A changed customer gets a new version (the agent view cache is keyed by it) and an outbox row, so
    the index and the segments read the new stage. Returns {"customers", "changed"}.
    """
    from crm.search import record_change

    now = now or utcnow()
    seen = changed = 0
    last_id = 0
    while True:
        rows = list(
            db.session.scalars(
                select(Customer)
                .where(Customer.status == "active", Customer.id > last_id)
                .order_by(Customer.id)
                .limit(batch)
            )
        )
        if not rows:
            break
        for loaded in load_many(rows, scores_only=True).values():
            stage, risk = scores(loaded.facts, now)
            if _apply(loaded.customer, stage, risk):
                loaded.customer.version = (loaded.customer.version or 0) + 1
                record_change("customer", loaded.customer.id)
                changed += 1
        last_id = rows[-1].id  # read before the commit expires the rows
        db.session.commit()
        seen += len(rows)
        if progress is not None:
            progress(len(rows))
    return {"customers": seen, "changed": changed}


def active_customers() -> int:
    return db.session.scalar(select(func.count()).select_from(Customer).where(Customer.status == "active")) or 0


def stage_counts(ids: Iterable[int] | None = None) -> dict[str, int]:
    """How many active customers are in each journey stage (None: not scored yet)."""
    stmt = select(Customer.journey_stage, func.count()).where(Customer.status == "active")
    if ids is not None:
        stmt = stmt.where(Customer.id.in_(list(ids)))
    return {str(stage): count for stage, count in db.session.execute(stmt.group_by(Customer.journey_stage))}
