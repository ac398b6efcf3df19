"""An experiment's life: created as a draft, started once, stopped by hand or ended by its end date.

A draft can be started; a running one stopped; neither comes back (restarting would mix two windows
in one result: create a new experiment instead). The caller commits; starting queues the assignment
of the segment's current members (crm.experiments.jobs.assign_job) once the commit is in.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import func, select, update

from crm import audit
from crm.columns import utcnow
from crm.errors import Conflict, InvalidPayload, NotFound
from crm.experiments.assignment import ASSIGNED_EVENT
from crm.experiments.models import Experiment, ExperimentAssignment
from crm.extensions import db
from crm.profiles.models import Customer
from crm.segments.models import Segment, SegmentWebhook


def get_experiment(experiment_id: int) -> Experiment:
    experiment = db.session.get(Experiment, experiment_id)
    if experiment is None:
        raise NotFound(f"no experiment {experiment_id}")
    return experiment


def create_experiment(data: dict, actor: str) -> tuple[Experiment, str | None]:
    """A draft experiment from validated input (schemas.ExperimentIn); (experiment, webhook secret if generated)."""
    segment = db.session.get(Segment, data["segment_id"])
    if segment is None:
        raise InvalidPayload(
            f"no segment {data['segment_id']}", errors={"segment_id": [f"no segment {data['segment_id']}"]}
        )
    clash = db.session.scalar(select(Experiment.id).where(Experiment.name == data["name"]))
    if clash is not None:
        raise Conflict(
            f"an experiment named {data['name']!r} exists already (id {clash})", errors={"name": ["already used"]}
        )
    experiment = Experiment(
        key=secrets.token_hex(16),
        name=data["name"],
        hypothesis=data["hypothesis"],
        segment_id=segment.id,
        variants=data["variants"],
        status="draft",
        starts_at=data.get("starts_at"),
        ends_at=data["ends_at"],
        primary_metric=data["primary_metric"],
        guardrail_metrics=data.get("guardrail_metrics") or [],
        window_days=data.get("window_days", 30),
        min_sample=data.get("min_sample", 100),
        assign_existing=data.get("assign_existing", True),
        created_by=actor,
    )
    generated = None
    if data.get("webhook"):
        secret = data["webhook"].get("secret")
        if not secret:
            secret = generated = secrets.token_urlsafe(32)
        hook = SegmentWebhook(segment_id=segment.id, url=data["webhook"]["url"], secret=secret, events=[ASSIGNED_EVENT])
        db.session.add(hook)
        db.session.flush()
        experiment.webhook_id = hook.id
    db.session.add(experiment)
    db.session.flush()
    audit.record(actor, "experiment.create", "experiment", experiment.id, segment_id=segment.id)
    return experiment, generated


def start_experiment(experiment: Experiment, actor: str, now: datetime | None = None) -> Experiment:
    """Draft → running. Assignment begins at starts_at (now when it is unset or past)."""
    now = now or utcnow()
    if experiment.status != "draft":
        raise Conflict(
            f"experiment {experiment.id} is {experiment.status}; only a draft can be started "
            "(create a new experiment to run it again)"
        )
    if experiment.ends_at <= now:
        raise Conflict(
            f"experiment {experiment.id} ended on {experiment.ends_at.isoformat()}; change nothing, create a new one"
        )
    if experiment.segment_id is None:
        raise Conflict(f"experiment {experiment.id} has no segment any more (it was deleted)")
    if experiment.starts_at is None or experiment.starts_at < now:
        experiment.starts_at = now
    experiment.status, experiment.started_at = "running", now
    audit.record(actor, "experiment.start", "experiment", experiment.id)
    return experiment


def stop_experiment(experiment: Experiment, actor: str, now: datetime | None = None) -> Experiment:
    """Running → stopped: no new assignments, the treatment leaves the agent view; results stay."""
    now = now or utcnow()
    if experiment.status != "running":
        raise Conflict(f"experiment {experiment.id} is {experiment.status}; only a running one can be stopped")
    experiment.status, experiment.stopped_at = "stopped", now
    _renew_agent_views(experiment.id)
    audit.record(actor, "experiment.stop", "experiment", experiment.id)
    return experiment


def _renew_agent_views(experiment_id: int) -> None:
    # Agent views are cached per customer version: without a new version the treatment would linger.
    assigned = select(ExperimentAssignment.customer_id).where(ExperimentAssignment.experiment_id == experiment_id)
    db.session.execute(
        update(Customer)
        .where(Customer.id.in_(assigned))
        .values(version=Customer.version + 1)
        .execution_options(synchronize_session=False)
    )


def end_due(now: datetime | None = None) -> int:
    """Running experiments past their end become ended; returns how many."""
    now = now or utcnow()
    due = list(db.session.scalars(select(Experiment).where(Experiment.status == "running", Experiment.ends_at <= now)))
    for experiment in due:
        experiment.status, experiment.stopped_at = "ended", experiment.ends_at
        _renew_agent_views(experiment.id)
        audit.record("system", "experiment.end", "experiment", experiment.id)
    db.session.commit()
    return len(due)


def assigned_counts(experiment_ids: list[int]) -> dict[int, dict[str, int]]:
    """experiment id -> {variant: customers assigned}."""
    out: dict[int, dict[str, int]] = {eid: {} for eid in experiment_ids}
    if not experiment_ids:
        return out
    stmt = (
        select(ExperimentAssignment.experiment_id, ExperimentAssignment.variant, func.count())
        .where(ExperimentAssignment.experiment_id.in_(experiment_ids))
        .group_by(ExperimentAssignment.experiment_id, ExperimentAssignment.variant)
    )
    for experiment_id, variant, count in db.session.execute(stmt):
        out[experiment_id][variant] = count
    return out


def experiments_page(
    *, limit: int, after: int | None = None, status: str | None = None
) -> tuple[list[Experiment], int | None]:
    """Experiments newest first; the second value is the id to pass as `after` for the next page."""
    stmt = select(Experiment).order_by(Experiment.id.desc())
    if after is not None:
        stmt = stmt.where(Experiment.id < after)
    if status:
        stmt = stmt.where(Experiment.status == status)
    rows = list(db.session.scalars(stmt.limit(limit + 1)))
    more, rows = len(rows) > limit, rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


def describe(experiments: list[Experiment], secret: str | None = None) -> list[dict]:
    """ExperimentOut bodies for a page of experiments, with segment names, webhooks and assigned counts."""
    from crm.experiments.schemas import experiment_body

    ids = [e.id for e in experiments]
    counts = assigned_counts(ids)
    segment_ids = {e.segment_id for e in experiments if e.segment_id is not None}
    names = dict(db.session.execute(select(Segment.id, Segment.name).where(Segment.id.in_(segment_ids))).all())
    hook_ids = {e.webhook_id for e in experiments if e.webhook_id is not None}
    hooks = {h.id: h for h in db.session.scalars(select(SegmentWebhook).where(SegmentWebhook.id.in_(hook_ids)))}
    now = utcnow()
    return [
        experiment_body(
            e,
            counts.get(e.id, {}),
            segment_name=names.get(e.segment_id),
            now=now,
            webhook=hooks.get(e.webhook_id),
            secret=secret,
        )
        for e in experiments
    ]
