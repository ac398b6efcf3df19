"""Duplicate suggestions: found after each processed interaction and by `flask identity suggest`,
listed newest first, confirmed into an undoable merge or dismissed for good."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select

from crm.extensions import db
from crm.profiles.models import Customer, DuplicateSuggestion, MatchKey, MatchProfile, Merge
from tests.factories import auth, make_source, make_user
from tests.profiles.identity_helpers import active_customers, customer_of, deliver, item

JON = {
    "email": "jon.smyth@example.com",
    "attributes": {
        "first_name": "Jonathan",
        "last_name": "Smyth",
        "birth_date": "1985-03-02",
        "address": {"line1": "10 Downing St", "postcode": "SW1A 2AA", "city": "London", "country": "GB"},
    },
}
JON_AGAIN = {
    "email": "jsmyth@work.example",
    "attributes": {
        "first_name": "Jon",
        "last_name": "Smyth",
        "birth_date": "1985-03-02",
        "address": {"postcode": "sw1a2aa", "city": "London", "country": "GB"},
    },
}
SISTER = {
    "email": "mary.smyth@example.com",
    "attributes": {
        "first_name": "Mary",
        "last_name": "Smyth",
        "birth_date": "1988-07-19",
        "address": JON["attributes"]["address"],
    },
}


def _people(client, run_jobs):
    source = make_source(channel="email")
    ids = [
        deliver(client, run_jobs, source, item(f"m{n}", n, who))[0] for n, who in enumerate((JON, SISTER, JON_AGAIN))
    ]
    return [customer_of(i).id for i in ids]


def test_a_duplicate_is_suggested_after_the_interaction_that_makes_it_with_its_reasons(app, client, run_jobs):
    _, token = make_user("agent")
    jon, sister, again = _people(client, run_jobs)
    response = client.get("/api/v1/duplicate-suggestions", headers=auth(token))
    assert response.status_code == 200, response.json
    (suggestion,) = response.json["items"]
    assert (suggestion["customer_a_id"], suggestion["customer_b_id"]) == (jon, again)
    assert (suggestion["status"], suggestion["kind"]) == ("open", "fuzzy")
    assert suggestion["score"] >= 0.9
    assert {"same birth date", "same postcode"} <= set(suggestion["reasons"])
    assert any("nickname" in r for r in suggestion["reasons"])
    assert len(active_customers()) == 3  # a suggestion never merges on its own
    assert sister not in (suggestion["customer_a_id"], suggestion["customer_b_id"])


def test_the_duplicate_threshold_setting_decides_what_is_suggested_after_each_interaction(app, client, run_jobs):
    _, token = make_user("agent")
    app.config["DUPLICATE_THRESHOLD"] = 1.0  # nothing scores above certainty: nothing is suggested
    try:
        _people(client, run_jobs)
    finally:
        app.config["DUPLICATE_THRESHOLD"] = None
    response = client.get("/api/v1/duplicate-suggestions", headers=auth(token))
    assert response.status_code == 200, response.json
    assert response.json["items"] == []


def test_a_duplicate_threshold_that_is_not_a_fraction_is_refused_at_start_naming_the_setting(monkeypatch, tmp_path):
    from crm.config import load_config

    for bad in ("high", "1.5", "-0.1"):
        monkeypatch.setenv("DUPLICATE_THRESHOLD", bad)
        with pytest.raises(RuntimeError, match="DUPLICATE_THRESHOLD must be a number from 0 to 1"):
            load_config(str(tmp_path))
    monkeypatch.setenv("DUPLICATE_THRESHOLD", "0.5")
    assert load_config(str(tmp_path))["DUPLICATE_THRESHOLD"] == 0.5


def test_suggestions_are_listed_newest_first_filtered_and_paginated(app, client, run_jobs):
    _, token = make_user("agent")
    source = make_source(channel="email")
    pairs = []
    for n in range(3):
        first = {
            "email": f"kate{n}.hall@example.com",
            "attributes": {"first_name": "Kate", "last_name": f"Hall{'x' * n}"},
        }
        second = {
            "email": f"kate{n}.hal@example.com",
            "attributes": {"first_name": "Kate", "last_name": f"Hall{'x' * n}"},
        }
        a = deliver(client, run_jobs, source, item(f"a{n}", n, first))[0]
        b = deliver(client, run_jobs, source, item(f"b{n}", n, second))[0]
        pairs.append((customer_of(a).id, customer_of(b).id))
    url = "/api/v1/duplicate-suggestions"
    page = client.get(url, query_string={"limit": 2}, headers=auth(token)).json
    rest = client.get(url, query_string={"limit": 2, "cursor": page["next_cursor"]}, headers=auth(token)).json
    listed = [(s["customer_a_id"], s["customer_b_id"]) for s in page["items"] + rest["items"]]
    assert listed == list(reversed(pairs)) and rest["next_cursor"] is None
    assert "emails one edit apart" in page["items"][0]["reasons"]

    only = client.get(url, query_string={"customer_id": pairs[1][1]}, headers=auth(token)).json["items"]
    assert [(s["customer_a_id"], s["customer_b_id"]) for s in only] == [pairs[1]]
    client.post(f"{url}/{only[0]['id']}/dismiss", headers=auth(token))
    dismissed = client.get(url, query_string={"status": "dismissed"}, headers=auth(token)).json["items"]
    assert [s["id"] for s in dismissed] == [only[0]["id"]]
    assert len(client.get(url, query_string={"status": "open"}, headers=auth(token)).json["items"]) == 2
    assert client.get(url, query_string={"status": "maybe"}, headers=auth(token)).status_code == 422
    assert client.get(url, query_string={"cursor": "zz"}, headers=auth(token)).status_code == 422


def test_confirming_a_suggestion_merges_the_pair_as_an_undoable_merge(app, client, run_jobs):
    agent, token = make_user("agent")
    _, reader = make_user("marketer")
    jon, _, again = _people(client, run_jobs)
    suggestion_id = db.session.scalar(select(DuplicateSuggestion.id))
    url = f"/api/v1/duplicate-suggestions/{suggestion_id}/confirm"
    assert client.post(url, headers=auth(reader)).status_code == 403
    confirmed = client.post(url, headers=auth(token))
    assert confirmed.status_code == 200, confirmed.json
    assert (confirmed.json["status"], confirmed.json["decided_by"]) == ("confirmed", agent.email)
    merge = db.session.get(Merge, confirmed.json["merge_id"])
    assert (merge.survivor_id, merge.merged_id, merge.reason, merge.actor) == (jon, again, "suggestion", agent.email)
    assert db.session.get(Customer, again).status == "merged"
    assert client.post(url, headers=auth(token)).status_code == 409

    assert client.post(f"/api/v1/merges/{merge.id}/undo", headers=auth(token)).status_code == 200
    db.session.expire_all()
    assert db.session.get(Customer, again).status == "active"
    assert db.session.get(DuplicateSuggestion, suggestion_id).status == "dismissed"
    # New data for either side does not bring back a pair a person has split.
    deliver(client, run_jobs, make_source(channel="chat"), item("later", 9, JON_AGAIN))
    assert db.session.scalar(select(func.count()).where(DuplicateSuggestion.status == "open")) == 0


def test_a_dismissed_pair_is_never_suggested_again(app, client, run_jobs):
    _, token = make_user("agent")
    _people(client, run_jobs)
    suggestion_id = db.session.scalar(select(DuplicateSuggestion.id))
    dismissed = client.post(f"/api/v1/duplicate-suggestions/{suggestion_id}/dismiss", headers=auth(token))
    assert dismissed.status_code == 200 and dismissed.json["status"] == "dismissed"
    assert client.post(f"/api/v1/duplicate-suggestions/{suggestion_id}/dismiss", headers=auth(token)).status_code == 409
    assert client.post("/api/v1/duplicate-suggestions/999999/confirm", headers=auth(token)).status_code == 404

    deliver(client, run_jobs, make_source(channel="chat"), item("later", 9, JON_AGAIN))
    result = app.test_cli_runner().invoke(args=["identity", "suggest"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    rows = list(db.session.scalars(select(DuplicateSuggestion)))
    assert [(r.id, r.status) for r in rows] == [(suggestion_id, "dismissed")]


def test_flask_identity_suggest_finds_every_duplicate_from_scratch(app, client, run_jobs):
    jon, _, again = _people(client, run_jobs)
    for model in (DuplicateSuggestion, MatchKey, MatchProfile):
        db.session.execute(delete(model))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["identity", "suggest"])
    assert result.exit_code == 0, result.output
    assert "3 customers" in result.output and "1 suggestions opened" in result.output
    db.session.expire_all()
    (row,) = db.session.scalars(select(DuplicateSuggestion))
    assert (row.customer_a_id, row.customer_b_id, row.status) == (jon, again, "open")
    assert db.session.scalar(select(func.count()).select_from(MatchProfile)) == 3
    # Run again: the same suggestion, refreshed, not doubled.
    again_run = app.test_cli_runner().invoke(args=["identity", "suggest"])
    assert "0 suggestions opened, 1 refreshed" in again_run.output
    assert app.test_cli_runner().invoke(args=["identity", "suggest", "--threshold", "2"]).exit_code != 0
