"""Agents mark next best actions done or dismiss them: recorded, audited, and the action never comes back."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.audit import AuditEvent
from crm.extensions import db
from crm.personalization.models import ActionFeedback
from tests.factories import auth, make_user

from .feed import ago, customer_id_of, deliver, survey

ANN = {"email": "ann@example.com", "name": "Ann Lee"}


@pytest.fixture
def agent(app):
    return make_user("agent", email="alex@agents.example")[1]


def _detractor() -> tuple[int, str]:
    deliver("email", survey(ANN, ago(2), "nps", 3, "Slow delivery"))
    ann = customer_id_of("ann@example.com")
    return ann, f"callback:nps:{_survey_id(ann)}"


def _survey_id(customer_id: int) -> int:
    from crm.profiles.models import Interaction

    return db.session.scalar(select(Interaction.id).where(Interaction.customer_id == customer_id))


def _actions(client, token, customer_id) -> list[str]:
    response = client.get(f"/api/v1/customers/{customer_id}/agent-view", headers=auth(token))
    assert response.status_code == 200, response.json
    return [a["key"] for a in response.json["actions"]]


def _post(client, token, customer_id, key, verb, **kwargs):
    return client.post(f"/api/v1/customers/{customer_id}/actions/{key}/{verb}", headers=auth(token), **kwargs)


def test_a_done_action_is_recorded_with_who_when_and_note_and_never_comes_back(app, client, agent):
    ann, key = _detractor()
    assert key in _actions(client, agent, ann)
    response = _post(client, agent, ann, key, "done", json={"note": "Called her, refund agreed"})
    assert response.status_code == 201, response.json
    assert response.json["key"] == key and response.json["status"] == "done"
    assert response.json["actor"] == "alex@agents.example" and response.json["note"] == "Called her, refund agreed"
    db.session.expire_all()
    row = db.session.scalar(select(ActionFeedback))
    assert (row.customer_id, row.action_key, row.status, row.actor) == (ann, key, "done", "alex@agents.example")
    assert key not in _actions(client, agent, ann)
    # A later interaction changes the customer, and still the closed action stays closed.
    deliver("email", {**survey(ANN, ago(1), "csat", 2), "external_id": "later"})
    assert key not in _actions(client, agent, ann)


def test_closing_an_action_is_audited_without_the_note(app, client, agent):
    ann, key = _detractor()
    _post(client, agent, ann, key, "dismiss", json={"note": "Ann's phone is 555-0100"})
    db.session.expire_all()
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "action_dismissed"))
    assert (event.actor, event.target_type, event.target_id) == ("alex@agents.example", "customer", str(ann))
    assert event.details == {"action_key": key}


def test_a_body_is_optional_and_a_repeat_is_harmless(app, client, agent):
    ann, key = _detractor()
    first = _post(client, agent, ann, key, "dismiss")
    assert first.status_code == 201 and first.json["note"] is None
    again = _post(client, agent, ann, key, "dismiss")
    assert again.status_code == 200 and again.json["at"] == first.json["at"]
    db.session.expire_all()
    assert len(db.session.scalars(select(ActionFeedback)).all()) == 1


def test_marking_done_an_action_dismissed_already_is_a_conflict(app, client, agent):
    ann, key = _detractor()
    _post(client, agent, ann, key, "dismiss")
    response = _post(client, agent, ann, key, "done")
    assert response.status_code == 409
    assert "marked dismissed by alex@agents.example" in response.json["detail"]


def test_closing_an_action_gives_a_fresh_agent_view(app, client, agent):
    ann, key = _detractor()
    first = client.get(f"/api/v1/customers/{ann}/agent-view", headers=auth(agent))
    _post(client, agent, ann, key, "done")
    second = client.get(f"/api/v1/customers/{ann}/agent-view", headers=auth(agent))
    assert second.headers["X-Cache"] == "miss" and second.json["version"] == first.json["version"] + 1


def test_bad_requests_get_clear_answers(app, client, agent):
    ann, key = _detractor()
    bad_key = _post(client, agent, ann, "launch:rockets", "done")
    assert bad_key.status_code == 422 and "not a next best action key" in bad_key.json["detail"]
    assert _post(client, agent, 999_999, key, "done").status_code == 404
    long_note = _post(client, agent, ann, key, "done", json={"note": "x" * 2001})
    assert long_note.status_code == 422 and "note" in long_note.json["errors"]
    not_json = _post(client, agent, ann, key, "done", data="nope", content_type="application/json")
    assert not_json.status_code == 400


def test_offer_keys_with_slashes_in_the_sku_are_accepted(app, client, agent):
    ann, _ = _detractor()
    response = _post(client, agent, ann, "offer:sku:BAG/20L", "dismiss")
    assert response.status_code == 201 and response.json["key"] == "offer:sku:BAG/20L"


def test_only_roles_that_act_on_customers_may_close_actions(app, client):
    ann, key = _detractor()
    _, marketer = make_user("marketer")
    response = _post(client, marketer, ann, key, "done")
    assert response.status_code == 403 and "needs actions" in response.json["detail"]
    assert _post(client, "crm_no", ann, key, "done").status_code == 401


def test_ids_past_64_bits_name_nobody(app, client, agent):
    huge = 32589158477190044730
    assert client.get(f"/api/v1/customers/{huge}/agent-view", headers=auth(agent)).status_code == 404
    assert _post(client, agent, huge, "offer:sku:X", "done").status_code == 404
    metrics = client.get("/api/v1/metrics", headers=auth(agent), query_string={"segment": huge})
    assert metrics.status_code == 422 and "segment" in metrics.json["errors"]
