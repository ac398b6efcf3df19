"""Experiments: create one on a segment, start it, stop it, read its results and its assignments."""

from __future__ import annotations

from flask import current_app
from flask_login import current_user
from sqlalchemy import select

from crm import jobs
from crm.api import bp
from crm.api.spec import operation
from crm.experiments import lifecycle
from crm.experiments.jobs import assign_job
from crm.experiments.models import ExperimentAssignment
from crm.experiments.observations import results_for
from crm.experiments.schemas import (
    ExperimentAssignmentList,
    ExperimentAssignmentOut,
    ExperimentAssignmentsQuery,
    ExperimentIn,
    ExperimentList,
    ExperimentOut,
    ExperimentResultsOut,
    ExperimentsQuery,
)
from crm.extensions import db

TAG = "experiments"
_RESULTS = ExperimentResultsOut(exclude=("experiment",))  # the experiment comes dumped by describe()


def _actor() -> str:
    return current_user.email


@operation(
    bp,
    "/experiments",
    "POST",
    summary="Create an experiment (a draft) on a segment",
    tag=TAG,
    permission="experiments",
    body=ExperimentIn,
    response=ExperimentOut,
    status=201,
    errors=(409, 422),
)
def create_experiment(payload):
    """Variants with shares summing to 100, exactly one control (no action), an action or a webhook for the
    others. A webhook secret left out is generated and returned once, in this answer."""
    experiment, secret = lifecycle.create_experiment(payload, _actor())
    db.session.commit()
    return lifecycle.describe([experiment], secret=secret)[0], 201


@operation(
    bp,
    "/experiments",
    summary="Experiments, newest first",
    tag=TAG,
    permission="experiments",
    query=ExperimentsQuery,
    response=ExperimentList,
)
def list_experiments(args):
    """Pass next_cursor as cursor for the next page."""
    rows, next_cursor = lifecycle.experiments_page(limit=args["limit"], after=args["cursor"], status=args["status"])
    return {"items": lifecycle.describe(rows), "next_cursor": next_cursor}


@operation(
    bp,
    "/experiments/<int:experiment_id>",
    summary="One experiment",
    tag=TAG,
    permission="experiments",
    response=ExperimentOut,
    errors=(404,),
)
def show_experiment(experiment_id: int):
    """With the customers assigned to each variant so far."""
    return lifecycle.describe([lifecycle.get_experiment(experiment_id)])[0]


@operation(
    bp,
    "/experiments/<int:experiment_id>/start",
    "POST",
    summary="Start assigning the segment's customers",
    tag=TAG,
    permission="experiments",
    response=ExperimentOut,
    errors=(404, 409),
)
def start_experiment(experiment_id: int):
    """A draft only. Members already in the segment are assigned in the background (unless
    assign_existing is false); customers entering it while it runs are assigned as they enter."""
    experiment = lifecycle.start_experiment(lifecycle.get_experiment(experiment_id), _actor())
    db.session.commit()
    jobs.enqueue(assign_job, experiment.id)
    return lifecycle.describe([lifecycle.get_experiment(experiment_id)])[0]


@operation(
    bp,
    "/experiments/<int:experiment_id>/stop",
    "POST",
    summary="Stop the experiment",
    tag=TAG,
    permission="experiments",
    response=ExperimentOut,
    errors=(404, 409),
)
def stop_experiment(experiment_id: int):
    """No one new is assigned and agents stop seeing the treatment; assignments and results stay."""
    lifecycle.stop_experiment(lifecycle.get_experiment(experiment_id), _actor())
    db.session.commit()
    return lifecycle.describe([lifecycle.get_experiment(experiment_id)])[0]


@operation(
    bp,
    "/experiments/<int:experiment_id>/results",
    summary="Results per variant, with the difference, its 95 % interval and a verdict",
    tag=TAG,
    permission="experiments",
    response=ExperimentResultsOut,
    errors=(404,),
)
def experiment_results(experiment_id: int):
    """Each customer is measured over the window_days after their assignment, once that window has passed.
    Rates use the two-proportion z-test, means Welch's t-test; no winner is called under min_sample."""
    experiment = lifecycle.get_experiment(experiment_id)
    body = _RESULTS.dump(results_for(experiment, current_app.config["BASE_CURRENCY"]))
    return {"experiment": lifecycle.describe([experiment])[0], **body}


@operation(
    bp,
    "/experiments/<int:experiment_id>/assignments",
    summary="Who was assigned to which variant, and when",
    tag=TAG,
    permission="experiments",
    query=ExperimentAssignmentsQuery,
    response=ExperimentAssignmentList,
    errors=(404,),
)
def experiment_assignments(experiment_id: int, args):
    """In customer id order; pass next_cursor as cursor for the next page."""
    lifecycle.get_experiment(experiment_id)
    stmt = select(ExperimentAssignment).where(ExperimentAssignment.experiment_id == experiment_id)
    if args["variant"]:
        stmt = stmt.where(ExperimentAssignment.variant == args["variant"])
    if args["cursor"] is not None:
        stmt = stmt.where(ExperimentAssignment.customer_id > args["cursor"])
    rows = list(db.session.scalars(stmt.order_by(ExperimentAssignment.customer_id).limit(args["limit"] + 1)))
    more, rows = len(rows) > args["limit"], rows[: args["limit"]]
    return {
        "items": ExperimentAssignmentOut(many=True).dump(rows),
        "next_cursor": rows[-1].customer_id if more else None,
    }
