"""Customer attributes from every channel: provenance, the latest value winning, agents' pinned edits,
merges that combine them and undo that restores them, and bad attributes refused whole."""

from __future__ import annotations

import json
import urllib.parse

from sqlalchemy import func, select

from crm.audit import AuditEvent
from crm.channels.signatures import sign_shopify, sign_twilio
from crm.extensions import db
from crm.profiles.models import Customer, CustomerAttribute, Interaction, Merge
from tests.factories import auth, make_source, make_user, post_generic
from tests.profiles.identity_helpers import customer_of, deliver, item, snapshot

TWILIO_TOKEN = "twilio-auth-token-0123"
SHOPIFY_SECRET = "shpss_0123456789abcdef"


def _twilio_call(client, source, **fields) -> int:
    form = {
        "CallSid": "CA" + "0" * 31 + "1",
        "CallStatus": "completed",
        "CallDuration": "125",
        "Direction": "inbound",
        "From": "+14155550123",
        "To": "+14155550100",
        "FromCity": "SAN FRANCISCO",
        "FromState": "CA",
        "FromZip": "94105",
        "FromCountry": "US",
        "Timestamp": "Mon, 02 Nov 2026 09:00:00 +0000",
    }
    form.update(fields)
    url = f"http://localhost/webhooks/{source.slug}"
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": sign_twilio(TWILIO_TOKEN, url, form),
    }
    response = client.post(url, data=urllib.parse.urlencode(form), headers=headers)
    assert response.status_code == 202, response.json
    return response.json["accepted"][0]


def _shopify_order(client, source, **fields) -> int:
    address = {
        "first_name": "Grace",
        "last_name": "Hopper",
        "address1": "1 Market St",
        "city": "San Francisco",
        "province_code": "CA",
        "zip": "94105-1420",
        "country_code": "US",
    }
    order = {
        "id": 5001,
        "order_number": 1001,
        "email": "grace@example.com",
        "phone": "+1 415 555 0123",
        "created_at": "2026-11-02T10:00:00+00:00",
        "currency": "USD",
        "total_price": "41.90",
        "customer": {"id": 77, "email": "grace@example.com", "first_name": "Grace", "last_name": "Hopper"},
        "billing_address": address,
        "line_items": [{"sku": "MUG", "title": "Mug", "quantity": 1, "price": "41.90"}],
    }
    order.update(fields)
    body = json.dumps(order).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Hmac-Sha256": sign_shopify(SHOPIFY_SECRET, body),
    }
    response = client.post(f"/webhooks/{source.slug}", data=body, headers=headers)
    assert response.status_code == 202, response.json
    return response.json["accepted"][0]


def _attributes(client, token, customer_id) -> dict:
    response = client.get(f"/api/v1/customers/{customer_id}", headers=auth(token))
    assert response.status_code == 200, response.json
    return response.json["attributes"]


def test_a_twilio_call_and_a_shopify_order_fill_the_address_with_their_provenance(app, client, run_jobs):
    twilio = make_source(channel="phone", provider="twilio", secret=TWILIO_TOKEN)
    shopify = make_source(channel="store", provider="shopify", secret=SHOPIFY_SECRET)
    _, token = make_user("agent")
    call_id = _twilio_call(client, twilio)
    run_jobs()
    customer = customer_of(call_id)
    address = _attributes(client, token, customer.id)["address"]
    assert address["value"] == {"city": "San Francisco", "region": "CA", "postcode": "94105", "country": "US"}
    assert (address["origin"], address["source"], address["interaction_id"]) == ("channel", twilio.slug, call_id)
    assert address["observed_at"] == "2026-11-02T09:00:00+00:00"

    order_id = _shopify_order(client, shopify)
    run_jobs()
    assert customer_of(order_id).id == customer.id  # the order carries the caller's number
    attrs = _attributes(client, token, customer.id)
    assert attrs["address"]["value"] == {
        "line1": "1 Market St",
        "city": "San Francisco",
        "postcode": "94105-1420",
        "region": "CA",
        "country": "US",
    }
    assert (attrs["address"]["source"], attrs["address"]["interaction_id"]) == (shopify.slug, order_id)
    assert attrs["address"]["observed_at"] == "2026-11-02T10:00:00+00:00"
    assert (attrs["first_name"]["value"], attrs["first_name"]["source"]) == ("Grace", shopify.slug)
    assert client.get(f"/api/v1/customers/{customer.id}", headers=auth(token)).json["display_name"] == "Grace Hopper"


def test_a_later_interaction_processed_first_keeps_its_value_over_an_earlier_one(app, client, run_jobs):
    source = make_source(channel="email")
    _, token = make_user("agent")
    (later,) = deliver(
        client,
        run_jobs,
        source,
        item("later", 60, {"email": "ola@example.com", "attributes": {"address": {"city": "Leeds"}}}),
    )
    (earlier,) = deliver(
        client,
        run_jobs,
        source,
        item(
            "earlier", 0, {"email": "ola@example.com", "attributes": {"address": {"city": "York"}, "locale": "en-GB"}}
        ),
    )
    customer = customer_of(earlier)
    attrs = _attributes(client, token, customer.id)
    assert (attrs["address"]["value"], attrs["address"]["interaction_id"]) == ({"city": "Leeds"}, later)
    assert (attrs["locale"]["value"], attrs["locale"]["interaction_id"]) == ("en-GB", earlier)  # nothing newer had it


def test_an_agents_pinned_edit_survives_new_channel_data_until_cleared(app, client, run_jobs):
    source = make_source(channel="chat")
    agent, token = make_user("agent")
    _, marketer = make_user("marketer")
    (first,) = deliver(
        client, run_jobs, source, item("a", 0, {"email": "pia@example.com", "attributes": {"first_name": "Pia"}})
    )
    customer = customer_of(first)
    url = f"/api/v1/customers/{customer.id}"
    assert client.patch(url, json={"first_name": "Pía"}, headers=auth(marketer)).status_code == 403
    edit = {"first_name": "Pía", "custom": {"tier": "gold"}, "consent": {"sms": False}}
    response = client.patch(url, json=edit, headers=auth(token))
    assert response.status_code == 200, response.json
    assert response.json["attributes"]["first_name"]["origin"] == "agent"
    assert response.json["attributes"]["consent.sms"]["value"]["granted"] is False

    (second,) = deliver(
        client,
        run_jobs,
        source,
        item("b", 10, {"email": "pia@example.com", "attributes": {"first_name": "Pia", "custom": {"tier": "silver"}}}),
    )
    attrs = _attributes(client, token, customer.id)
    assert (attrs["first_name"]["value"], attrs["first_name"]["updated_by"]) == ("Pía", agent.email)
    assert (attrs["custom.tier"]["value"], attrs["custom.tier"]["pinned_over"]["value"]) == ("gold", "silver")
    assert attrs["custom.tier"]["pinned_over"]["interaction_id"] == second

    cleared = client.patch(url, json={"first_name": None, "custom": {"tier": None}}, headers=auth(token))
    assert cleared.status_code == 200, cleared.json
    attrs = cleared.json["attributes"]
    assert (attrs["first_name"]["value"], attrs["first_name"]["origin"]) == ("Pia", "channel")
    assert (attrs["custom.tier"]["value"], attrs["custom.tier"]["origin"]) == ("silver", "channel")
    audits = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "edit_attributes")))
    assert [a.details["keys"] for a in audits] == [
        ["consent.sms", "custom.tier", "first_name"],
        ["custom.tier", "first_name"],
    ]
    assert all("Pía" not in json.dumps(a.details) for a in audits)  # names of keys, never values


def test_a_merge_combines_attributes_and_its_undo_restores_both_exactly(app, client, run_jobs):
    chat, phone, store = make_source(channel="chat"), make_source(channel="phone"), make_source(channel="store")
    _, token = make_user("agent")
    older = {"first_name": "Cara", "address": {"city": "Bath", "country": "GB"}, "custom": {"vip": True}}
    (a_id,) = deliver(client, run_jobs, chat, item("a", 0, {"email": "cara@example.com", "attributes": older}))
    newer = {"first_name": "Carolina", "birth_date": "1990-04-01", "custom": {"vip": False, "shoe_size": 6.5}}
    (b_id,) = deliver(
        client, run_jobs, phone, item("b", 5, {"phone": "+442079460958", "attributes": newer}, type_="call")
    )
    a, b = customer_of(a_id), customer_of(b_id)
    client.patch(f"/api/v1/customers/{b.id}", json={"last_name": "Reyes"}, headers=auth(token))
    before = snapshot(a.id)["attributes"], snapshot(b.id)["attributes"]

    deliver(client, run_jobs, store, item("link", 9, {"email": "cara@example.com", "phone": "+44 20 7946 0958"}))
    attrs = _attributes(client, token, a.id)
    assert {k: v["value"] for k, v in attrs.items()} == {
        "first_name": "Carolina",
        "last_name": "Reyes",
        "birth_date": "1990-04-01",
        "address": {"city": "Bath", "country": "GB"},
        "custom.vip": False,
        "custom.shoe_size": 6.5,
    }
    assert attrs["address"]["interaction_id"] == a_id and attrs["first_name"]["interaction_id"] == b_id
    assert client.get(f"/api/v1/customers/{a.id}", headers=auth(token)).json["display_name"] == "Carolina Reyes"

    merge_id = db.session.scalar(select(Merge.id))
    assert client.post(f"/api/v1/merges/{merge_id}/undo", headers=auth(token)).status_code == 200
    assert (snapshot(a.id)["attributes"], snapshot(b.id)["attributes"]) == before
    assert client.get(f"/api/v1/customers/{b.id}", headers=auth(token)).json["display_name"] == "Carolina Reyes"
    assert client.get(f"/api/v1/customers/{a.id}", headers=auth(token)).json["display_name"] == "Cara"


def test_invalid_attributes_get_a_422_naming_each_field_and_nothing_is_stored(app, client, run_jobs):
    source = make_source(channel="email")
    bad = {
        "email": "quinn@example.com",
        "attributes": {
            "birth_date": "1990-13-01",
            "address": {"country": "Narnia", "city": "x" * 101},
            "locale": "not a locale",
            "consent": {"email": "maybe"},
            "custom": {"Shoe Size": 9, "notes": "x" * 2000, "nested": {"a": 1}},
            "favourite_colour": "blue",
        },
    }
    response = post_generic(client, source, item("bad", 0, bad))
    assert response.status_code == 422
    errors = response.json["errors"]["customer"]["attributes"]
    assert set(errors) == {"birth_date", "address", "locale", "consent", "custom", "favourite_colour"}
    assert set(errors["address"]) == {"country", "city"}
    assert set(errors["custom"]) == {"Shoe Size", "notes", "nested"}
    run_jobs()
    db.session.expire_all()
    for model in (Interaction, Customer, CustomerAttribute):
        assert db.session.scalar(select(func.count()).select_from(model)) == 0


def test_an_invalid_edit_gets_a_422_naming_each_field_and_changes_nothing(app, client, run_jobs):
    source = make_source(channel="email")
    _, token = make_user("agent")
    (iid,) = deliver(
        client, run_jobs, source, item("r", 0, {"email": "rae@example.com", "attributes": {"first_name": "Rae"}})
    )
    customer = customer_of(iid)
    before = snapshot(customer.id)["attributes"]
    url = f"/api/v1/customers/{customer.id}"
    response = client.patch(
        url,
        json={"first_name": "Raelyn", "birth_date": "tomorrow", "custom": {"BAD": None}, "x": 1},
        headers=auth(token),
    )
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"birth_date", "custom", "x"}
    assert snapshot(customer.id)["attributes"] == before
    assert client.patch(url, json={}, headers=auth(token)).status_code == 422
    assert client.patch(url, data="{", headers={**auth(token), "Content-Type": "application/json"}).status_code == 400
    assert client.patch("/api/v1/customers/999999", json={"first_name": "A"}, headers=auth(token)).status_code == 404
