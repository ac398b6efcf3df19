"""The webhook's contract, request by request: stored and 202, replays 200, every refusal a clear 4xx
with nothing stored, and every outcome in the delivery log."""

from __future__ import annotations

import json
import time

import pytest
import requests
from sqlalchemy import select
from werkzeug.test import EnvironBuilder

from crm.channels.intake import Received, store_canonical
from crm.channels.models import Delivery
from crm.extensions import db
from crm.profiles.models import Interaction, InteractionPayload
from tests.channels import deliver
from tests.channels.deliver import interaction_count
from tests.factories import interaction, make_source, post_generic


def _deliveries() -> list[Delivery]:
    db.session.expire_all()
    return list(db.session.scalars(select(Delivery).order_by(Delivery.id)))


def test_a_new_interaction_is_stored_and_answered_202_with_its_id(app, client):
    source = make_source(channel="chat")
    response = post_generic(client, source, interaction("chat-1", text="Where is my order?"))
    assert response.status_code == 202
    (interaction_id,) = response.json["accepted"]
    assert response.json == {"accepted": [interaction_id], "replayed": [], "ids": [interaction_id], "erased": []}
    row = db.session.get(Interaction, interaction_id)
    assert (row.external_id, row.channel, row.text) == ("chat-1", "chat", "Where is my order?")


def test_a_replay_stores_nothing_and_answers_200_with_the_first_ids(app, client):
    source = make_source(channel="chat")
    payload = interaction("chat-1")
    first = post_generic(client, source, payload)
    again = post_generic(client, source, payload)
    assert again.status_code == 200
    assert again.json == {
        "accepted": [],
        "replayed": first.json["accepted"],
        "ids": first.json["accepted"],
        "erased": [],
    }
    assert interaction_count() == 1


def test_a_batch_mixing_new_and_replayed_interactions_stores_only_the_new_ones(app, client):
    source = make_source(channel="store")
    first = post_generic(client, source, {"interactions": [interaction("b"), interaction("d")]})
    b_id, d_id = first.json["ids"]
    batch = {"interactions": [interaction("a"), interaction("b"), interaction("c"), interaction("d")]}
    response = post_generic(client, source, batch)
    assert response.status_code == 202
    assert response.json["replayed"] == [b_id, d_id]
    a_id, c_id = response.json["accepted"]
    assert response.json["ids"] == [a_id, b_id, c_id, d_id], "ids follow the order of the request"
    assert interaction_count() == 4


def test_a_single_delivery_keeps_its_raw_body_and_a_batch_keeps_each_element(app, client):
    source = make_source(channel="chat")
    raw = json.dumps(interaction("one", text="raw  spacing kept")).encode()
    single = post_generic(client, source, raw, headers={"Cookie": "session=x", "User-Agent": "shop-bot/1"})
    (single_id,) = single.json["accepted"]
    stored = db.session.get(InteractionPayload, single_id)
    assert stored.body == raw and stored.content_type == "application/json"
    assert stored.headers["user-agent"] == "shop-bot/1" and "cookie" not in stored.headers

    elements = [interaction("two", text="for two"), interaction("three", text="for three")]
    batch = post_generic(client, source, {"interactions": elements})
    for interaction_id, element in zip(batch.json["accepted"], elements, strict=True):
        assert json.loads(db.session.get(InteractionPayload, interaction_id).body) == element


@pytest.mark.parametrize(
    ("provider", "channel", "content_type"),
    [
        ("generic", "chat", "text/plain"),
        ("generic", "chat", "application/x-www-form-urlencoded"),
        ("twilio", "phone", "application/json"),
        ("shopify", "store", "application/x-www-form-urlencoded"),
        ("mailgun", "email", "application/json"),
    ],
)
def test_a_media_type_the_provider_does_not_send_is_refused_with_415(app, client, provider, channel, content_type):
    source = make_source(channel=channel, provider=provider)
    body = b"CallSid=CA1&x=1" if "form" in content_type else b'{"id": 1}'
    response = client.post(f"/webhooks/{source.slug}", data=body, headers={"Content-Type": content_type})
    # Mailgun retries everything but 200 and 406, so its permanent refusals are 406.
    assert response.status_code == (406 if provider == "mailgun" else 415)
    assert response.mimetype == "application/problem+json"
    assert content_type in response.json["detail"]
    assert interaction_count() == 0


def test_raw_email_to_a_chat_source_is_a_415(app, client):
    source = make_source(channel="chat")
    response = deliver.post(client, deliver.mime(source, b"From: a@example.com\r\n\r\nhi\r\n"))
    assert response.status_code == 415 and "email sources only" in response.json["detail"]


def test_a_body_over_the_limit_is_413_and_stored_nothing(app, client):
    source = make_source(channel="chat")
    app.config["WEBHOOK_MAX_BYTES"] = 2000
    try:
        big = interaction("big", text="x" * 3000)
        response = post_generic(client, source, big)
        assert response.status_code == 413 and "2000" in response.json["detail"]
        small = post_generic(client, source, interaction("small", text="fits"))
        assert small.status_code == 202
    finally:
        app.config["WEBHOOK_MAX_BYTES"] = 5 * 1024 * 1024
    assert interaction_count() == 1
    assert [d.status_code for d in _deliveries()] == [413, 202]


def test_a_chunked_body_over_the_limit_is_413_over_real_http(app, live_server):
    source = make_source(channel="chat")
    app.config["WEBHOOK_MAX_BYTES"] = 2000

    def chunks():  # no Content-Length: requests sends it chunked
        for _ in range(200):
            yield b"x" * 1024

    try:
        response = requests.post(
            f"{live_server}/webhooks/{source.slug}", data=chunks(), headers={"Content-Type": "application/json"}
        )
    finally:
        app.config["WEBHOOK_MAX_BYTES"] = 5 * 1024 * 1024
    assert response.status_code == 413
    assert interaction_count() == 0
    assert [d.status_code for d in _deliveries()] == [413]


def test_a_body_without_a_length_is_never_read_past_the_limit(app):
    source = make_source(channel="chat")
    app.config["WEBHOOK_MAX_BYTES"] = 2000
    read = []

    class Endless:
        """A chunked request body that never ends, counting what the app reads of it."""

        def read(self, size=-1):
            size = 65536 if size is None or size < 0 else size
            read.append(size)
            return b"x" * size

        readline = read

    environ = EnvironBuilder(path=f"/webhooks/{source.slug}", method="POST", content_type="application/json")
    environ = environ.get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ.update({"wsgi.input": Endless(), "wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"})
    statuses = []
    try:
        b"".join(app.wsgi_app(environ, lambda status, headers, exc_info=None: statuses.append(status)))
    finally:
        app.config["WEBHOOK_MAX_BYTES"] = 5 * 1024 * 1024
    assert statuses == ["413 REQUEST ENTITY TOO LARGE"]
    assert sum(read) == 2001
    assert interaction_count() == 0


def test_an_unknown_source_is_404_and_a_disabled_one_too(app, client):
    assert client.post("/webhooks/nobody", data=b"{}").status_code == 404
    source = make_source(channel="chat")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["sources", "disable", source.slug]).exit_code == 0
    response = post_generic(client, source, interaction("late"))
    assert response.status_code == 404 and "disabled" in response.json["detail"]
    assert interaction_count() == 0
    assert [(d.status_code, d.error) for d in _deliveries()] == [(404, f"the source '{source.slug}' is disabled")]


@pytest.mark.parametrize("case", ["tampered", "stale", "future", "missing", "wrong secret", "garbled"])
def test_a_bad_signature_is_401_and_stores_nothing(app, client, case):
    source = make_source(channel="chat")
    payload = interaction("signed")
    good = deliver.generic(source, payload)
    delivery = {
        "tampered": good.with_body(json.dumps({**payload, "text": "changed"}).encode()),
        "stale": deliver.generic(source, payload, t=int(time.time()) - 301),
        "future": deliver.generic(source, payload, t=int(time.time()) + 301),
        "missing": good.without("X-CRM-Signature"),
        "wrong secret": deliver.generic(source, payload, secret="not-the-source-secret"),
        "garbled": deliver.Delivery(source.slug, good.body, {**good.headers, "X-CRM-Signature": "v1=abc"}),
    }[case]
    response = deliver.post(client, delivery)
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
    assert response.json["title"] == "Invalid signature"
    assert interaction_count() == 0
    assert deliver.post(client, good).status_code == 202


def test_malformed_json_is_400_saying_where(app, client):
    source = make_source(channel="chat")
    response = post_generic(client, source, b'{"external_id": "x",, }')
    assert response.status_code == 400
    assert "line 1, column" in response.json["detail"]


def test_schema_violations_are_422_naming_each_field_of_each_interaction(app, client):
    source = make_source(channel="chat")
    good = interaction("fine")
    bad_type = interaction("bad-type", type_="telegram")
    no_identifier = interaction("nobody", customer={"name": "Ann"})
    response = post_generic(client, source, {"interactions": [good, bad_type, no_identifier]})
    assert response.status_code == 422
    errors = response.json["errors"]["interactions"]
    assert set(errors) == {"1", "2"}
    assert "type" in errors["1"]
    assert "at least one identifier" in errors["2"]["customer"]["_schema"][0]
    assert interaction_count() == 0, "one bad interaction refuses the whole batch"


def test_attributes_that_break_the_rules_are_422_naming_each_field(app, client):
    source = make_source(channel="chat")
    attributes = {
        "birth_date": "1990-02-30",
        "address": {"country": "XX"},
        "custom": {"Tier": "gold", "ok": 1, "far": 1e400},
    }
    payload = interaction("attrs", customer={"email": "a@example.com", "attributes": attributes})
    response = post_generic(client, source, json.dumps(payload).replace("Infinity", "1e400").encode())
    assert response.status_code == 422
    fields = response.json["errors"]["customer"]["attributes"]
    assert set(fields) == {"birth_date", "address", "custom"}
    assert set(fields["address"]) == {"country"}
    assert set(fields["custom"]) == {"Tier", "far"}
    assert fields["custom"]["far"] == ["must be a finite number"]
    assert interaction_count() == 0


@pytest.mark.parametrize(
    ("occurred_at", "ok"),
    [("1899-12-31T23:00:00+00:00", False), ("2999-01-01T00:00:00+00:00", False), ("1999-01-01T00:00:00Z", True)],
)
def test_an_interaction_must_have_happened_between_1900_and_a_day_from_now(app, client, occurred_at, ok):
    source = make_source(channel="chat")
    response = post_generic(client, source, {**interaction("when"), "occurred_at": occurred_at})
    assert response.status_code == (202 if ok else 422)
    if not ok:
        assert "occurred_at" in response.json["errors"]


def test_nul_characters_are_stripped_and_infinite_numbers_refused_for_every_caller(app, client):
    source = make_source(channel="chat")
    # \u0000 escapes through the webhook: stripped before they reach PostgreSQL.
    body = json.dumps(interaction("nul\u0000id", text="a\u0000b", data={"k\u0000": "v\u0000"})).encode()
    response = post_generic(client, source, body)
    assert response.status_code == 202
    row = db.session.get(Interaction, response.json["accepted"][0])
    assert (row.external_id, row.text, row.data) == ("nulid", "ab", {"k": "v"})
    # 1e400 parses as infinity, which JSON columns cannot hold: a 422 naming where it was.
    infinite = json.dumps(interaction("inf", data={"depth": [0.5]})).replace("0.5", "1e400").encode()
    response = post_generic(client, source, infinite)
    assert response.status_code == 422
    assert response.json["errors"]["data"]["depth"] == {"0": ["must be a finite number"]}
    # An in-process caller (demo data, an agent's note) gets the same cleaning.
    outcome = store_canonical(
        source,
        [interaction("in-process\x00", text="lone \ud800 surrogate\x00")],
        Received(body=b"", headers={}, url="test", content_type="application/json"),
    )
    stored = db.session.get(Interaction, outcome.accepted[0])
    assert stored.external_id == "in-process" and "\x00" not in stored.text and "\ud800" not in stored.text


def test_a_mailgun_refusal_no_retry_can_fix_is_406_but_a_bad_signature_stays_401(app, client):
    source = make_source(channel="email", provider="mailgun")
    no_sender = deliver.mailgun(source, {"recipient": "support@shop.example", "subject": "hi", "body-plain": "x"})
    response = deliver.post(client, no_sender)
    assert response.status_code == 406
    assert "does not retry" in response.json["detail"]
    forged = deliver.mailgun(source, {"from": "a@example.com", "body-plain": "x"}, key="some-other-signing-key")
    assert deliver.post(client, forged).status_code == 401
    assert [d.status_code for d in _deliveries()] == [406, 401]


def test_every_outcome_is_in_the_delivery_log_with_its_error_and_never_the_body(app, client):
    source = make_source(channel="chat")
    secret_text = "my card number is 4111 1111 1111 1111"
    post_generic(client, source, interaction("ok", text=secret_text))
    post_generic(client, source, interaction("ok", text=secret_text))
    post_generic(client, source, interaction("bad", type_="fax", text=secret_text))
    post_generic(client, source, b"not json " + secret_text.encode())
    deliver.post(client, deliver.generic(source, interaction("x")).without("X-CRM-Signature"))
    rows = _deliveries()
    assert [(d.status_code, d.accepted, d.replayed) for d in rows] == [
        (202, 1, 0),
        (200, 0, 1),
        (422, 0, 0),
        (400, 0, 0),
        (401, 0, 0),
    ]
    assert [d.error is None for d in rows] == [True, True, False, False, False]
    assert "type" in rows[2].error and "not valid JSON" in rows[3].error and "X-CRM-Signature" in rows[4].error
    assert all(secret_text not in (d.error or "") for d in rows)
    assert all(d.size_bytes > 0 and d.content_type == "application/json" for d in rows)


def test_a_twilio_callback_for_a_call_still_ringing_is_200_and_stores_nothing(app, client):
    source = make_source(channel="phone", provider="twilio")
    ringing = {"CallSid": "CA1", "CallStatus": "ringing", "Direction": "inbound", "From": "+14155550123"}
    response = deliver.post(client, deliver.twilio(source, ringing))
    assert response.status_code == 200 and response.json == {"accepted": [], "replayed": [], "ids": [], "erased": []}
    assert interaction_count() == 0
    assert [d.status_code for d in _deliveries()] == [200]
