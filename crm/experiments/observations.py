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
from crm.personalization.case_metrics_db import CASE_FACT_COLUMNS, case_fact
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
    people, moved = _people(rows, _survivors(experiment.id))
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
    # PostgreSQL applied each window in the semi-join; elsewhere, and for the people a merge moved, here.
    exact = db.engine.dialect.name == "postgresql"
    out = []
    for cid, (variant, assigned_at) in people.items():
        mine, theirs = interactions.get(cid, ()), cases.get(cid, ())
        if not exact or cid in moved:
            end = assigned_at + window
            mine = [i for i in mine if assigned_at < i.occurred_at <= end]
            theirs = [c for c in theirs if assigned_at < c.opened_at <= end]
        out.append(Observation(cid, variant, assigned_at, tuple(mine), tuple(theirs)))
    return out


def _people(rows, live: dict[int, int]) -> tuple[dict[int, tuple[str, datetime]], set[int]]:
    """live customer id -> (variant, assigned at) of the assignment that stands for them, and the ids
    whose rows must be read by id: most people are one customer with their own assignment, read through
    a join on the assignments; the few a merge touched are read from the time of the one that stands."""
    people: dict[int, tuple[str, datetime]] = {}
    own: dict[int, datetime] = {}
    for customer_id, variant, assigned_at in rows:  # earliest first
        people.setdefault(live.get(customer_id, customer_id), (variant, assigned_at))
        own[customer_id] = assigned_at
    return people, {cid for cid, (_, at) in people.items() if own.get(cid) != at}


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


# The channel details metrics read, each as text: decoding every row's whole JSON (a purchase's items,
# a chat's messages) would cost more than all the rest of the row.
DETAILS = ("total", "currency", "refund", "kind", "score", "outcome")
_TRUE = ("true", "1")


def _details(values: tuple, items) -> dict:
    data = {key: value for key, value in zip(DETAILS, values, strict=True) if value is not None}
    if "refund" in data:
        data["refund"] = str(data["refund"]).lower() in _TRUE
    if "score" in data:
        try:
            data["score"] = float(data["score"])
        except ValueError:
            del data["score"]  # not a number: no answer to count
    if items is not None:
        data["items"] = items  # only for a purchase without a total: its amount comes from them
    return data


def _interactions(where, until: datetime, skip: set[int] = frozenset()) -> dict[int, list[InteractionFact]]:
    details = [Interaction.data[key].as_string().label(f"d_{key}") for key in DETAILS]
    items = case(
        ((Interaction.type == "purchase") & Interaction.data["total"].as_string().is_(None), Interaction.data["items"]),
        else_=None,
    )
    stmt = select(
        Interaction.customer_id,
        Interaction.id,
        Interaction.channel,
        Interaction.type,
        Interaction.direction,
        # The plain column type: aware datetimes compare whatever their zone, and UTCDateTime's
        # conversion of every value costs more than the rest of the row (SQLite's naive ones get UTC below).
        type_coerce(Interaction.occurred_at, DateTime(timezone=True)).label("occurred_at"),
        *details,
        items.label("d_items"),
    ).where(where, _RELEVANT, Interaction.occurred_at <= until)
    out: dict[int, list[InteractionFact]] = defaultdict(list)
    # Core, not the ORM: plain rows, none of the per-row ORM loading this many rows would pay for.
    for customer_id, iid, channel, kind, direction, at, *values, items in db.session.connection().execute(
        stmt.execution_options(yield_per=5000)
    ):
        if customer_id in skip:
            continue
        out[customer_id].append(
            InteractionFact(
                id=iid,
                channel=channel,
                type=kind,
                direction=direction,
                occurred_at=at if at.tzinfo else at.replace(tzinfo=UTC),
                data=_details(values, items) if any(v is not None for v in values) or items is not None else {},
            )
        )
    return out


def _cases(where, until: datetime, skip: set[int] = frozenset()) -> dict[int, list[CaseFact]]:
    stmt = select(Case.customer_id, *CASE_FACT_COLUMNS).where(where, Case.opened_at <= until)
    out: dict[int, list[CaseFact]] = defaultdict(list)
    for row in db.session.execute(stmt):
        if row.customer_id in skip:
            continue
        out[row.customer_id].append(case_fact(row))
    return out


def results_for(experiment: Experiment, base_currency: str, now: datetime | None = None) -> dict:
    """The results body (results.compute) of a stored experiment."""
    from crm.experiments.results import compute

    now = now or utcnow()
    return compute(experiment.design(base_currency), load_observations(experiment, now), now)
