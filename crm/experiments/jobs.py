"""Experiment jobs. `sweep_experiments` runs on every worker tick (crm.worker lists PERIODIC): it ends
experiments past their end and assigns the members no interaction has brought in yet — those in the
segment at the start, and those a scheduled segment refresh added. Cheap when there is nothing to do:
one query for the running experiments, one anti-join per experiment.
"""

from __future__ import annotations

from sqlalchemy import select

from crm.columns import utcnow
from crm.experiments.assignment import assign_members
from crm.experiments.lifecycle import end_due
from crm.experiments.models import Experiment
from crm.extensions import db


def assign_job(experiment_id: int) -> int:
    """Assign the current members of one experiment's segment (queued when it starts)."""
    return assign_members(experiment_id)


def sweep_experiments() -> int:
    """End what is due, then assign the unassigned members of every running experiment; returns how many."""
    now = utcnow()
    end_due(now)
    running = list(db.session.scalars(select(Experiment.id).where(Experiment.running_now(now))))
    db.session.rollback()
    return sum(assign_members(experiment_id, now=now) for experiment_id in running)


PERIODIC = [sweep_experiments]
