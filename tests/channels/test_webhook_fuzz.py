"""Property: whatever body arrives at a source of any provider, signed the provider's way so it reaches
the parser, the answer is never a 5xx, and a refused body stores nothing.

The bodies are arbitrary bytes, arbitrary JSON (with the numbers and escapes JSON parsers turn into
trouble: 1e400, \\u0000, lone surrogates), arbitrary forms, and real payloads with fields garbled.
Each example is one request through the whole app to the database, so the examples are few but deep.
"""

from __future__ import annotations

import copy
import json
import os
import secrets
import time
import urllib.parse

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from crm.channels.signatures import sign_generic, sign_mailgun, sign_shopify, sign_twilio
from tests.channels import deliver
from tests.channels.deliver import FORM, TEST_CLIENT_BASE, Delivery, interaction_count
from tests.channels.test_adapters_mailgun import route_post
from tests.channels.test_adapters_shopify import ORDER
from tests.channels.test_adapters_twilio import callback
from tests.factories import make_source

# FUZZ_EXAMPLES=500 for a deeper run than the suite's.
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PROVIDERS = [("generic", "email"), ("generic", "chat"), ("mailgun", "email"), ("twilio", "phone"), ("shopify", "store")]
CONTENT_TYPES = [
    "application/json",
    "message/rfc822",
    FORM,
    "multipart/form-data; boundary=xyz",
    "text/plain",
    "",
    "application/json; charset=latin-1",
    "application/vnd.api+json",
]
# Tokens placed in JSON text as they are: numbers that parse to infinity or a 400-digit int.
RAW = {"1e400": "1e400", "-1e400": "-1e400", "big": "1" * 400, "tiny": "1e-400"}
STRANGE_TEXT = st.sampled_from(
    [
        "\x00",
        "a\x00b",
        "\ud800",
        "x\udfffy",
        "\u202e",
        "",
        " ",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
    ]
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | STRANGE_TEXT
    | st.sampled_from([f"\x01RAW:{k}\x01" for k in RAW]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)


def to_json(value) -> bytes:
    text = json.dumps(value)
    for name, token in RAW.items():
        text = text.replace(json.dumps(f"\x01RAW:{name}\x01"), token)
    return text.encode()


def interaction_like():
    """Objects shaped roughly like canonical interactions, so the property reaches the schema and the database."""
    when = st.sampled_from(
        ["2026-03-03T09:00:00Z", "2026-03-03T09:00:00", "1800-01-01T00:00:00Z", "2024-02-30T00:00:00Z", "soon"]
    )
    customer = st.fixed_dictionaries(
        {"email": st.sampled_from(["ann@example.com", "not an email", "", "\x00@x.y"]) | json_values},
        optional={"phone": json_values, "attributes": json_values, "name": json_values},
    )
    return st.fixed_dictionaries(
        {
            "external_id": st.text(min_size=1, max_size=30) | STRANGE_TEXT | json_values,
            "occurred_at": when | json_values,
            "type": st.sampled_from(["message", "call", "survey", "purchase", "nope"]),
            "direction": st.sampled_from(["inbound", "outbound", "sideways"]),
            "customer": customer,
        },
        optional={
            "data": st.dictionaries(st.sampled_from(["items", "messages", "total", "x"]), json_values),
            "text": json_values,
        },
    )


def form_body(fields: dict[str, str]) -> bytes:
    # surrogatepass: a lone surrogate goes out as the invalid UTF-8 bytes a broken sender would post.
    return urllib.parse.urlencode(fields, encoding="utf-8", errors="surrogatepass").encode()


def signed(source, body: bytes, content_type: str) -> Delivery:
    """`body` signed the way `source`'s provider signs, so refusals come from parsing, not the signature."""
    headers = {"Content-Type": content_type} if content_type else {}
    if source.provider == "generic":
        headers["X-CRM-Signature"] = sign_generic(source.secret, body, int(time.time()))
    elif source.provider == "shopify":
        headers.update({"X-Shopify-Hmac-Sha256": sign_shopify(source.secret, body), "X-Shopify-Topic": "orders/create"})
    elif source.provider == "twilio":
        params = urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        headers["X-Twilio-Signature"] = sign_twilio(source.secret, f"{TEST_CLIENT_BASE}/webhooks/{source.slug}", params)
    else:  # mailgun: the signing triple travels in the form itself
        stamp, token = str(int(time.time())), secrets.token_hex(25)
        triple = {"timestamp": stamp, "token": token, "signature": sign_mailgun(source.secret, stamp, token)}
        body = body + b"&" + form_body(triple)
    return Delivery(source.slug, body, headers)


def never_a_5xx_and_nothing_stored_when_refused(client, delivery: Delivery) -> None:
    before = interaction_count()
    response = deliver.post(client, delivery)
    assert response.status_code < 500, response.get_data(as_text=True)[:1000]
    event(f"answered {response.status_code}")  # --hypothesis-show-statistics: how deep the bodies got
    stored = interaction_count() - before
    if response.status_code >= 400:
        assert stored == 0, f"a {response.status_code} stored {stored} interaction(s)"
        assert response.mimetype == "application/problem+json" and response.json["detail"]
    else:
        assert stored == len(response.json["accepted"])


@pytest.fixture
def sources(app):
    return [make_source(channel=channel, provider=provider) for provider, channel in PROVIDERS]


@FUZZ
@given(body=st.binary(max_size=600), content_type=st.sampled_from(CONTENT_TYPES), which=st.integers(0, 4))
def test_arbitrary_bytes_never_get_a_5xx(client, sources, body, content_type, which):
    never_a_5xx_and_nothing_stored_when_refused(client, signed(sources[which], body, content_type))


@FUZZ
@given(
    document=json_values
    | interaction_like()
    | st.fixed_dictionaries({"interactions": st.lists(interaction_like() | json_values, max_size=4)}),
    content_type=st.sampled_from(["application/json", "", "application/problem+json", FORM]),
    which=st.integers(0, 4),
)
def test_arbitrary_json_never_gets_a_5xx(client, sources, document, content_type, which):
    never_a_5xx_and_nothing_stored_when_refused(client, signed(sources[which], to_json(document), content_type))


@FUZZ
@given(
    fields=st.dictionaries(st.text(max_size=12), st.text(max_size=40) | STRANGE_TEXT, max_size=8),
    content_type=st.sampled_from([FORM, "application/json", ""]),
    which=st.integers(0, 4),
)
def test_arbitrary_forms_never_get_a_5xx(client, sources, fields, content_type, which):
    body = form_body(fields)
    never_a_5xx_and_nothing_stored_when_refused(client, signed(sources[which], body, content_type))


@FUZZ
@given(
    dropped=st.sets(st.sampled_from(list(ORDER))),
    replaced=st.dictionaries(st.sampled_from(list(ORDER)), json_values, max_size=6),
    order_id=st.integers(1, 2**53),
)
def test_a_shopify_order_with_fields_dropped_or_garbled_never_gets_a_5xx(client, sources, dropped, replaced, order_id):
    fresh = {**copy.deepcopy(ORDER), "id": order_id}  # a new order each time, so storing is exercised, not replays
    order = {k: replaced.get(k, v) for k, v in fresh.items() if k not in dropped}
    never_a_5xx_and_nothing_stored_when_refused(client, signed(sources[4], to_json(order), "application/json"))


@FUZZ
@given(
    dropped=st.sets(st.sampled_from(list(callback()))),
    replaced=st.dictionaries(st.sampled_from(list(callback())), st.text(max_size=30) | STRANGE_TEXT, max_size=6),
    call_sid=st.uuids(),
)
def test_a_twilio_callback_with_fields_dropped_or_garbled_never_gets_a_5xx(
    client, sources, dropped, replaced, call_sid
):
    fresh = callback(CallSid=f"CA{call_sid.hex}")
    params = {k: replaced.get(k, v) for k, v in fresh.items() if k not in dropped}
    never_a_5xx_and_nothing_stored_when_refused(client, signed(sources[3], form_body(params), FORM))


@FUZZ
@given(
    dropped=st.sets(st.sampled_from(list(route_post()))),
    replaced=st.dictionaries(st.sampled_from(list(route_post())), st.text(max_size=60) | STRANGE_TEXT, max_size=6),
    message=st.uuids(),
)
def test_a_mailgun_post_with_fields_dropped_or_garbled_never_gets_a_5xx(client, sources, dropped, replaced, message):
    post = route_post(**{"Message-Id": f"<{message.hex}@mail.example.com>"})
    unsigned = {k: v for k, v in post.items() if k not in ("timestamp", "token", "signature", "message-headers")}
    fields = {k: replaced.get(k, v) for k, v in unsigned.items() if k not in dropped}
    never_a_5xx_and_nothing_stored_when_refused(client, signed(sources[2], form_body(fields), FORM))
