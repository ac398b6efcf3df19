"""Each provider end to end on the real services: its own payload and signature, posted to the app,
stored, processed by a real `flask worker` process, and the customer found through the API.
Forged, stale and unsigned deliveries are refused with nothing stored."""

from __future__ import annotations

import time

import pytest

from tests.channels import deliver
from tests.channels.deliver import interaction_count, processed_count
from tests.channels.test_adapters_mailgun import route_post
from tests.channels.test_adapters_shopify import order
from tests.channels.test_adapters_twilio import callback
from tests.conftest import wait_for
from tests.factories import auth, interaction, make_source, make_user

pytestmark = pytest.mark.services


def _processed_by_a_worker(worker_process, expected: int = 1) -> None:
    worker = worker_process()
    wait_for(lambda: processed_count() >= expected, timeout=60, message="the worker process to process it")
    assert "Traceback" not in worker.output(), worker.output()[-3000:]


def _customer(client, identifier: str) -> dict:
    _, token = make_user("agent")
    response = client.get("/api/v1/customers/lookup", query_string={"identifier": identifier}, headers=auth(token))
    assert response.status_code == 200, response.json
    customer = response.json
    timeline = client.get(f"/api/v1/customers/{customer['id']}/timeline", headers=auth(token))
    assert timeline.status_code == 200
    customer["timeline"] = timeline.json["items"]
    return customer


def test_a_generic_chat_transcript_becomes_one_conversation_on_the_customers_timeline(app, client, worker_process):
    source = make_source(channel="chat")
    transcript = {
        "external_id": "conv-88",
        "occurred_at": "2026-11-30T14:05:00+01:00",
        "type": "message",
        "direction": "inbound",
        "customer": {"chat_handle": "@ann", "email": "Ann.Lee@Example.com", "name": "Ann Lee"},
        "data": {
            "conversation_id": "conv-88",
            "messages": [
                {"author": "customer", "at": "2026-11-30T14:05:00+01:00", "text": "My parcel never came"},
                {"author": "agent", "at": "2026-11-30T14:06:00+01:00", "text": "Sorry! Resending today."},
            ],
        },
    }
    response = deliver.post(client, deliver.generic(source, transcript))
    assert response.status_code == 202
    _processed_by_a_worker(worker_process)
    customer = _customer(client, "email:ann.lee@example.com")
    assert customer["display_name"] == "Ann Lee"
    assert {(i["kind"], i["value"]) for i in customer["identifiers"]} >= {("email", "ann.lee@example.com")}
    (entry,) = customer["timeline"]
    assert entry["external_id"] == "conv-88" and entry["channel"] == "chat"
    assert entry["text"] == "customer: My parcel never came\nagent: Sorry! Resending today."


def test_a_mailgun_route_post_becomes_the_senders_email(app, client, worker_process):
    source = make_source(channel="email", provider="mailgun", own_domains=["shop.example"])
    fields = {k: v for k, v in route_post().items() if k not in ("timestamp", "token", "signature")}
    response = deliver.post(client, deliver.mailgun(source, fields))
    assert response.status_code == 202, response.json
    _processed_by_a_worker(worker_process)
    customer = _customer(client, "email:maria.gonzalez@example.com")
    (entry,) = customer["timeline"]
    assert entry["external_id"] == "<CAB1042.maria@mail.example.com>"
    assert entry["subject"] == "Broken mug in order #1042" and entry["direction"] == "inbound"
    assert customer["attributes"]["first_name"]["value"] == "Maria"


def test_a_twilio_status_callback_becomes_the_callers_call_with_their_city(app, client, worker_process):
    source = make_source(channel="phone", provider="twilio", own_numbers=["+14155550100"])
    response = deliver.post(client, deliver.twilio(source, callback()))
    assert response.status_code == 202, response.json
    _processed_by_a_worker(worker_process)
    customer = _customer(client, "phone:+1 415 555 0123")
    (entry,) = customer["timeline"]
    assert entry["type"] == "call" and entry["data"]["outcome"] == "answered" and entry["data"]["duration_s"] == 125
    address = customer["attributes"]["address"]
    assert address["value"] == {"city": "San Francisco", "region": "CA", "postcode": "94105", "country": "US"}
    assert (address["source_id"], address["interaction_id"]) == (source.id, entry["id"])


def test_a_shopify_pos_order_becomes_a_purchase_at_the_named_store(app, client, worker_process):
    source = make_source(channel="store", provider="shopify", locations={"48752903": "Soho flagship"})
    response = deliver.post(client, deliver.shopify(source, order(source_name="pos", location_id=48752903)))
    assert response.status_code == 202, response.json
    _processed_by_a_worker(worker_process)
    customer = _customer(client, "email:maria.gonzalez@example.com")
    (entry,) = customer["timeline"]
    assert entry["type"] == "purchase" and entry["data"]["store_name"] == "Soho flagship"
    assert entry["data"]["total"] == "41.90"
    assert customer["orders_count"] == 1 and customer["lifetime_value"] == {"EUR": "41.90"}
    assert customer["attributes"]["address"]["value"]["postcode"] == "28013"


def _refusals(source) -> dict[str, deliver.Delivery]:
    """Forged, stale and unsigned versions of one genuine delivery per provider (None: the scheme signs no time)."""
    old = int(time.time()) - 10 * 3600
    if source.provider == "generic":
        payload = interaction("g-1", customer={"email": "maria@example.com"})
        good, stale = deliver.generic(source, payload), deliver.generic(source, payload, t=old)
        header = "X-CRM-Signature"
    elif source.provider == "mailgun":
        fields = {k: v for k, v in route_post().items() if k not in ("timestamp", "token", "signature")}
        good, stale = deliver.mailgun(source, fields), deliver.mailgun(source, fields, timestamp=old)
        header = None  # Mailgun signs in the body
    elif source.provider == "twilio":
        good, stale, header = deliver.twilio(source, callback()), None, "X-Twilio-Signature"
    else:
        good, stale, header = deliver.shopify(source, order()), None, "X-Shopify-Hmac-Sha256"
    if source.provider == "mailgun":  # what Mailgun signs: the timestamp and the token
        stamp = f"timestamp={int(time.time()) - 60}".encode()
        tampered = good.with_body(b"&".join(stamp if p.startswith(b"timestamp=") else p for p in good.body.split(b"&")))
    else:
        tampered = good.with_body(good.body.replace(b"maria", b"mallory").replace(b"0123", b"0666"))
    if header:
        missing = good.without(header)
    else:
        missing = good.with_body(b"&".join(p for p in good.body.split(b"&") if not p.startswith(b"signature=")))
    return {"tampered": tampered, "stale": stale, "missing": missing, "good": good}


@pytest.mark.parametrize(
    ("provider", "channel"), [("generic", "email"), ("mailgun", "email"), ("twilio", "phone"), ("shopify", "store")]
)
def test_forged_stale_and_unsigned_deliveries_are_refused_and_store_nothing(app, client, provider, channel):
    source = make_source(channel=channel, provider=provider)
    deliveries = _refusals(source)
    for case in ("tampered", "stale", "missing"):
        if deliveries[case] is None:
            continue  # Twilio and Shopify sign no time; their replays are absorbed by idempotency instead
        response = deliver.post(client, deliveries[case])
        assert response.status_code == 401, (case, response.json)
        assert response.json["title"] == "Invalid signature"
    assert interaction_count() == 0
    assert deliver.post(client, deliveries["good"]).status_code == 202
    replay = deliver.post(client, deliveries["good"])
    assert replay.status_code == 200 and replay.json["accepted"] == []
    assert interaction_count() == 1


def test_a_mailgun_token_that_signed_one_message_cannot_sign_another(app, client):
    # Mailgun's signature covers timestamp and token, not the message: a captured triple must not carry
    # forged content, while Mailgun's own retry of the same message (same triple) is a replay.
    source = make_source(channel="email", provider="mailgun")
    fields = {k: v for k, v in route_post().items() if k not in ("timestamp", "token", "signature")}
    genuine = deliver.mailgun(source, fields)
    assert deliver.post(client, genuine).status_code == 202
    assert deliver.post(client, genuine).status_code == 200
    forged = genuine.with_body(
        genuine.body.replace(b"CAB1042.maria", b"CAB6666.mallory").replace(b"arrived+broken", b"send+a+refund")
    )
    response = deliver.post(client, forged)
    assert response.status_code == 401 and "already signed another message" in response.json["detail"]
    assert interaction_count() == 1
