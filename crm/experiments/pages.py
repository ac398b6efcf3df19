"""The marketer's pages for experiments: the list, a new experiment, and one experiment with its
variants side by side and the primary metric over time.

A blueprint of its own (registered by create_app) on the web app's layout (base.html) and access
rules (crm.web.access.page). Views parse, make one domain call and render; the chart is drawn by
static/results_chart.js from the series the page embeds, with the same figures in a table beside it.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import ValidationError
from sqlalchemy import select

from crm.errors import DomainError
from crm.experiments import lifecycle
from crm.experiments.jobs import assign_job
from crm.experiments.metrics import METRICS
from crm.experiments.observations import results_for
from crm.experiments.schemas import ExperimentIn
from crm.extensions import db
from crm.segments.models import Segment
from crm.web.access import page

bp = Blueprint("experiments_web", __name__, url_prefix="/experiments", static_folder="static")
PAGE_SIZE = 25


@bp.get("")
@page("experiments")
def index():
    after = request.args.get("cursor", type=int)
    rows, next_cursor = lifecycle.experiments_page(limit=PAGE_SIZE, after=after)
    return render_template(
        "experiments/list.html", experiments=lifecycle.describe(rows), next_cursor=next_cursor, first=after is None
    )


@bp.get("/<int:experiment_id>")
@page("experiments")
def show(experiment_id: int):
    experiment = lifecycle.get_experiment(experiment_id)
    results = results_for(experiment, current_app.config["BASE_CURRENCY"])
    return render_template(
        "experiments/show.html",
        experiment=lifecycle.describe([experiment])[0],
        results=results,
        rows=side_by_side(results),
        segment_href=_segment_href(experiment.segment_id),
    )


def _segment_href(segment_id: int | None) -> str | None:
    # The segment's own page, when the web app has one (and the segment still exists).
    if segment_id is None or "web.segment" not in current_app.view_functions:
        return None
    return url_for("web.segment", segment_id=segment_id)


def side_by_side(results: dict) -> list[dict]:
    """One row per metric for the variants table: each variant's figure and, for treatments, the comparison."""
    rows = []
    for m in results["metrics"]:
        versus = {c["variant"]: c for c in m["comparisons"]}
        cells = []
        for figure in m["variants"]:
            c = versus.get(figure["variant"])
            cells.append(
                {
                    "value": figure["display"],
                    "n": figure["n"],
                    "versus": c["display"] if c else None,
                    "direction": c["direction"] if c else None,
                }
            )
        rows.append({"label": m["label"], "role": m["role"], "definition": m["definition"], "cells": cells})
    return rows


@bp.post("/<int:experiment_id>/start")
@page("experiments")
def start(experiment_id: int):
    from crm import jobs

    try:
        lifecycle.start_experiment(lifecycle.get_experiment(experiment_id), current_user.email)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.detail, "error")
        return redirect(url_for(".show", experiment_id=experiment_id))
    jobs.enqueue(assign_job, experiment_id)
    flash("Started: the segment's members are being assigned.", "success")
    return redirect(url_for(".show", experiment_id=experiment_id))


@bp.post("/<int:experiment_id>/stop")
@page("experiments")
def stop(experiment_id: int):
    try:
        lifecycle.stop_experiment(lifecycle.get_experiment(experiment_id), current_user.email)
        db.session.commit()
        flash("Stopped: no one new is assigned and agents no longer see the treatment.", "success")
    except DomainError as exc:
        db.session.rollback()
        flash(exc.detail, "error")
    return redirect(url_for(".show", experiment_id=experiment_id))


@bp.route("/new", methods=["GET", "POST"])
@page("experiments")
def new():
    form = request.form if request.method == "POST" else _defaults()
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            experiment, _ = lifecycle.create_experiment(ExperimentIn().load(form_payload(form)), current_user.email)
            db.session.commit()
            flash(f"Experiment “{experiment.name}” saved as a draft: start it when you are ready.", "success")
            return redirect(url_for(".show", experiment_id=experiment.id))
        except ValidationError as exc:
            errors = form_errors(exc.messages)
        except DomainError as exc:
            db.session.rollback()
            errors = form_errors(exc.errors or {"_form": [exc.detail]})
    segments = db.session.execute(select(Segment.id, Segment.name).order_by(Segment.name)).all()
    return render_template(
        "experiments/new.html", form=form, errors=errors, segments=segments, metrics=list(METRICS.values())
    ), (422 if errors else 200)


def _defaults() -> dict:
    ends = (datetime.now(UTC) + timedelta(days=60)).date().isoformat()
    return {"treatment_share": "50", "ends_on": ends, "window_days": "30", "min_sample": "100", "assign_existing": "on"}


def form_payload(form) -> dict:
    """The form's fields as the API's ExperimentIn body: a control and one treatment."""
    share = _number(form.get("treatment_share"))
    payload = {
        "name": (form.get("name") or "").strip(),
        "hypothesis": (form.get("hypothesis") or "").strip(),
        "segment_id": form.get("segment_id") or None,
        "variants": [
            {"name": "control", "share": 100 - share if share is not None else None},
            {"name": "treatment", "share": share, "action": (form.get("action") or "").strip() or None},
        ],
        "ends_at": _end_of(form.get("ends_on")),
        "primary_metric": form.get("primary_metric"),
        "guardrail_metrics": form.getlist("guardrail_metrics") if hasattr(form, "getlist") else [],
        "window_days": form.get("window_days"),
        "min_sample": form.get("min_sample"),
        "assign_existing": form.get("assign_existing") == "on",
    }
    if (form.get("webhook_url") or "").strip():
        payload["webhook"] = {"url": form["webhook_url"].strip()}
    return payload


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def _end_of(day: str | None) -> str | None:
    """The end of the given day (UTC) as the API's aware datetime; the schema names a bad or missing one."""
    try:
        return datetime.combine(datetime.fromisoformat(day).date(), time(23, 59, 59), UTC).isoformat()
    except (TypeError, ValueError):
        return day or None


def form_errors(messages: dict) -> dict[str, list[str]]:
    """The schema's errors keyed by the form's own fields (the variants' errors land on the treatment's)."""
    out: dict[str, list[str]] = {}
    rename = {"ends_at": "ends_on", "webhook": "webhook_url"}
    for key, value in messages.items():
        field = "treatment" if key == "variants" else rename.get(key, key)
        out.setdefault(field, []).extend(_flatten(value))
    return out


def _flatten(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [message for inner in value.values() for message in _flatten(inner)]
    return [message for inner in value for message in _flatten(inner)]
