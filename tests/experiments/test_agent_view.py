"""Treated customers show agents the experiment's action, named as its reason; control customers never do."""

from __future__ import annotations

from sqlalchemy import select

from crm.experiments.models import ExperimentAssignment
from crm.extensions import db
from tests.experiments import records
from tests.factories import auth, make_source, make_user
from tests.segments.builders import deliver, message

ACTION = "Call to check in and offer help"


def _experiment_actions(client, headers, customer_id: int) -> list[dict]:
    view = client.get(f"/api/v1/customers/{customer_id}/agent-view", headers=headers)
    assert view.status_code == 200, view.json
    return [a for a in view.json["actions"] if a["rule"] == "experiment_treatment" or a["title"] == ACTION]


def test_treated_customers_show_the_action_and_control_customers_never_do(app, client, run_jobs):
    agent = auth(make_user("agent")[1])
    source = make_source()
    segment = records.dynamic_segment({"condition": "profile", "field": "interaction_count", "op": "gte", "value": 1})
    exp = records.experiment(segment, start=True, name="Check-in call")
    deliver(client, source, run_jobs, *(message(f"person{i}@example.com") for i in range(24)))
    db.session.expire_all()
    assigned = dict(
        db.session.execute(
            select(ExperimentAssignment.customer_id, ExperimentAssignment.variant).where(
                ExperimentAssignment.experiment_id == exp.id
            )
        ).all()
    )
    assert len(assigned) == 24 and set(assigned.values()) == {"control", "treatment"}

    for customer_id, variant in assigned.items():
        shown = _experiment_actions(client, agent, customer_id)
        if variant == "control":
            assert shown == [], (customer_id, shown)
        else:
            assert [(a["title"], a["reason"], a["key"]) for a in shown] == [
                (ACTION, 'experiment "Check-in call", variant "treatment"', "experiment:Check-in call:treatment")
            ]


def test_stopping_the_experiment_takes_the_action_off_the_agent_view(app, client, run_jobs):
    agent, marketer = auth(make_user("agent")[1]), auth(make_user("marketer")[1])
    source = make_source()
    segment = records.dynamic_segment({"condition": "profile", "field": "interaction_count", "op": "gte", "value": 1})
    exp = records.experiment(segment, start=True, variants=[
        {"name": "control", "share": 1}, {"name": "treatment", "share": 99, "action": ACTION},
    ])  # fmt: skip
    deliver(client, source, run_jobs, *(message(f"who{i}@example.com") for i in range(6)))
    treated = [cid for cid, row in records.assignments(exp.id).items() if row.variant == "treatment"]
    assert treated
    assert _experiment_actions(client, agent, treated[0])  # and now it is in the cache
    assert client.post(f"/api/v1/experiments/{exp.id}/stop", headers=marketer).status_code == 200
    assert _experiment_actions(client, agent, treated[0]) == []


def test_an_agent_who_marks_the_action_done_does_not_see_it_again(app, client, run_jobs):
    agent = auth(make_user("agent")[1])
    source = make_source()
    segment = records.dynamic_segment({"condition": "profile", "field": "interaction_count", "op": "gte", "value": 1})
    exp = records.experiment(segment, start=True, name="Check-in call", variants=[
        {"name": "control", "share": 1}, {"name": "treatment", "share": 99, "action": ACTION},
    ])  # fmt: skip
    deliver(client, source, run_jobs, message("solo@example.com"), message("duo@example.com"))
    treated = next(cid for cid, row in records.assignments(exp.id).items() if row.variant == "treatment")
    (action,) = _experiment_actions(client, agent, treated)
    done = client.post(f"/api/v1/customers/{treated}/actions/{action['key']}/done", json={}, headers=agent)
    assert done.status_code == 201, done.json
    assert _experiment_actions(client, agent, treated) == []
