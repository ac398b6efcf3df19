"""The experiments API: what a marketer sends, what comes back, and the results through the database."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from crm.experiments.assignment import assign_members
from crm.extensions import db
from tests.experiments import records
from tests.factories import auth, make_source, make_user


@pytest.fixture
def marketer(app):
    return auth(make_user("marketer")[1])


def _create(client, headers, segment, **overrides):
    return client.post("/api/v1/experiments", json=records.payload(segment, **overrides), headers=headers)


def test_a_marketer_creates_starts_and_stops_an_experiment(app, client, run_jobs, marketer):
    segment = records.static_segment("At risk")
    records.add_members(segment, records.customers(40))
    created = _create(client, marketer, segment, name="Check-in call")
    assert created.status_code == 201, created.json
    body = created.json
    assert (body["status"], body["running"], body["segment"]) == ("draft", False, {"id": segment.id, "name": "At risk"})
    assert [(v["name"], v["control"], v["assigned"]) for v in body["variants"]] == [
        ("control", True, 0),
        ("treatment", False, 0),
    ]
    started = client.post(f"/api/v1/experiments/{body['id']}/start", headers=marketer)
    assert started.status_code == 200 and started.json["running"] is True
    run_jobs()
    shown = client.get(f"/api/v1/experiments/{body['id']}", headers=marketer).json
    assert sum(v["assigned"] for v in shown["variants"]) == 40
    again = client.post(f"/api/v1/experiments/{body['id']}/start", headers=marketer)
    assert again.status_code == 409 and "only a draft can be started" in again.json["detail"]
    stopped = client.post(f"/api/v1/experiments/{body['id']}/stop", headers=marketer)
    assert stopped.status_code == 200 and stopped.json["status"] == "stopped" and not stopped.json["running"]
    assert client.post(f"/api/v1/experiments/{body['id']}/stop", headers=marketer).status_code == 409


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        (
            {"variants": [{"name": "control", "share": 60}, {"name": "b", "share": 30, "action": "x"}]},
            "variants",
            "sum to 100",
        ),
        (
            {"variants": [{"name": "a", "share": 50, "control": True}, {"name": "control", "share": 50}]},
            "variants",
            "exactly one",
        ),
        (
            {
                "variants": [
                    {"name": "control", "share": 50, "action": "Call"},
                    {"name": "b", "share": 50, "action": "x"},
                ]
            },
            "variants",
            "gets no treatment",
        ),
        (
            {"variants": [{"name": "control", "share": 50}, {"name": "b", "share": 50}]},
            "variants",
            "would get no treatment",
        ),
        ({"variants": [{"name": "control", "share": 100}]}, "variants", "Length"),
        (
            {"variants": [{"name": "Control!", "share": 50}, {"name": "b", "share": 50, "action": "x"}]},
            "variants",
            "lower-case",
        ),
        ({"guardrail_metrics": ["conversion"]}, "guardrail_metrics", "cannot also be a guard-rail"),
        ({"primary_metric": "happiness"}, "primary_metric", "Must be one of"),
        ({"ends_at": "2020-01-01T00:00:00+00:00"}, "ends_at", "in the future"),
        ({"ends_at": "2030-01-01T00:00:00"}, "ends_at", "time zone"),
        ({"name": "a:b"}, "name", "may not contain"),
        ({"window_days": 0}, "window_days", "greater than or equal"),
        ({"segment_id": 987654}, "segment_id", "no segment"),
        ({"colour": "blue"}, "colour", "Unknown field"),
    ],
)
def test_an_unsound_experiment_is_refused_naming_the_field(app, client, marketer, overrides, field, words):
    segment = records.static_segment()
    response = _create(client, marketer, segment, **overrides)
    assert response.status_code == 422, response.json
    assert response.mimetype == "application/problem+json"
    assert words.lower() in str(response.json["errors"][field]).lower(), response.json["errors"]


def test_a_second_experiment_with_the_same_name_is_a_conflict(app, client, marketer):
    segment = records.static_segment()
    assert _create(client, marketer, segment, name="Winback").status_code == 201
    again = _create(client, marketer, segment, name="Winback")
    assert again.status_code == 409 and "exists already" in again.json["detail"]


def test_agents_may_not_run_experiments_and_strangers_must_log_in(app, client):
    segment = records.static_segment()
    agent = auth(make_user("agent")[1])
    assert _create(client, agent, segment).status_code == 403
    assert client.get("/api/v1/experiments", headers=agent).status_code == 403
    assert client.get("/api/v1/experiments").status_code == 401


def test_an_unknown_experiment_is_not_found(app, client, marketer):
    for path in ("", "/results", "/assignments"):
        response = client.get(f"/api/v1/experiments/4242{path}", headers=marketer)
        assert response.status_code == 404 and response.json["detail"] == "no experiment 4242"
    assert client.post("/api/v1/experiments/4242/start", headers=marketer).status_code == 404


def test_experiments_and_assignments_come_in_pages(app, client, marketer):
    segment = records.static_segment()
    records.add_members(segment, records.customers(7))
    ids = [_create(client, marketer, segment).json["id"] for _ in range(3)]
    first = client.get("/api/v1/experiments?limit=2", headers=marketer).json
    assert [e["id"] for e in first["items"]] == ids[::-1][:2]
    rest = client.get(f"/api/v1/experiments?limit=2&cursor={first['next_cursor']}", headers=marketer).json
    assert [e["id"] for e in rest["items"]] == [ids[0]] and rest["next_cursor"] is None
    assert client.get("/api/v1/experiments?status=running", headers=marketer).json["items"] == []
    client.post(f"/api/v1/experiments/{ids[0]}/start", headers=marketer)
    assign_members(ids[0])
    seen, cursor = [], None
    while True:
        page = client.get(
            f"/api/v1/experiments/{ids[0]}/assignments?limit=3" + (f"&cursor={cursor}" if cursor else ""),
            headers=marketer,
        ).json
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 7 and all(0 <= a["bucket"] < 1 and a["cause"] == "sweep" for a in seen)
    only = client.get(f"/api/v1/experiments/{ids[0]}/assignments?variant=control", headers=marketer).json["items"]
    assert {a["variant"] for a in only} <= {"control"}
    assert client.get("/api/v1/experiments?limit=0", headers=marketer).status_code == 422


def _generate_purchases(experiment_id: int, rates: dict[str, float], seed: int) -> dict[str, list[int]]:
    """A purchase 3 days after assignment with each variant's probability, plus purchases that must not count
    (before the assignment, after the window). Returns the converted customer ids per variant."""
    rng = random.Random(seed)
    assigned = records.assignments(experiment_id)
    rows, converted = [], {name: [] for name in rates}
    for customer_id, a in assigned.items():

        def purchase(days: float, cid=customer_id, at=a.assigned_at) -> dict:
            total = f"{rng.uniform(10, 90):.2f}"
            return {"customer_id": cid, "channel": "store", "type": "purchase", "occurred_at": at + timedelta(days=days),
                    "data": {"total": total, "currency": "USD"}}  # fmt: skip

        if rng.random() < rates[a.variant]:
            rows.append(purchase(3))
            converted[a.variant].append(customer_id)
        if rng.random() < 0.3:
            rows.append(purchase(-5))  # before the assignment
        if rng.random() < 0.3:
            rows.append(purchase(16))  # after the 14-day window
    return rows, converted


def test_results_find_a_known_8_point_lift_through_the_database(app, client, marketer):
    source = make_source(channel="store")
    segment = records.static_segment("Lapsed buyers")
    records.add_members(segment, records.customers(4000))
    exp = records.experiment(segment, start=True, name="Winback discount")
    # A fixed key, so the split is the same on every run as the purchases are (seed 8): a random key made
    # this test miss the truth whenever its 95 % interval did, about one run in twenty.
    exp.key = "winback-discount-fixed"
    db.session.commit()
    assert assign_members(exp.id) == 4000
    records.backdate(exp.id, days=20)
    rows, converted = _generate_purchases(exp.id, {"control": 0.20, "treatment": 0.28}, seed=8)
    records.history(source, rows)

    response = client.get(f"/api/v1/experiments/{exp.id}/results", headers=marketer)
    assert response.status_code == 200, response.json
    body = response.json
    counts = records.variant_counts(exp.id)
    assert {v["name"]: (v["assigned"], v["measured"]) for v in body["variants"]} == {
        name: (n, n) for name, n in counts.items()
    }
    conversion = body["metrics"][0]
    assert (conversion["metric"], conversion["role"]) == ("conversion", "primary")
    # Independently counted from the generated rows: only the purchase inside each window counts.
    assert {f["variant"]: f["successes"] for f in conversion["variants"]} == {k: len(v) for k, v in converted.items()}
    c = conversion["comparisons"][0]
    assert c["variant"] == "treatment" and c["method"] == "two_proportion_z"
    assert c["ci_low"] <= 0.08 <= c["ci_high"] and c["ci_low"] > 0
    assert body["verdict"]["status"] == "winner" and body["verdict"]["winner"] == "treatment"
    assert body["metrics"][1]["metric"] == "csat" and body["metrics"][1]["role"] == "guardrail"
    assert body["series"]["dates"] and set(body["series"]["variants"]) == {"control", "treatment"}
    assert body["experiment"]["name"] == "Winback discount"


def test_results_call_nothing_before_any_customer_has_been_measured(app, client, marketer):
    segment = records.static_segment()
    records.add_members(segment, records.customers(300))
    exp = records.experiment(segment, start=True)
    assign_members(exp.id)
    body = client.get(f"/api/v1/experiments/{exp.id}/results", headers=marketer).json
    assert all(v["measured"] == 0 for v in body["variants"])
    assert body["verdict"]["status"] == "insufficient_data"
    assert "14 days after assignment" in body["verdict"]["text"]


def test_the_openapi_document_describes_the_experiments_api(app, client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert {"post", "get"} <= set(paths["/experiments"])
    for path in ("/experiments/{experiment_id}/start", "/experiments/{experiment_id}/stop"):
        assert "post" in paths[path]
    assert "Permission: `experiments`" in paths["/experiments/{experiment_id}/results"]["get"]["description"]


def test_spend_and_surveys_are_read_from_the_stored_channel_details(app, client, marketer):
    source = make_source(channel="store")
    segment = records.static_segment()
    records.add_members(segment, records.customers(2))
    exp = records.experiment(segment, start=True, primary_metric="spend", guardrail_metrics=["nps", "churn"])
    assign_members(exp.id)
    records.backdate(exp.id, days=20)
    rows = []
    for cid, a in records.assignments(exp.id).items():
        at = a.assigned_at
        rows += [
            {"customer_id": cid, "channel": "store", "type": "purchase", "occurred_at": at + timedelta(days=1),
             "data": {"total": "50.00", "currency": "USD", "items": [{"sku": "A", "unit_price": "50.00"}]}},
            # No total: the amount comes from the items (2 x 15.00).
            {"customer_id": cid, "channel": "store", "type": "purchase", "occurred_at": at + timedelta(days=2),
             "data": {"items": [{"sku": "B", "quantity": 2, "unit_price": "15.00"}]}},
            {"customer_id": cid, "channel": "store", "type": "purchase", "occurred_at": at + timedelta(days=3),
             "data": {"total": "-20.00", "refund": True}},
            {"customer_id": cid, "channel": "store", "type": "purchase", "occurred_at": at + timedelta(days=3),
             "data": {"total": "999.00", "currency": "EUR"}},
            {"customer_id": cid, "channel": "email", "type": "survey", "occurred_at": at + timedelta(days=4),
             "data": {"kind": "nps", "score": 10, "comment": "great"}},
        ]  # fmt: skip
    records.history(source, rows)
    body = client.get(f"/api/v1/experiments/{exp.id}/results", headers=marketer).json
    spend, nps, churn = body["metrics"]
    assert {f["value"] for f in spend["variants"] if f["n"]} == {60.0}
    assert {f["value"] for f in nps["variants"] if f["n"]} == {100.0}
    assert {f["value"] for f in churn["variants"] if f["n"]} == {0.0}
