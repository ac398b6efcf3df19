"""The segments API as a marketer uses it: preview while editing, save, browse members and history,
export, and the mistakes it refuses. Runs in both modes (Elasticsearch preview in full mode)."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.profiles.models import Customer, Identifier
from crm.segments.models import Segment, SegmentEvent
from tests.conftest import MODE
from tests.factories import auth, make_source, make_user
from tests.segments.builders import deliver, message, order, survey

BIG_SPENDERS = {"condition": "spend", "within_days": 30, "op": "gte", "value": 100}


def customer_id(email: str) -> int:
    db.session.expire_all()
    return db.session.scalar(
        select(Identifier.customer_id).where(Identifier.kind == "email", Identifier.value == email)
    )


@pytest.fixture
def shop(client, run_jobs):
    """Three customers: ann spent 150 this month, bob 40, cat only wrote in and is a detractor."""
    store, mail = make_source(channel="store"), make_source(channel="email")
    deliver(client, store, run_jobs, order("ann@example.com", "150.00", days=3), order("bob@example.com", "40.00"))
    deliver(client, mail, run_jobs, message("cat@example.com", 2), survey("cat@example.com", "nps", 3))
    return {"store": store, "mail": mail}


@pytest.fixture
def marketer(app):
    _, token = make_user("marketer")
    return auth(token)


def save(client, headers, run_jobs, **body) -> dict:
    response = client.post("/api/v1/segments", json=body, headers=headers)
    assert response.status_code == 201, response.json
    run_jobs()
    return client.get(f"/api/v1/segments/{response.json['id']}", headers=headers).json


def test_preview_shows_the_count_the_first_members_and_a_breakdown(client, shop, marketer):
    response = client.post("/api/v1/segments/preview", json={"rule": BIG_SPENDERS}, headers=marketer)
    assert response.status_code == 200, response.json
    body = response.json
    assert body["backend"] == ("elasticsearch" if MODE == "full" else "sql")
    assert body["count"] == 1
    assert [m["email"] for m in body["members"]] == ["ann@example.com"]
    assert body["breakdown"]["channel"] == {"store": 1}
    assert sum(body["breakdown"]["journey_stage"].values()) == 1
    anyone = client.post(
        "/api/v1/segments/preview",
        json={"rule": {"any": [BIG_SPENDERS, {"condition": "nps", "category": "detractor"}]}},
        headers=marketer,
    ).json
    assert anyone["count"] == 2
    assert {m["email"] for m in anyone["members"]} == {"ann@example.com", "cat@example.com"}
    assert anyone["breakdown"]["channel"] == {"store": 1, "email": 1}


def test_a_bad_rule_is_refused_naming_the_node(client, app, marketer):
    rule = {"all": [BIG_SPENDERS, {"condition": "interactions", "op": "at_least", "value": 2}]}
    response = client.post("/api/v1/segments/preview", json={"rule": rule}, headers=marketer)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert list(response.json["errors"]["rule"]) == ["$.all[1].op"]
    missing = client.post(
        "/api/v1/segments/preview", json={"rule": {"condition": "segment", "segment_id": 99}}, headers=marketer
    )
    assert missing.json["errors"]["rule"] == {"$.segment_id": ["no segment 99"]}


def test_an_agent_may_preview_and_read_but_not_save(client, app, marketer):
    _, token = make_user("agent")
    agent = auth(token)
    assert client.post("/api/v1/segments/preview", json={"rule": BIG_SPENDERS}, headers=agent).status_code == 200
    refused = client.post("/api/v1/segments", json={"name": "x", "rule": BIG_SPENDERS}, headers=agent)
    assert refused.status_code == 403
    assert "segments:write" in refused.json["detail"]
    assert client.get("/api/v1/segments").status_code == 401


def test_a_saved_segment_lists_its_members_page_by_page(client, shop, marketer, run_jobs):
    segment = save(client, marketer, run_jobs, name="Anyone who bought", rule={"condition": "bought", "sku": "SKU-1"})
    assert segment["status"] == "ready"
    assert segment["member_count"] == 2
    first = client.get(f"/api/v1/segments/{segment['id']}/members?limit=1", headers=marketer).json
    assert [m["email"] for m in first["items"]] == ["ann@example.com"]
    assert first["items"][0]["entered_at"]
    second = client.get(
        f"/api/v1/segments/{segment['id']}/members?limit=1&cursor={first['next_cursor']}", headers=marketer
    ).json
    assert [m["email"] for m in second["items"]] == ["bob@example.com"]
    assert second["next_cursor"] is None
    bad = client.get(f"/api/v1/segments/{segment['id']}/members?cursor=nonsense", headers=marketer)
    assert bad.status_code == 422
    listed = client.get("/api/v1/segments", headers=marketer).json
    assert [s["name"] for s in listed["items"]] == ["Anyone who bought"]


def test_changing_the_rule_records_who_left_and_who_entered(client, shop, marketer, run_jobs):
    segment = save(client, marketer, run_jobs, name="Big spenders", rule=BIG_SPENDERS)
    response = client.patch(
        f"/api/v1/segments/{segment['id']}",
        json={"rule": {**BIG_SPENDERS, "value": 30}, "description": "over 30"},
        headers=marketer,
    )
    assert response.status_code == 200, response.json
    run_jobs()
    events = client.get(f"/api/v1/segments/{segment['id']}/events", headers=marketer).json["items"]
    assert [(e["event"], e["customer_id"]) for e in events] == [
        ("enter", customer_id("bob@example.com")),
        ("enter", customer_id("ann@example.com")),
    ]
    client.patch(f"/api/v1/segments/{segment['id']}", json={"rule": {**BIG_SPENDERS, "value": 120}}, headers=marketer)
    run_jobs()
    latest = client.get(f"/api/v1/segments/{segment['id']}/events?limit=1", headers=marketer).json["items"][0]
    assert (latest["event"], latest["customer_id"]) == ("leave", customer_id("bob@example.com"))
    assert client.get(f"/api/v1/segments/{segment['id']}", headers=marketer).json["member_count"] == 1


def test_names_are_unique_and_cycles_are_refused(client, shop, marketer, run_jobs):
    first = save(client, marketer, run_jobs, name="Spenders", rule=BIG_SPENDERS)
    clash = client.post("/api/v1/segments", json={"name": "Spenders", "rule": BIG_SPENDERS}, headers=marketer)
    assert clash.status_code == 409
    second = save(
        client,
        marketer,
        run_jobs,
        name="Spenders who wrote",
        rule={"all": [{"condition": "segment", "segment_id": first["id"]}]},
    )
    cycle = client.patch(
        f"/api/v1/segments/{first['id']}",
        json={"rule": {"any": [BIG_SPENDERS, {"condition": "segment", "segment_id": second["id"]}]}},
        headers=marketer,
    )
    assert cycle.status_code == 422
    (message_,) = cycle.json["errors"]["rule"]["$.any[1].segment_id"]
    assert "a cycle" in message_ and f"{first['id']} → {second['id']} → {first['id']}" in message_
    refused = client.delete(f"/api/v1/segments/{first['id']}", headers=marketer)
    assert refused.status_code == 409
    assert "Spenders who wrote" in refused.json["detail"]
    assert client.delete(f"/api/v1/segments/{second['id']}", headers=marketer).status_code == 204
    assert client.delete(f"/api/v1/segments/{first['id']}", headers=marketer).status_code == 204
    assert client.get(f"/api/v1/segments/{first['id']}", headers=marketer).status_code == 404


def test_members_export_as_csv_streamed(client, shop, marketer, run_jobs):
    segment = save(client, marketer, run_jobs, name="Buyers", rule={"condition": "bought", "category": "shoes"})
    response = client.get(f"/api/v1/segments/{segment['id']}/members.csv", headers=marketer)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["email"] for r in rows] == ["ann@example.com", "bob@example.com"]
    assert rows[0]["ltv_amount"] == "150.0"


def test_a_large_export_runs_as_a_job_with_progress(client, app, shop, marketer, run_jobs):
    segment = save(client, marketer, run_jobs, name="Buyers", rule={"condition": "bought", "category": "shoes"})
    limit = app.config.get("SEGMENT_EXPORT_STREAM_MAX", 10_000)
    app.config["SEGMENT_EXPORT_STREAM_MAX"] = 1
    try:
        response = client.get(f"/api/v1/segments/{segment['id']}/members.csv", headers=marketer)
    finally:
        app.config["SEGMENT_EXPORT_STREAM_MAX"] = limit
    assert response.status_code == 202, response.json
    assert response.json["total"] == 2
    run_jobs()
    status = client.get(response.json["status_url"], headers=marketer).json
    assert (status["status"], status["done"], status["progress"]) == ("done", 2, 1.0)
    download = client.get(status["download_url"], headers=marketer)
    assert download.mimetype == "text/csv"
    assert download.get_data(as_text=True).count("\n") == 3


def test_static_segment_keeps_its_snapshot_while_dynamic_follows(client, shop, marketer, run_jobs):
    rule = BIG_SPENDERS
    static = save(client, marketer, run_jobs, name="Spenders on day one", kind="static", rule=rule)
    dynamic = save(client, marketer, run_jobs, name="Spenders now", rule=rule)
    deliver(client, shop["store"], run_jobs, order("bob@example.com", "70.00"))
    assert client.get(f"/api/v1/segments/{static['id']}", headers=marketer).json["member_count"] == 1
    assert client.get(f"/api/v1/segments/{dynamic['id']}", headers=marketer).json["member_count"] == 2
    bob = customer_id("bob@example.com")
    (entered,) = db.session.scalars(
        select(SegmentEvent).where(SegmentEvent.segment_id == dynamic["id"], SegmentEvent.customer_id == bob)
    )
    assert entered.event == "enter" and entered.interaction_id is not None
    assert db.session.get(Segment, dynamic["id"]).refreshed_at is not None
    assert db.session.get(Customer, bob).status == "active"


def test_the_openapi_document_describes_the_segment_operations(client, app):
    spec = client.get("/api/v1/openapi.json").json
    assert {"post", "get"} <= set(spec["paths"]["/segments"])
    assert "requestBody" in spec["paths"]["/segments/preview"]["post"]
    assert set(spec["paths"]["/segments/{segment_id}"]) == {"get", "patch", "delete"}
    assert "segments:write" in spec["paths"]["/segments"]["post"]["description"]
