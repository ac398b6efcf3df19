"""The marketer's experiment pages: the list, a new experiment, and the variants side by side."""

from __future__ import annotations

import json
import random
import re
from datetime import timedelta
from html import unescape

import pytest

from crm.experiments.assignment import assign_members
from crm.experiments.models import Experiment
from crm.extensions import db
from tests.experiments import records
from tests.factories import make_source, make_user


def _log_in(client, role: str) -> None:
    user, _ = make_user(role, password="password123")
    response = client.post("/login", data={"email": user.email, "password": "password123"})
    assert response.status_code in (302, 303), response.data[:300]


@pytest.fixture
def marketer_client(app, client):
    _log_in(client, "marketer")
    return client


def _text(response) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def test_the_list_shows_each_experiment_with_its_status_and_assigned_count(app, marketer_client):
    segment = records.static_segment("Lapsed buyers")
    records.add_members(segment, records.customers(12))
    exp = records.experiment(segment, start=True, name="Winback discount")
    assign_members(exp.id)
    records.experiment(segment, name="Next idea")
    page = marketer_client.get("/experiments")
    assert page.status_code == 200
    text = _text(page)
    assert "Winback discount" in text and "Next idea" in text and "Lapsed buyers" in text
    assert re.search(r"Winback discount .* running 12 ", text)
    # The main navigation leads marketers here, and marks the page as the current one.
    assert '<a href="/experiments" aria-current="page">Experiments</a>' in page.get_data(as_text=True)


def test_an_experiment_page_shows_the_variants_side_by_side_with_the_verdict_and_the_chart(app, marketer_client):
    source = make_source(channel="store")
    segment = records.static_segment("At risk")
    records.add_members(segment, records.customers(400))
    exp = records.experiment(segment, start=True, name="Check-in call", min_sample=50)
    assign_members(exp.id)
    records.backdate(exp.id, days=30)
    rng = random.Random(4)
    rows = []
    for cid, a in records.assignments(exp.id).items():
        if rng.random() < (0.45 if a.variant == "treatment" else 0.15):
            rows.append({"customer_id": cid, "channel": "store", "type": "purchase",
                         "occurred_at": a.assigned_at + timedelta(days=1), "data": {"total": "40.00"}})  # fmt: skip
    records.history(source, rows)

    page = marketer_client.get(f"/experiments/{exp.id}")
    assert page.status_code == 200
    html, text = page.get_data(as_text=True), _text(page)
    assert "treatment wins on Conversion" in text
    header = re.search(r'<table id="variants">.*?</thead>', html, re.S).group(0)
    assert re.search(r"control.*control</span>.*treatment", _text_of(header))
    assert "Call to check in and offer help" in text and "nothing: the holdout" in text
    assert re.search(r"Conversion .*primary.* points \(95 % CI", text)
    assert "CSAT" in text and "guard-rail" in text
    series = json.loads(
        re.search(r'<script type="application/json" id="series-data">(.*?)</script>', html, re.S).group(1)
    )
    assert set(series["variants"]) == {"control", "treatment"} and series["dates"]
    assert "vendor/chartjs/chart.umd.min.js" in html and "results_chart.js" in html
    assert marketer_client.get("/experiments/static/results_chart.js").status_code == 200
    assert f'action="/experiments/{exp.id}/stop"' in html


def _text_of(fragment: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<(?!/span)[^>]+>", " ", fragment))


def _jobs_left(app) -> dict:
    """Where the queue's jobs are, for a failure message: queued, scheduled for a retry, failed (with why)."""
    from rq.job import Job
    from rq.registry import FailedJobRegistry, ScheduledJobRegistry

    from crm.jobs import queue

    q = queue()
    failed = Job.fetch_many(FailedJobRegistry(queue=q).get_job_ids(), connection=q.connection)
    return {
        "queued": q.count,
        "scheduled": ScheduledJobRegistry(queue=q).get_job_ids(),
        "failed": [(job.func_name, (job.exc_info or "")[-500:]) for job in failed if job],
    }


def test_a_marketer_creates_starts_and_stops_an_experiment_from_the_pages(app, marketer_client, run_jobs):
    segment = records.static_segment("Detractors")
    records.add_members(segment, records.customers(10))
    form = {
        "name": "Fast callback",
        "hypothesis": "Calling detractors back within a day lifts their NPS",
        "segment_id": str(segment.id),
        "action": "Call back within 24 hours",
        "treatment_share": "50",
        "ends_on": (records.now() + timedelta(days=30)).date().isoformat(),
        "window_days": "14",
        "min_sample": "100",
        "primary_metric": "nps",
        "guardrail_metrics": ["churn"],
        "assign_existing": "on",
    }
    saved = marketer_client.post("/experiments/new", data=form)
    assert saved.status_code == 302
    db.session.expire_all()
    exp = db.session.query(Experiment).filter_by(name="Fast callback").one()
    assert (exp.status, exp.primary_metric, exp.guardrail_metrics) == ("draft", "nps", ["churn"])
    assert exp.variants[1] == {
        "name": "treatment",
        "share": 50.0,
        "control": False,
        "action": "Call back within 24 hours",
    }
    assert exp.ends_at.date().isoformat() == form["ends_on"]
    started = marketer_client.post(f"/experiments/{exp.id}/start", follow_redirects=True)
    assert "Started: the segment's members are being assigned." in _text(started), _text(started)
    run_jobs()
    assigned = records.assignments(exp.id)
    assert len(assigned) == 10, _jobs_left(app) if app.config.get("REDIS_URL") else {}
    again = marketer_client.post(f"/experiments/{exp.id}/start", follow_redirects=True)
    assert "only a draft can be started" in _text(again)
    stopped = marketer_client.post(f"/experiments/{exp.id}/stop", follow_redirects=True)
    assert "Stopped" in _text(stopped)


def test_a_form_with_mistakes_comes_back_naming_each_one(app, marketer_client):
    segment = records.static_segment()
    form = {"name": "", "hypothesis": "x", "segment_id": str(segment.id), "action": "", "treatment_share": "50",
            "ends_on": "2020-01-01", "window_days": "0", "min_sample": "100", "primary_metric": "conversion"}  # fmt: skip
    page = marketer_client.post("/experiments/new", data=form)
    assert page.status_code == 422
    text = _text(page)
    assert "would get no treatment" in text
    assert "the end must be in the future" in text
    assert "greater than or equal to 1" in text
    assert 'aria-invalid="true"' in page.get_data(as_text=True)


def test_agents_cannot_open_the_experiment_pages(app, client):
    _log_in(client, "agent")
    assert client.get("/experiments").status_code == 403
    assert ">Experiments</a>" not in client.get("/").get_data(as_text=True)


def test_an_unknown_experiment_page_is_a_404_page(app, marketer_client):
    assert marketer_client.get("/experiments/999").status_code == 404
