"""The agent view: profile, first timeline page, context, actions and recommendations in one call, cached."""

from __future__ import annotations

import pytest

from crm.extensions import db
from tests.factories import auth, make_user

from .feed import ago, customer_id_of, deliver, message, purchase, settle, survey

ANN = {"email": "ann@example.com", "name": "Ann Lee", "attributes": {"first_name": "Ann", "last_name": "Lee"}}


@pytest.fixture
def agent(app):
    return make_user("agent")[1]


def _shop_history() -> None:
    """Three customers bought a tent with pegs; Ann bought a tent, complained, and scored 2."""
    for n in range(3):
        who = {"email": f"camper{n}@example.com"}
        deliver("store", purchase(who, ago(60), "TENT"), purchase(who, ago(50), "PEGS"))
    deliver("store", purchase(ANN, ago(40), "TENT"))
    deliver("email", message(ANN, ago(3), "The tent leaks badly, I am very disappointed", thread="leak"))
    deliver("email", survey(ANN, ago(2), "nps", 2, "Poor quality tent"))
    settle()


def _view(client, token, customer_id, **params):
    return client.get(f"/api/v1/customers/{customer_id}/agent-view", headers=auth(token), query_string=params)


def test_one_call_gives_profile_timeline_context_actions_and_recommendations(app, client, agent):
    _shop_history()
    ann = customer_id_of("ann@example.com")
    response = _view(client, agent, ann)
    assert response.status_code == 200, response.json
    view = response.json
    assert view["profile"]["display_name"] == "Ann Lee"
    assert view["profile"]["attributes"]["first_name"]["value"] == "Ann"
    assert [i["type"] for i in view["timeline"]["items"]] == ["survey", "message", "purchase"]
    context = view["context"]
    assert context["summary"].startswith("Ann Lee, a bronze customer")
    assert "1 open case" in context["summary"]
    assert context["journey"]["stage"] == "at risk" and context["journey"]["reason"].startswith("at risk: ")
    assert context["churn"]["risk"] >= 0.7
    assert any(f["factor"] == "detractor" for f in context["churn"]["factors"])
    assert context["value"]["historical_base"] == "10.00" and context["value"]["method"]
    assert context["sentiment"]["recent"] < 0
    assert {t["topic"] for t in context["pain_points"]} >= {"product quality"}
    callback = next(a for a in view["actions"] if a["rule"] == "detractor_callback")
    assert callback["reason"].startswith("detractor: NPS 2")
    assert callback["key"].startswith("callback:nps:")
    assert view["recommendations"][0]["sku"] == "PEGS"
    assert view["recommendations"][0]["reason"] == "bought together with Tent by 3 customers"
    assert all(r["sku"] != "TENT" for r in view["recommendations"])


def test_the_second_view_of_an_unchanged_customer_comes_from_the_cache(app, client, agent):
    _shop_history()
    ann = customer_id_of("ann@example.com")
    first = _view(client, agent, ann)
    second = _view(client, agent, ann)
    assert (first.headers["X-Cache"], second.headers["X-Cache"]) == ("miss", "hit")
    assert first.json == second.json


def test_a_new_interaction_gives_a_fresh_view(app, client, agent):
    _shop_history()
    ann = customer_id_of("ann@example.com")
    before = _view(client, agent, ann).json
    deliver("store", purchase(ANN, ago(0, hours=1), "PEGS"))
    after = _view(client, agent, ann)
    assert after.headers["X-Cache"] == "miss"
    assert after.json["version"] > before["version"]
    assert after.json["timeline"]["items"][0]["type"] == "purchase"
    assert "PEGS" not in [r["sku"] for r in after.json["recommendations"]]


def test_the_timeline_page_size_is_a_parameter_with_a_cursor_to_continue(app, client, agent):
    _shop_history()
    ann = customer_id_of("ann@example.com")
    view = _view(client, agent, ann, timeline_limit=1).json
    assert len(view["timeline"]["items"]) == 1 and view["timeline"]["next_cursor"]
    bad = _view(client, agent, ann, timeline_limit=0)
    assert bad.status_code == 422 and "timeline_limit" in bad.json["errors"]


def test_an_unknown_customer_is_a_404_and_the_view_needs_a_token(app, client, agent):
    assert _view(client, agent, 999_999).status_code == 404
    assert client.get("/api/v1/customers/1/agent-view").status_code == 401


def test_every_role_that_reads_customers_may_open_the_view(app, client):
    deliver("email", message(ANN, ago(1), "Hello"))
    _, marketer = make_user("marketer")
    assert _view(client, marketer, customer_id_of("ann@example.com")).status_code == 200


def test_the_openapi_document_describes_the_agent_view_and_actions(client):
    from openapi_spec_validator import validate

    spec = client.get("/api/v1/openapi.json").json
    validate(spec)
    view = spec["paths"]["/customers/{customer_id}/agent-view"]["get"]
    assert "Permission: `customers:read`" in view["description"]
    done = spec["paths"]["/customers/{customer_id}/actions/{key}/done"]["post"]
    assert done["requestBody"]["required"] is False
    schemas = spec["components"]["schemas"]
    assert {"AgentViewOut", "ContextOut", "ActionOut", "RecommendationOut"} <= set(schemas)


def test_a_customer_without_history_still_gets_a_view(app, client, agent):
    from crm.profiles.models import Customer

    customer = Customer(display_name="Nobody Yet")
    db.session.add(customer)
    db.session.commit()
    view = _view(client, agent, customer.id).json
    assert view["actions"] == [] and view["timeline"]["items"] == []
    assert "no interactions yet" in view["context"]["summary"]
