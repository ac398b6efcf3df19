"""`flask experiments ...`: a table a person can read, and errors without tracebacks."""

from __future__ import annotations

import random
from datetime import timedelta

from crm.experiments.assignment import assign_members
from tests.experiments import records
from tests.factories import make_source


def _run(app, *args):
    return app.test_cli_runner().invoke(args=["experiments", *args])


def test_results_print_the_variants_side_by_side_and_the_verdict(app):
    source = make_source(channel="store")
    segment = records.static_segment("Detractors")
    records.add_members(segment, records.customers(600))
    exp = records.experiment(segment, start=True, name="Fast callback", min_sample=50)
    assign_members(exp.id)
    records.backdate(exp.id, days=20)
    rng = random.Random(2)
    rows = [
        {"customer_id": cid, "channel": "store", "type": "purchase", "occurred_at": a.assigned_at + timedelta(days=2),
         "data": {"total": "25.00"}}
        for cid, a in records.assignments(exp.id).items()
        if rng.random() < (0.5 if a.variant == "treatment" else 0.2)
    ]  # fmt: skip
    records.history(source, rows)

    result = _run(app, "results", str(exp.id))
    assert result.exit_code == 0, result.output
    out = result.output
    assert f'Experiment {exp.id} "Fast callback" — running, segment Detractors' in out
    assert "Conversion (primary, higher is better)" in out
    assert "CSAT (guardrail, higher is better)" in out
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("variant") and "vs control" in line)
    control, treatment = lines[header + 2], lines[header + 3]
    assert control.startswith("control") and "(control)" in control
    assert treatment.startswith("treatment") and "points (95 % CI" in treatment and "better" in treatment
    assert "Verdict: treatment wins on Conversion" in out


def test_results_of_an_unknown_experiment_say_so_without_a_traceback(app):
    result = _run(app, "results", "999")
    assert result.exit_code == 1
    assert "no experiment 999" in result.output and "Traceback" not in result.output
    assert _run(app, "results", "abc").exit_code == 2


def test_list_and_assign_by_hand(app):
    segment = records.static_segment("Winback")
    records.add_members(segment, records.customers(25))
    draft = records.experiment(segment, name="Draft one")
    running = records.experiment(segment, start=True, name="Running one")
    listed = _run(app, "list").output
    assert "Draft one" in listed and "Running one" in listed and "Winback" in listed
    assert "Draft one" not in _run(app, "list", "--status", "running").output
    assigned = _run(app, "assign", str(running.id))
    assert assigned.exit_code == 0 and "assigned 25 customers" in assigned.output
    refused = _run(app, "assign", str(draft.id))
    assert refused.exit_code == 1 and "is draft and not assigning" in refused.output
