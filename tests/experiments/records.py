"""Database rows for experiment tests: segments with members, customers in bulk, experiments, history."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select, update

from crm.experiments import lifecycle
from crm.experiments.models import Experiment, ExperimentAssignment
from crm.experiments.schemas import ExperimentIn
from crm.extensions import db
from crm.profiles.models import Customer, Interaction
from crm.segments.definitions import create_segment
from crm.segments.models import SegmentMember

_seq = itertools.count(1)
NOBODY = {"condition": "profile", "field": "orders_count", "op": "gt", "value": 1_000_000}


def now() -> datetime:
    return datetime.now(UTC)


def static_segment(name: str | None = None):
    """A static segment whose members the test sets itself (real-time evaluation leaves static ones alone)."""
    segment = create_segment(name=name or f"segment-{next(_seq)}", rule=NOBODY, kind="static", actor="test")
    db.session.commit()
    return segment


def dynamic_segment(rule: dict, name: str | None = None):
    segment = create_segment(name=name or f"dynamic-{next(_seq)}", rule=rule, kind="dynamic", actor="test")
    db.session.commit()
    return segment


def customers(n: int) -> list[int]:
    """n active customers, inserted in one statement; their ids in order."""
    rows = [{"display_name": f"Customer {next(_seq)}"} for _ in range(n)]
    ids = list(db.session.scalars(insert(Customer).returning(Customer.id), rows))
    db.session.commit()
    return sorted(ids)


def add_members(segment, customer_ids: list[int], entered_at: datetime | None = None) -> None:
    at = entered_at or now()
    db.session.execute(
        insert(SegmentMember),
        [{"segment_id": segment.id, "customer_id": cid, "entered_at": at} for cid in customer_ids],
    )
    db.session.commit()


def payload(segment, **overrides) -> dict:
    body = {
        "name": f"experiment {next(_seq)}",
        "hypothesis": "A check-in call brings at-risk customers back to buy",
        "segment_id": segment.id,
        "variants": [
            {"name": "control", "share": 50},
            {"name": "treatment", "share": 50, "action": "Call to check in and offer help"},
        ],
        "ends_at": (now() + timedelta(days=60)).isoformat(),
        "primary_metric": "conversion",
        "guardrail_metrics": ["csat"],
        "window_days": 14,
        "min_sample": 100,
    }
    body.update(overrides)
    return body


def experiment(segment, *, start: bool = False, **overrides) -> Experiment:
    """An experiment through the same validation and domain calls as the API."""
    created, _ = lifecycle.create_experiment(ExperimentIn().load(payload(segment, **overrides)), "test")
    if start:
        lifecycle.start_experiment(created, "test")
    db.session.commit()
    return created


def assignments(experiment_id: int) -> dict[int, ExperimentAssignment]:
    db.session.expire_all()
    rows = db.session.scalars(select(ExperimentAssignment).where(ExperimentAssignment.experiment_id == experiment_id))
    return {row.customer_id: row for row in rows}


def variant_counts(experiment_id: int) -> dict[str, int]:
    stmt = (
        select(ExperimentAssignment.variant, func.count())
        .where(ExperimentAssignment.experiment_id == experiment_id)
        .group_by(ExperimentAssignment.variant)
    )
    return dict(db.session.execute(stmt).all())


def backdate(experiment_id: int, days: float) -> datetime:
    """Move every assignment (and the start) `days` into the past, as if the experiment had run that long."""
    at = now() - timedelta(days=days)
    db.session.execute(
        update(ExperimentAssignment).where(ExperimentAssignment.experiment_id == experiment_id).values(assigned_at=at)
    )
    db.session.execute(update(Experiment).where(Experiment.id == experiment_id).values(starts_at=at, started_at=at))
    db.session.commit()
    return at


def history(source, rows: list[dict]) -> None:
    """Processed interactions written straight to the table: the past that results read, in bulk."""
    base = {"source_id": source.id, "processed_at": now(), "received_at": now(), "direction": "inbound"}
    db.session.execute(insert(Interaction), [{**base, "external_id": f"hist-{next(_seq)}", **r} for r in rows])
    db.session.commit()
