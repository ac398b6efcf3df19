"""Cases (opened, answered, resolved, reopened, with their times), the unified timeline with its filters
and details, and the notes and calls agents log."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from crm.columns import utcnow
from crm.extensions import db
from crm.profiles.models import Case, Customer, Interaction, Merge
from tests.factories import auth, interaction, make_source, make_user
from tests.profiles.identity_helpers import customer_of, deliver, item


def _clock():
    """`ago(minutes)` from one fixed now, so differences between times are exact."""
    now = utcnow().replace(microsecond=0)
    return lambda minutes: now - timedelta(minutes=minutes)


def test_a_case_opens_gets_answered_is_resolved_and_reopens_counting_only_open_time(app, client, run_jobs):
    _ago = _clock()
    source = make_source(channel="email")
    _, token = make_user("agent")
    thread = {"thread_id": "t-1"}
    (ask,) = deliver(
        client,
        run_jobs,
        source,
        interaction("q", customer={"email": "uma@example.com"}, occurred_at=_ago(90), data=thread),
    )
    deliver(
        client,
        run_jobs,
        source,
        interaction(
            "r", direction="outbound", customer={"email": "uma@example.com"}, occurred_at=_ago(80), data=thread
        ),
    )
    customer = customer_of(ask)
    (case,) = client.get(f"/api/v1/customers/{customer.id}/cases", headers=auth(token)).json["items"]
    assert (case["status"], case["first_response_seconds"], case["reopen_count"]) == ("open", 600.0, 0)
    assert customer.open_cases == 1

    resolved = client.post(f"/api/v1/cases/{case['id']}/resolve", headers=auth(token))
    assert resolved.status_code == 200 and resolved.json["status"] == "resolved"
    assert 90 * 60 - 5 <= resolved.json["resolution_seconds"] <= 90 * 60 + 60
    assert client.post(f"/api/v1/cases/{case['id']}/resolve", headers=auth(token)).status_code == 409
    db.session.expire_all()
    assert db.session.get(Customer, customer.id).open_cases == 0
    # Say it was resolved an hour ago after 30 minutes open; a message 10 minutes ago reopens it.
    row = db.session.get(Case, case["id"])
    row.resolved_at, row.resolution_seconds = _ago(60), 1800.0
    db.session.commit()
    deliver(
        client,
        run_jobs,
        source,
        interaction("q2", customer={"email": "uma@example.com"}, occurred_at=_ago(10), data=thread),
    )
    reopened = client.get(f"/api/v1/cases/{case['id']}", headers=auth(token)).json
    assert (reopened["status"], reopened["reopen_count"]) == ("open", 1)
    again = client.post(f"/api/v1/cases/{case['id']}/resolve", headers=auth(token)).json
    assert 40 * 60 - 5 <= again["resolution_seconds"] <= 40 * 60 + 60  # 30 + 10 minutes, not the 90 since opening


def test_a_reply_processed_before_the_message_it_answers_joins_its_case(app, client, run_jobs):
    _ago = _clock()
    source = make_source(channel="chat")
    _, token = make_user("agent")
    chat = {"conversation_id": "conv-9"}
    (reply,) = deliver(
        client,
        run_jobs,
        source,
        interaction(
            "reply", direction="outbound", customer={"email": "vi@example.com"}, occurred_at=_ago(5), data=chat
        ),
    )
    (ask,) = deliver(
        client,
        run_jobs,
        source,
        interaction("ask", customer={"email": "vi@example.com"}, occurred_at=_ago(7), data=chat),
    )
    case = db.session.get(Case, db.session.get(Interaction, ask).case_id)
    assert db.session.get(Interaction, reply).case_id == case.id
    assert (case.first_response_at - case.opened_at).total_seconds() == 120


def test_a_customers_cases_are_listed_newest_first_by_status_and_page(app, client, run_jobs):
    source = make_source(channel="email")
    _, token = make_user("agent")
    for n in range(3):
        deliver(client, run_jobs, source, item(f"m{n}", n, {"email": "wes@example.com"}, data={"thread_id": f"t{n}"}))
    customer_id = db.session.scalar(select(Customer.id))
    url = f"/api/v1/customers/{customer_id}/cases"
    first = client.get(url, query_string={"limit": 2}, headers=auth(token)).json
    second = client.get(url, query_string={"limit": 2, "cursor": first["next_cursor"]}, headers=auth(token)).json
    ids = [c["id"] for c in first["items"] + second["items"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == 3 and second["next_cursor"] is None
    client.post(f"/api/v1/cases/{ids[0]}/resolve", headers=auth(token))
    opened = client.get(url, query_string={"status": "open"}, headers=auth(token)).json["items"]
    assert [c["id"] for c in opened] == ids[1:]
    assert client.get(url, query_string={"status": "closed"}, headers=auth(token)).status_code == 422


def test_the_timeline_filters_by_channel_type_and_dates_and_shows_cases_and_channel_details(app, client, run_jobs):
    email, phone, store = make_source(channel="email"), make_source(channel="phone"), make_source(channel="store")
    _, token = make_user("agent")
    who = {"email": "xan@example.com", "phone": "+14155550155"}
    deliver(client, run_jobs, email, item("e", 0, who, subject="Where is my order?", data={"thread_id": "th"}))
    (call,) = deliver(
        client,
        run_jobs,
        phone,
        item("c", 10, who, type_="call", data={"duration_s": 300, "outcome": "answered", "recording_url": None}),
    )
    order = {
        "total": "59.00",
        "currency": "GBP",
        "store_name": "Leeds",
        "items": [{"sku": "S1", "name": "Scarf", "quantity": 1}],
    }
    (purchase,) = deliver(client, run_jobs, store, item("p", 20, who, type_="purchase", data=order))
    customer_id = customer_of(call).id
    url = f"/api/v1/customers/{customer_id}/timeline"

    entries = client.get(url, headers=auth(token)).json["items"]
    assert [e["type"] for e in entries] == ["purchase", "call", "message"]
    by_type = {e["type"]: e for e in entries}
    assert by_type["call"]["details"] == {"duration_s": 300.0, "outcome": "answered"}
    assert by_type["call"]["case"]["status"] == "open" and by_type["call"]["case"]["channel"] == "phone"
    assert (
        by_type["purchase"]["details"]["total"] == "59.00" and by_type["purchase"]["details"]["items"][0]["sku"] == "S1"
    )
    assert by_type["purchase"]["case"] is None
    assert by_type["message"]["case"]["subject"] == "Where is my order?"

    def types(**query):
        response = client.get(url, query_string=query, headers=auth(token))
        assert response.status_code == 200, response.json
        return [e["type"] for e in response.json["items"]]

    assert types(channel="phone,store") == ["purchase", "call"]
    assert types(type="message") == ["message"]
    assert types(since=item("x", 5, {})["occurred_at"], until=item("x", 15, {})["occurred_at"]) == ["call"]
    page = client.get(url, query_string={"limit": 2}, headers=auth(token)).json
    rest = client.get(url, query_string={"limit": 2, "cursor": page["next_cursor"]}, headers=auth(token)).json
    assert [e["id"] for e in page["items"] + rest["items"]] == [e["id"] for e in entries] and rest[
        "next_cursor"
    ] is None
    assert client.get(url, query_string={"channel": "fax"}, headers=auth(token)).status_code == 422
    assert client.get(url, query_string={"cursor": "nonsense"}, headers=auth(token)).json["errors"] == {
        "cursor": ["invalid cursor"]
    }
    assert purchase


def test_an_agent_writes_a_note_and_logs_a_call_that_join_the_timeline_with_their_author(app, client, run_jobs):
    source = make_source(channel="email")
    agent, token = make_user("agent")
    (first,) = deliver(client, run_jobs, source, item("e", 0, {"email": "yas@example.com"}))
    customer = customer_of(first)
    note = client.post(
        f"/api/v1/customers/{customer.id}/notes",
        json={"text": "Prefers a call after 5pm", "idempotency_key": "n1"},
        headers=auth(token),
    )
    assert note.status_code == 202, note.json
    retried = client.post(
        f"/api/v1/customers/{customer.id}/notes",
        json={"text": "Prefers a call after 5pm", "idempotency_key": "n1"},
        headers=auth(token),
    )
    assert retried.json["interaction_id"] == note.json["interaction_id"]
    call = client.post(
        f"/api/v1/customers/{customer.id}/calls",
        json={"direction": "inbound", "duration_s": 180, "outcome": "answered", "text": "Asked about returns"},
        headers=auth(token),
    )
    assert call.status_code == 202, call.json
    run_jobs()

    entries = client.get(f"/api/v1/customers/{customer.id}/timeline", headers=auth(token)).json["items"]
    by_type = {e["type"]: e for e in entries}
    assert (by_type["note"]["channel"], by_type["note"]["text"]) == ("internal", "Prefers a call after 5pm")
    assert (by_type["note"]["author_id"], by_type["note"]["details"]) == (agent.id, {"author": agent.email})
    assert by_type["call"]["channel"] == "phone" and by_type["call"]["details"]["outcome"] == "answered"
    assert by_type["call"]["case"]["status"] == "open"
    db.session.expire_all()
    profile = db.session.get(Customer, customer.id)
    assert profile.interaction_count == 3 and profile.last_channel == "phone"  # a note is not a contact
    assert not profile.identifiers[1:]  # notes and calls add no identifier
    # The internal sources take no webhooks: nobody outside can write a note.
    assert client.post("/webhooks/crm-notes", json={"text": "x"}).status_code == 404


def test_notes_refuse_bad_input_readers_and_unknown_customers(app, client, run_jobs):
    source = make_source(channel="email")
    _, token = make_user("agent")
    _, reader = make_user("marketer")
    (first,) = deliver(client, run_jobs, source, item("e", 0, {"email": "zed@example.com"}))
    url = f"/api/v1/customers/{customer_of(first).id}/notes"
    assert client.post(url, json={"text": ""}, headers=auth(token)).json["errors"] == {
        "text": ["Length must be between 1 and 20000."]
    }
    assert client.post(url, json={"text": "hi"}, headers=auth(reader)).status_code == 403
    assert client.post("/api/v1/customers/999999/notes", json={"text": "hi"}, headers=auth(token)).status_code == 404
    bad_call = client.post(
        url.replace("notes", "calls"), json={"direction": "up", "duration_s": -1}, headers=auth(token)
    )
    assert set(bad_call.json["errors"]) == {"direction", "duration_s"}


def test_a_note_on_a_merged_customer_follows_the_merge_and_comes_back_on_undo(app, client, run_jobs):
    chat, phone, store = make_source(channel="chat"), make_source(channel="phone"), make_source(channel="store")
    _, token = make_user("agent")
    (a,) = deliver(client, run_jobs, chat, item("a", 0, {"email": "abe@example.com"}))
    (b,) = deliver(client, run_jobs, phone, item("b", 1, {"phone": "+14155550133"}, type_="call"))
    merged_id = customer_of(b).id
    deliver(client, run_jobs, store, item("o", 2, {"email": "abe@example.com", "phone": "+14155550133"}))
    note = client.post(f"/api/v1/customers/{merged_id}/notes", json={"text": "VIP"}, headers=auth(token)).json
    run_jobs()
    assert customer_of(note["interaction_id"]).id == customer_of(a).id
    merge_id = db.session.scalar(select(Merge.id))
    assert client.post(f"/api/v1/merges/{merge_id}/undo", headers=auth(token)).status_code == 200
    assert customer_of(note["interaction_id"]).id == merged_id
