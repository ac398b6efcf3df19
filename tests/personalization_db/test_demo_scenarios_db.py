"""Scenarios on the demo data set (crm.demo): what an agent and a marketer see for real-looking customers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from crm.extensions import db
from crm.profiles.models import Customer, Interaction
from tests.factories import auth, make_user

from .feed import settle

COUNT, SEED = 40, 7
SINCE = (datetime.now(UTC) - timedelta(days=400)).date().isoformat()  # the demo spans about a year


def _seed() -> None:
    from crm.demo.cli import seed

    seed(COUNT, SEED, progress=False)
    settle()


def _view(client, token, customer_id) -> dict:
    response = client.get(f"/api/v1/customers/{customer_id}/agent-view", headers=auth(token))
    assert response.status_code == 200, response.json
    return response.json


def _bought(customer_id: int) -> set[str]:
    rows = db.session.scalars(
        select(Interaction.data).where(Interaction.customer_id == customer_id, Interaction.type == "purchase")
    )
    return {str(item["sku"]) for data in rows for item in (data or {}).get("items") or [] if item.get("sku")}


def test_demo_customers_get_views_whose_every_action_and_recommendation_says_why(app, client):
    _seed()
    _, agent = make_user("agent")
    customers = list(db.session.scalars(select(Customer).where(Customer.status == "active").order_by(Customer.id)))
    assert len(customers) >= COUNT * 0.8
    detractors = recommended = 0
    for customer in customers:
        view = _view(client, agent, customer.id)
        owned = _bought(customer.id)
        picks = view["recommendations"]
        assert picks, f"customer {customer.id} got no recommendation"
        assert not owned & {p["sku"] for p in picks}, "a recommendation they already bought"
        assert all(p["reason"] for p in picks) and all(a["reason"] for a in view["actions"])
        recommended += any(p["source"] == "bought_together" for p in picks)
        # The stage the pipeline stored is the one the view computes.
        assert view["context"]["journey"]["stage"] == customer.journey_stage
        assert view["profile"]["churn_risk"] == customer.churn_risk
        if customer.nps_score is not None and customer.nps_score <= 6:
            detractors += 1
            callback = [a for a in view["actions"] if a["rule"] == "detractor_callback"]
            assert callback, f"detractor {customer.id} has no callback"
            assert callback[0]["reason"].startswith(f"detractor: NPS {customer.nps_score}")
    assert detractors >= 1 and recommended >= len(customers) // 3


def test_a_demo_detractor_called_back_drops_the_callback(app, client):
    _seed()
    _, agent = make_user("agent")
    detractor = db.session.scalar(
        select(Customer).where(Customer.nps_score <= 6, Customer.status == "active").order_by(Customer.id)
    )
    key = next(a["key"] for a in _view(client, agent, detractor.id)["actions"] if a["rule"] == "detractor_callback")
    done = client.post(f"/api/v1/customers/{detractor.id}/actions/{key}/done", headers=auth(agent))
    assert done.status_code == 201
    assert key not in [a["key"] for a in _view(client, agent, detractor.id)["actions"]]


def test_demo_nps_on_the_dashboard_matches_the_generated_surveys(app, client):
    from crm.demo.generate import generate

    _seed()
    _, marketer = make_user("marketer")
    scores = [
        item["data"]["score"]
        for _, item in generate(COUNT, SEED)
        if item["type"] == "survey" and item["data"]["kind"] == "nps"
    ]
    response = client.get(
        "/api/v1/metrics",
        headers=auth(marketer),
        query_string={"metric": "nps,average_cltv", "by": "channel", "since": SINCE},
    )
    overall = response.json["overall"]["nps"]
    promoters, detractors = sum(s >= 9 for s in scores), sum(s <= 6 for s in scores)
    assert (overall["responses"], overall["promoters"], overall["detractors"]) == (len(scores), promoters, detractors)
    assert [g["key"] for g in response.json["by_channel"]] == ["chat", "email", "phone", "store"]
