"""What each assigned customer did after assignment, read from the database for results.py.

One query for the assignments, then the interactions and cases of the assigned customers in batches,
each limited to the span of the batch's windows and to the columns the metrics read (the channel
details only for purchases and surveys, never a message's body). A customer merged into another
since their assignment is followed to the survivor, whose rows now hold their history; when both
were assigned, the earlier assignment stands for the person.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import case, select

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
    live = _survivors([r.customer_id for r in rows])
    people: dict[int, tuple[str, datetime]] = {}
    for customer_id, variant, assigned_at in rows:
        people.setdefault(live.get(customer_id, customer_id), (variant, assigned_at))
    window = timedelta(days=experiment.window_days)
    out = []
    ids = sorted(people)
    for start in range(0, len(ids), BATCH):
        batch = {cid: people[cid] for cid in ids[start : start + BATCH]}
        since = min(at for _, at in batch.values())
        until = min(max(at for _, at in batch.values()) + window, now)
        interactions = _interactions(list(batch), since, until)
        cases = _cases(list(batch), since, until)
        for cid, (variant, assigned_at) in batch.items():
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


def _survivors(customer_ids: list[int]) -> dict[int, int]:
    """assigned customer id -> the live customer holding their rows now, for those merged since."""
    merged_into: dict[int, int] = {}
    for start in range(0, len(customer_ids), BATCH):
        batch = customer_ids[start : start + BATCH]
        merged_into.update(
            db.session.execute(
                select(Customer.id, Customer.merged_into_id).where(
                    Customer.id.in_(batch), Customer.status == "merged", Customer.merged_into_id.is_not(None)
                )
            ).all()
        )
    out = {}
    for cid, target in merged_into.items():
        hops = 0
        while target in merged_into and hops < MAX_MERGE_HOPS:
            target, hops = merged_into[target], hops + 1
        out[cid] = target
    return out


def _interactions(ids: list[int], since: datetime, until: datetime) -> dict[int, list[InteractionFact]]:
    # Channel details are read for purchases (totals, refunds) and surveys (scores) only.
    details = case((Interaction.type.in_(("purchase", "survey")), Interaction.data), else_=None)
    stmt = select(
        Interaction.customer_id,
        Interaction.id,
        Interaction.channel,
        Interaction.type,
        Interaction.direction,
        Interaction.occurred_at,
        details.label("data"),
        Interaction.case_id,
    ).where(Interaction.customer_id.in_(ids), Interaction.occurred_at > since, Interaction.occurred_at <= until)
    out: dict[int, list[InteractionFact]] = defaultdict(list)
    for row in db.session.execute(stmt):
        out[row.customer_id].append(
            InteractionFact(
                id=row.id,
                channel=row.channel,
                type=row.type,
                direction=row.direction,
                occurred_at=row.occurred_at,
                data=row.data if isinstance(row.data, dict) else {},
                case_id=row.case_id,
            )
        )
    return out


def _cases(ids: list[int], since: datetime, until: datetime) -> dict[int, list[CaseFact]]:
    stmt = select(Case).where(Case.customer_id.in_(ids), Case.opened_at > since, Case.opened_at <= until)
    out: dict[int, list[CaseFact]] = defaultdict(list)
    for row in db.session.scalars(stmt):
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
