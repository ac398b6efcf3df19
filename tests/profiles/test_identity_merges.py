"""One customer per person across channels: merges that name what linked them, guard rails, and undo."""

from __future__ import annotations

from sqlalchemy import select

from crm.extensions import db
from crm.profiles.models import DuplicateSuggestion, Interaction, Merge
from crm.segments.models import Segment, SegmentMember
from tests.factories import auth, make_source, make_user
from tests.profiles.identity_helpers import active_customers, customer_of, deliver, item, snapshot


def _three_channels():
    return make_source(channel="chat"), make_source(channel="phone"), make_source(channel="store")


def test_chat_call_and_store_purchase_become_one_customer_with_a_merge_naming_the_phone(app, client, run_jobs):
    chat, phone, store = _three_channels()
    _, token = make_user("agent")
    (chat_id,) = deliver(client, run_jobs, chat, item("chat-1", 0, {"email": "Ann.Lee@Example.com"}, text="Hello"))
    (call_id,) = deliver(
        client, run_jobs, phone, item("call-1", 10, {"phone": "(415) 555-0132"}, type_="call", data={"duration_s": 95})
    )
    first, second = customer_of(chat_id), customer_of(call_id)
    assert first.id != second.id
    (order_id,) = deliver(
        client,
        run_jobs,
        store,
        item(
            "order-1",
            20,
            {"email": " ann.lee@EXAMPLE.com", "phone": "+1 415-555-0132"},
            type_="purchase",
            data={"total": "42.50", "currency": "USD", "store_name": "Soho"},
        ),
    )

    assert [c.id for c in active_customers()] == [first.id]
    entries = client.get(f"/api/v1/customers/{first.id}/timeline", headers=auth(token)).json["items"]
    assert [(e["id"], e["channel"], e["type"]) for e in entries] == [
        (order_id, "store", "purchase"),
        (call_id, "phone", "call"),
        (chat_id, "chat", "message"),
    ]
    (merge,) = client.get(f"/api/v1/customers/{first.id}/merges", headers=auth(token)).json["items"]
    assert (merge["survivor_id"], merge["merged_id"], merge["reason"]) == (first.id, second.id, "shared_identifier")
    assert (merge["identifier_kind"], merge["identifier_value"], merge["interaction_id"]) == (
        "phone",
        "+14155550132",
        order_id,
    )
    merged_view = client.get(f"/api/v1/customers/{second.id}", headers=auth(token)).json
    assert (merged_view["status"], merged_view["merged_into_id"]) == ("merged", first.id)


def test_undo_brings_both_customers_back_exactly_and_the_linking_purchase_stays_with_the_survivor(
    app, client, run_jobs
):
    chat, phone, store = _three_channels()
    _, token = make_user("agent")
    (chat_id,) = deliver(
        client,
        run_jobs,
        chat,
        item("chat-1", 0, {"email": "ann@example.com", "attributes": {"first_name": "Ann", "locale": "en-GB"}}),
    )
    (call_id,) = deliver(
        client,
        run_jobs,
        phone,
        item(
            "call-1",
            10,
            {
                "phone": "+14155550132",
                "name": "A. Lee",
                "attributes": {"address": {"city": "Oakland", "country": "US"}},
            },
            type_="call",
        ),
    )
    first, second = customer_of(chat_id), customer_of(call_id)
    before_first, before_second = snapshot(first.id), snapshot(second.id)
    (order_id,) = deliver(
        client,
        run_jobs,
        store,
        item(
            "order-1", 20, {"email": "ann@example.com", "phone": "+14155550132"}, type_="purchase", data={"total": "10"}
        ),
    )
    merge_id = db.session.scalar(select(Merge.id))
    combined = snapshot(first.id)
    assert {a[0] for a in combined["attributes"]} == {"first_name", "locale", "name", "address"}

    response = client.post(f"/api/v1/merges/{merge_id}/undo", headers=auth(token))
    assert response.status_code == 200, response.json
    assert response.json["restored"]["id"] == second.id and response.json["restored"]["status"] == "active"

    assert snapshot(second.id) == before_second
    after_first = snapshot(first.id)
    order_case = db.session.get(Interaction, order_id).case_id
    assert after_first["interactions"] == sorted(before_first["interactions"] + [(order_id, order_case, None)])
    for part in ("identifiers", "cases", "attributes"):
        assert after_first[part] == before_first[part], part
    expected = dict(before_first["aggregates"])
    expected.update(
        interaction_count=2,
        counts={"channel": {"chat": 1, "store": 1}, "type": {"message": 1, "purchase": 1}},
        lifetime_value={"USD": "10.00"},
        ltv_amount="10.00",
        orders_count=1,
        last_channel="store",
        last_seen_at=after_first["aggregates"]["last_seen_at"],
        last_purchase_at=after_first["aggregates"]["last_purchase_at"],
    )
    assert after_first["aggregates"] == expected


def test_an_undone_pair_is_not_merged_again_automatically_but_suggested(app, client, run_jobs):
    chat, phone, store = _three_channels()
    _, token = make_user("agent")
    (chat_id,) = deliver(client, run_jobs, chat, item("c", 0, {"email": "bo@example.com"}))
    (call_id,) = deliver(client, run_jobs, phone, item("p", 1, {"phone": "+14155550177"}, type_="call"))
    deliver(client, run_jobs, store, item("o1", 2, {"email": "bo@example.com", "phone": "+14155550177"}))
    merge_id = db.session.scalar(select(Merge.id))
    assert client.post(f"/api/v1/merges/{merge_id}/undo", headers=auth(token)).status_code == 200
    again = client.post(f"/api/v1/merges/{merge_id}/undo", headers=auth(token))
    assert again.status_code == 409 and "undone already" in again.json["detail"]

    deliver(client, run_jobs, store, item("o2", 3, {"email": "bo@example.com", "phone": "+14155550177"}))
    first, second = customer_of(chat_id), customer_of(call_id)
    assert first.id != second.id and len(active_customers()) == 2
    suggestion = db.session.scalar(select(DuplicateSuggestion))
    assert (suggestion.kind, suggestion.status) == ("blocked_pair", "open")
    assert "merge was undone" in " ".join(suggestion.reasons)


def test_interactions_after_a_merge_go_where_their_identifiers_point_on_undo(app, client, run_jobs):
    chat, phone, store = _three_channels()
    _, token = make_user("agent")
    (chat_id,) = deliver(client, run_jobs, chat, item("c", 0, {"email": "cy@example.com"}))
    (call_id,) = deliver(client, run_jobs, phone, item("p", 1, {"phone": "+14155550188"}, type_="call"))
    deliver(client, run_jobs, store, item("o", 2, {"email": "cy@example.com", "phone": "+14155550188"}))
    # After the merge: a call from the phone bringing a new loyalty id, then a visit with only that loyalty id.
    (later_call,) = deliver(
        client, run_jobs, phone, item("p2", 3, {"phone": "+14155550188", "loyalty_id": "L-77"}, type_="call")
    )
    (visit,) = deliver(client, run_jobs, store, item("v", 4, {"loyalty_id": "l 77"}, type_="visit"))
    (later_chat,) = deliver(client, run_jobs, chat, item("c2", 5, {"email": "cy@example.com"}))
    merge_id = db.session.scalar(select(Merge.id))

    assert client.post(f"/api/v1/merges/{merge_id}/undo", headers=auth(token)).status_code == 200
    first, second = customer_of(chat_id), customer_of(call_id)
    assert customer_of(later_call).id == second.id
    assert customer_of(visit).id == second.id  # the loyalty id went back with the call that brought it
    assert customer_of(later_chat).id == first.id
    assert {(i.kind, i.value) for i in second.identifiers} == {("phone", "+14155550188"), ("loyalty", "L77")}
    assert second.interaction_count == 3 and first.interaction_count == 3


def test_shared_identifiers_on_the_blocklist_never_merge_two_people(app, client, run_jobs, monkeypatch):
    monkeypatch.setitem(app.config, "IDENTITY_BLOCKLIST", ["email:support@*", "phone:+14155550100"])
    source = make_source(channel="email")
    (one,) = deliver(client, run_jobs, source, item("a", 0, {"email": "Support@Shop.example", "phone": "+14155550123"}))
    (two,) = deliver(client, run_jobs, source, item("b", 1, {"email": "support@shop.example", "phone": "+14155550124"}))
    (three,) = deliver(client, run_jobs, source, item("c", 2, {"phone": "+1 415 555 0100", "email": "x@example.com"}))
    assert len({customer_of(i).id for i in (one, two, three)}) == 3
    blocked = db.session.get(Interaction, one).identifiers[0]
    assert blocked["valid"] is False and "blocklist" in blocked["error"]
    assert all(
        i.kind != "email" or not i.value.startswith("support@") for c in active_customers() for i in c.identifiers
    )


def test_a_merge_past_the_identifier_limit_becomes_a_suggestion(app, client, run_jobs, monkeypatch):
    monkeypatch.setitem(app.config, "IDENTITY_MAX_PER_KIND", 2)
    source = make_source(channel="email")
    (one,) = deliver(client, run_jobs, source, item("a", 0, {"email": "d1@example.com", "phone": "+14155550111"}))
    deliver(client, run_jobs, source, item("b", 1, {"email": "d2@example.com", "phone": "+14155550111"}))
    (other,) = deliver(client, run_jobs, source, item("c", 2, {"email": "e1@example.com"}))
    (link,) = deliver(client, run_jobs, source, item("d", 3, {"email": "e1@example.com", "phone": "+14155550111"}))
    assert customer_of(one).id != customer_of(other).id
    assert customer_of(link).id == customer_of(one).id
    suggestion = db.session.scalar(select(DuplicateSuggestion))
    assert (suggestion.kind, suggestion.score) == ("over_limit", 1.0)
    assert suggestion.reasons[0] == "share email e1@example.com"


def test_invalid_identifiers_stay_on_the_interaction_and_never_match(app, client, run_jobs):
    source = make_source(channel="phone")
    (one,) = deliver(client, run_jobs, source, item("a", 0, {"phone": "555-01", "email": "f1@example.com"}))
    (two,) = deliver(client, run_jobs, source, item("b", 1, {"phone": "555-01", "email": "f2@example.com"}))
    assert customer_of(one).id != customer_of(two).id
    (phone,) = [i for i in db.session.get(Interaction, one).identifiers if i["kind"] == "phone"]
    assert (phone["kind"], phone["valid"], phone["value"], phone["raw"]) == ("phone", False, None, "555-01")
    assert "not a valid phone number" in phone["error"]


def test_an_agent_merges_two_customers_by_hand_and_undoes_it_exactly(app, client, run_jobs):
    chat, phone, _ = _three_channels()
    user, token = make_user("agent")
    (a_id,) = deliver(
        client, run_jobs, chat, item("c", 0, {"email": "g@example.com", "attributes": {"first_name": "Gil"}})
    )
    (b_id,) = deliver(
        client,
        run_jobs,
        phone,
        item("p", 1, {"phone": "+14155550199", "attributes": {"last_name": "Ory"}}, type_="call"),
    )
    first, second = customer_of(a_id), customer_of(b_id)
    vips = Segment(name="VIP list", kind="static", rule={"all": []})
    db.session.add(vips)
    db.session.flush()
    db.session.add(SegmentMember(segment_id=vips.id, customer_id=second.id))
    db.session.commit()
    before = snapshot(first.id), snapshot(second.id)
    assert before[1]["memberships"] == [vips.id]

    response = client.post(f"/api/v1/customers/{first.id}/merge", json={"other_id": second.id}, headers=auth(token))
    assert response.status_code == 201, response.json
    assert (response.json["reason"], response.json["actor"], response.json["identifier_kind"]) == (
        "manual",
        user.email,
        None,
    )
    merged = snapshot(first.id)
    assert merged["aggregates"]["display_name"] == "Gil Ory" and merged["aggregates"]["interaction_count"] == 2
    assert merged["memberships"] == [vips.id]
    undone = client.post(f"/api/v1/merges/{response.json['id']}/undo", headers=auth(token))
    assert undone.status_code == 200
    assert (snapshot(first.id), snapshot(second.id)) == before


def test_manual_merge_refuses_itself_a_merged_customer_and_a_reader(app, client, run_jobs):
    source = make_source(channel="chat")
    _, token = make_user("agent")
    _, reader = make_user("marketer")
    (a_id,) = deliver(client, run_jobs, source, item("a", 0, {"email": "h1@example.com"}))
    (b_id,) = deliver(client, run_jobs, source, item("b", 1, {"email": "h2@example.com"}))
    a, b = customer_of(a_id).id, customer_of(b_id).id
    url = f"/api/v1/customers/{a}/merge"
    assert client.post(url, json={"other_id": a}, headers=auth(token)).status_code == 422
    assert client.post(url, json={"other_id": "x"}, headers=auth(token)).json["errors"] == {
        "other_id": ["Not a valid integer."]
    }
    assert client.post(url, json={"other_id": 999999}, headers=auth(token)).status_code == 404
    assert client.post(url, json={"other_id": b}, headers=auth(reader)).status_code == 403
    assert client.post(url, json={"other_id": b}, headers=auth(token)).status_code == 201
    again = client.post(f"/api/v1/customers/{b}/merge", json={"other_id": a}, headers=auth(token))
    assert again.status_code == 409 and f"merged into customer {a}" in again.json["detail"]


def test_cli_lists_a_customers_merges_and_undoes_one(app, client, run_jobs):
    chat, phone, store = _three_channels()
    (chat_id,) = deliver(client, run_jobs, chat, item("c", 0, {"email": "ida@example.com"}))
    (call_id,) = deliver(client, run_jobs, phone, item("p", 1, {"phone": "+14155550166"}, type_="call"))
    deliver(client, run_jobs, store, item("o", 2, {"email": "ida@example.com", "phone": "+14155550166"}))
    survivor = customer_of(chat_id).id
    merge_id = db.session.scalar(select(Merge.id))
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["merges", "list", str(survivor)])
    assert listed.exit_code == 0, listed.output
    assert (
        f"{merge_id}\t" in listed.output and "shared_identifier\tphone +14155550166\tby system\tactive" in listed.output
    )
    undone = runner.invoke(args=["merges", "undo", str(merge_id)])
    assert undone.exit_code == 0, undone.output
    assert customer_of(call_id).id != survivor
    again = runner.invoke(args=["merges", "undo", str(merge_id)])
    assert again.exit_code != 0 and "undone already" in again.output and "Traceback" not in again.output
    missing = runner.invoke(args=["merges", "list", "424242"])
    assert missing.exit_code != 0 and "no customer 424242" in missing.output
