"""What each assigned customer did after assignment, read from the database for results.py.

One query for the assignments, one for the interactions and one for the cases of the assigned
customers (semi-joined on the assignments, from each one's own assignment time), limited to the rows
and columns the metrics read: the channel details only for purchases, surveys and calls, never a
message's body, and none of our own outbound messages. A customer merged into another
since their assignment is followed to the survivor, whose rows now hold their history; when both
were assigned, the earlier assignment stands for the person.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from sqlalchemy import DateTime, Interval, case, exists, literal, or_, select, type_coerce

from crm.columns import utcnow
from crm.experiments.metrics import Observation
from crm.experiments.models import Experiment, ExperimentAssignment
from crm.extensions import db
from crm.personalization.facts import CaseFact, InteractionFact
from crm.profiles.models import Case, Customer, Interaction

BATCH = 1000
MAX_MERGE_HOPS = 10


def load_observations(experiment: Experiment, now: datetime | None = None) -> list[Observation]:
    now = now or utcnow()
    rows = db.session.execute(
        select(ExperimentAssignment.customer_id, ExperimentAssignment.variant, ExperimentAssignment.assigned_at)
        .where(ExperimentAssignment.experiment_id == experiment.id)
        .order_by(ExperimentAssignment.assigned_at, ExperimentAssignment.id)
    ).all()
    if not rows:
        return []
    live = _survivors(experiment.id)
    people: dict[int, tuple[str, datetime]] = {}
    own: dict[int, datetime] = {}
    for customer_id, variant, assigned_at in rows:
        people.setdefault(live.get(customer_id, customer_id), (variant, assigned_at))
        own[customer_id] = assigned_at
    # Most people are one customer with their own assignment: their rows come through a join on the
    # assignments. The few a merge touched are read by id, from the time of the assignment that stands.
    moved = {cid for cid, (_, at) in people.items() if own.get(cid) != at}
    window = timedelta(days=experiment.window_days)
    until = min(max(at for _, at in people.values()) + window, now)
    joined = _joined(Interaction.customer_id, Interaction.occurred_at, experiment.id, window)
    interactions = _interactions(joined, until, moved)
    cases = _cases(_joined(Case.customer_id, Case.opened_at, experiment.id, window), until, moved)
    if moved:
        since = min(people[cid][1] for cid in moved)
        chosen = sorted(moved)
        for start in range(0, len(chosen), BATCH):
            batch = chosen[start : start + BATCH]
            interactions.update(
                _interactions(Interaction.customer_id.in_(batch) & (Interaction.occurred_at > since), until)
            )
            cases.update(_cases(Case.customer_id.in_(batch) & (Case.opened_at > since), until))
    out = []
    for cid, (variant, assigned_at) in people.items():
        end = assigned_at + window
        out.append(
            Observation(
                customer_id=cid,
                variant=variant,
                assigned_at=assigned_at,
                interactions=tuple(i for i in interactions.get(cid, ()) if assigned_at < i.occurred_at <= end),
                cases=tuple(c for c in cases.get(cid, ()) if assigned_at < c.opened_at <= end),
            )
        )
    return out


def _survivors(experiment_id: int) -> dict[int, int]:
    """assigned customer id -> the live customer holding their rows now, for those merged since."""
    merged_into: dict[int, int] = dict(
        db.session.execute(
            select(Customer.id, Customer.merged_into_id)
            .join(ExperimentAssignment, ExperimentAssignment.customer_id == Customer.id)
            .where(
                ExperimentAssignment.experiment_id == experiment_id,
                Customer.status == "merged",
                Customer.merged_into_id.is_not(None),
            )
        ).all()
    )
    out = {}
    for cid, target in merged_into.items():
        hops = 0
        while hops < MAX_MERGE_HOPS:
            further = db.session.scalar(
                select(Customer.merged_into_id).where(Customer.id == target, Customer.status == "merged")
            )
            if further is None:
                break
            target, hops = further, hops + 1
        out[cid] = target
    return out


def _joined(customer_column, time_column, experiment_id: int, window: timedelta):
    """Rows of the experiment's customers inside their own window (a semi-join, not a list of ids)."""
    inside = [
        ExperimentAssignment.experiment_id == experiment_id,
        ExperimentAssignment.customer_id == customer_column,
        ExperimentAssignment.assigned_at < time_column,
    ]
    if db.engine.dialect.name == "postgresql":
        # SQLite has no interval arithmetic: there the window's end is applied in Python only.
        inside.append(time_column <= ExperimentAssignment.assigned_at + literal(window, Interval()))
    return exists().where(*inside)


# The rows any metric reads (metrics.py): purchases, surveys, visits, and the customer's own moves.
# Our outbound messages and notes never change a figure, and they are a large share of the table.
_RELEVANT = or_(
    Interaction.type.in_(("purchase", "survey", "visit", "call")),
    Interaction.direction == "inbound",
)


def _interactions(where, until: datetime, skip: set[int] = frozenset()) -> dict[int, list[InteractionFact]]:
    # Channel details are read for purchases (totals, refunds), surveys (scores) and calls (outcome) only.
    details = case((Interaction.type.in_(("purchase", "survey", "call")), Interaction.data), else_=None)
    stmt = select(
        Interaction.customer_id,
        Interaction.id,
        Interaction.channel,
        Interaction.type,
        Interaction.direction,
        # The plain column type: aware datetimes compare whatever their zone, and UTCDateTime's
        # conversion of every value costs more than the rest of the row (SQLite's naive ones get UTC below).
        type_coerce(Interaction.occurred_at, DateTime(timezone=True)).label("occurred_at"),
        details.label("data"),
    ).where(where, _RELEVANT, Interaction.occurred_at <= until)
    out: dict[int, list[InteractionFact]] = defaultdict(list)
    # Core, not the ORM: plain rows, none of the per-row ORM loading this many rows would pay for.
    for row in db.session.connection().execute(stmt.execution_options(yield_per=5000)):
        if row.customer_id in skip:
            continue
        out[row.customer_id].append(
            InteractionFact(
                id=row.id,
                channel=row.channel,
                type=row.type,
                direction=row.direction,
                occurred_at=row.occurred_at if row.occurred_at.tzinfo else row.occurred_at.replace(tzinfo=UTC),
                data=row.data if isinstance(row.data, dict) else {},
            )
        )
    return out


def _cases(where, until: datetime, skip: set[int] = frozenset()) -> dict[int, list[CaseFact]]:
    stmt = select(
        Case.customer_id,
        Case.id,
        Case.status,
        Case.channel,
        Case.opened_at,
        Case.first_response_at,
        Case.resolved_at,
        Case.reopen_count,
        Case.resolution_seconds,
    ).where(where, Case.opened_at <= until)
    out: dict[int, list[CaseFact]] = defaultdict(list)
    for row in db.session.execute(stmt):
        if row.customer_id in skip:
            continue
        out[row.customer_id].append(
            CaseFact(
                id=row.id,
                status=row.status,
                channel=row.channel,
                subject=None,
                opened_at=row.opened_at,
                first_response_at=row.first_response_at,
                resolved_at=row.resolved_at,
                reopen_count=row.reopen_count or 0,
                resolution_seconds=row.resolution_seconds,
            )
        )
    return out


def results_for(experiment: Experiment, base_currency: str, now: datetime | None = None) -> dict:
    """The results body (results.compute) of a stored experiment."""
    from crm.experiments.results import compute

    now = now or utcnow()
    return compute(experiment.design(base_currency), load_observations(experiment, now), now)
