"""Assigning customers to running experiments, and the treatments they get.

Two ways in, one insert: the pipeline calls `assign_on_entry` after the real-time segments stage
(an interaction just made the customer a member), and the periodic job calls `assign_members` for
everyone who is a member and not assigned yet (members at the start, entrants from a scheduled
refresh). Both go through `_insert`: INSERT ... ON CONFLICT DO NOTHING on (experiment, customer), so
two workers racing for one customer end with one row and the same variant (the split is a pure
function of the key and the id). Leaving the segment touches nothing here.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import and_, exists, func, or_, select, update

from crm.columns import utcnow
from crm.experiments.models import Experiment, ExperimentAssignment
from crm.experiments.split import assign
from crm.extensions import db, insert_ignoring_conflicts
from crm.profiles.models import Customer, Merge
from crm.segments.models import OutboundDelivery, SegmentMember

log = logging.getLogger(__name__)

BATCH = 1000
ASSIGNED_EVENT = "experiment.assigned"


def _running(now: datetime):
    """Experiments assigning at `now`: running, inside their start and end, with a segment."""
    return and_(Experiment.running_now(now), Experiment.segment_id.is_not(None))


def _eligible_membership():
    # assign_existing off: only customers who entered the segment once the experiment had started.
    return or_(Experiment.assign_existing.is_(True), SegmentMember.entered_at >= Experiment.starts_at)


def assign_on_entry(customer: Customer, interaction_id: int | None = None, now: datetime | None = None) -> int:
    """Assign this customer to every running experiment on a segment they are a member of; returns how many."""
    now = now or utcnow()
    if customer.status != "active":
        return 0
    already = exists().where(
        ExperimentAssignment.experiment_id == Experiment.id, ExperimentAssignment.customer_id == customer.id
    )
    stmt = (
        select(Experiment.id)
        .join(SegmentMember, SegmentMember.segment_id == Experiment.segment_id)
        .where(SegmentMember.customer_id == customer.id, _running(now), _eligible_membership(), ~already)
    )
    # Ids first: on almost every interaction there is nothing to do, and then one light query is all.
    made = 0
    for experiment_id in db.session.scalars(stmt).all():
        experiment = db.session.get(Experiment, experiment_id)
        made += len(_insert(experiment, [customer.id], now, cause="realtime", interaction_id=interaction_id))
    return made


def assign_members(
    experiment_id: int, now: datetime | None = None, progress: Callable[[int], None] | None = None
) -> int:
    """Assign every member of the experiment's segment not assigned yet; returns how many. Idempotent.

    Commits per batch, so a job killed half-way keeps what it did and the next run does the rest.
    """
    now = now or utcnow()
    experiment = db.session.get(Experiment, experiment_id)
    if experiment is None or not experiment.is_running(now) or experiment.segment_id is None:
        db.session.rollback()
        return 0
    made, after = 0, 0
    while True:
        ids = _unassigned_members(experiment, after, now)
        if not ids:
            break
        made += len(_insert(experiment, ids, now, cause="sweep"))
        db.session.commit()
        if progress is not None:
            progress(len(ids))
        after = ids[-1]
    db.session.commit()
    return made


def _unassigned_members(experiment: Experiment, after: int, now: datetime) -> list[int]:
    already = exists().where(
        ExperimentAssignment.experiment_id == experiment.id,
        ExperimentAssignment.customer_id == SegmentMember.customer_id,
    )
    stmt = (
        select(SegmentMember.customer_id)
        .join(Customer, Customer.id == SegmentMember.customer_id)
        .where(SegmentMember.segment_id == experiment.segment_id, SegmentMember.customer_id > after)
        .where(Customer.status == "active", ~already)
        .order_by(SegmentMember.customer_id)
        .limit(BATCH)
    )
    if not experiment.assign_existing and experiment.starts_at is not None:
        stmt = stmt.where(SegmentMember.entered_at >= experiment.starts_at)
    return list(db.session.scalars(stmt))


def pending_count(experiment: Experiment) -> int:
    """Members not assigned yet (for the CLI's progress bar)."""
    already = exists().where(
        ExperimentAssignment.experiment_id == experiment.id,
        ExperimentAssignment.customer_id == SegmentMember.customer_id,
    )
    stmt = select(func.count()).select_from(SegmentMember).where(SegmentMember.segment_id == experiment.segment_id)
    stmt = stmt.where(~already)
    return db.session.scalar(stmt) or 0


def _insert(
    experiment: Experiment, customer_ids: Iterable[int], now: datetime, cause: str, interaction_id: int | None = None
) -> list[tuple[int, int, str]]:
    """Insert the assignments that do not exist yet; returns (assignment id, customer id, variant) of the new ones."""
    shares = experiment.shares()
    rows = []
    for customer_id in sorted(set(customer_ids)):  # one order for every writer: no deadlock between batches
        variant, u = assign(experiment.key, customer_id, shares)
        rows.append(
            {
                "experiment_id": experiment.id,
                "customer_id": customer_id,
                "variant": variant,
                "bucket": u,
                "assigned_at": now,
                "cause": cause,
                "interaction_id": interaction_id,
            }
        )
    if not rows:
        return []
    stmt = (
        insert_ignoring_conflicts(ExperimentAssignment, "experiment_id", "customer_id")
        .values(rows)
        .returning(ExperimentAssignment.id, ExperimentAssignment.customer_id, ExperimentAssignment.variant)
    )
    made = [tuple(row) for row in db.session.execute(stmt)]
    if made:
        _announce(experiment, made, now)
        # The agent view is cached per customer version: a new treatment must be a new version.
        db.session.execute(
            update(Customer)
            .where(Customer.id.in_([customer_id for _, customer_id, _ in made]))
            .values(version=Customer.version + 1)
            .execution_options(synchronize_session=False)
        )
    return made


def _announce(experiment: Experiment, made: list[tuple[int, int, str]], now: datetime) -> None:
    """One outbound delivery per assignment to the experiment's webhook, delivered and signed by segments."""
    if experiment.webhook_id is None:
        return
    for assignment_id, customer_id, variant in made:
        db.session.add(
            OutboundDelivery(
                webhook_id=experiment.webhook_id,
                event_id=assignment_id,
                kind=ASSIGNED_EVENT,
                payload={
                    "event": ASSIGNED_EVENT,
                    "experiment": {"id": experiment.id, "name": experiment.name},
                    "variant": variant,
                    "control": variant == _control_name(experiment),
                    "customer_id": customer_id,
                    "assigned_at": now.isoformat(),
                },
                next_attempt_at=now,
            )
        )


def _control_name(experiment: Experiment) -> str | None:
    return next((v["name"] for v in experiment.variants if v.get("control")), None)


def treatments_for(customer_id: int, now: datetime | None = None) -> tuple[tuple[str, str, str | None], ...]:
    """(experiment name, variant, action text or None) for each running experiment the customer is in.

    What personalization puts in CustomerFacts.experiments: a control variant has no action, so
    control customers get nothing to see, which is what makes them a control.
    """
    return treatments_for_many([customer_id], now).get(customer_id, ())


def treatments_for_many(
    customer_ids: Iterable[int], now: datetime | None = None
) -> dict[int, tuple[tuple[str, str, str | None], ...]]:
    """treatments_for for a batch of customers, in two indexed queries.

    A customer merged into one of these since their assignment still counts: the person keeps the
    variant they were given (the earliest assignment when both halves had one, as in the results).
    """
    now = now or utcnow()
    ids = list(customer_ids)
    if not ids:
        return {}
    person = {cid: cid for cid in ids}
    merged = select(Merge.merged_id, Merge.survivor_id).where(Merge.survivor_id.in_(ids), Merge.undone_at.is_(None))
    person.update({merged_id: survivor for merged_id, survivor in db.session.execute(merged).all()})
    stmt = (
        select(ExperimentAssignment.customer_id, ExperimentAssignment.variant, Experiment.name, Experiment.variants)
        .join(Experiment, Experiment.id == ExperimentAssignment.experiment_id)
        .where(ExperimentAssignment.customer_id.in_(list(person)), Experiment.running_now(now))
        .order_by(Experiment.name, ExperimentAssignment.assigned_at, ExperimentAssignment.id)
    )
    out: dict[int, dict[str, tuple[str, str, str | None]]] = defaultdict(dict)
    for customer_id, variant, name, variants in db.session.execute(stmt):
        action = next((v.get("action") for v in variants if v["name"] == variant and not v.get("control")), None)
        out[person[customer_id]].setdefault(name, (name, variant, action or None))
    return {cid: tuple(found.values()) for cid, found in out.items()}


def assignments_of(customer_id: int) -> list[tuple[Experiment, ExperimentAssignment]]:
    """Every experiment the customer was ever assigned to, newest first (for the profile)."""
    stmt = (
        select(Experiment, ExperimentAssignment)
        .join(ExperimentAssignment, ExperimentAssignment.experiment_id == Experiment.id)
        .where(ExperimentAssignment.customer_id == customer_id)
        .order_by(ExperimentAssignment.assigned_at.desc())
    )
    return [tuple(row) for row in db.session.execute(stmt)]
