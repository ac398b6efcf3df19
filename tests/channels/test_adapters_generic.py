"""The generic provider: canonical JSON for every channel, raw MIME for email sources, and the registry."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from crm.channels.adapters import ADAPTERS, SourceInfo, adapter_for
from crm.channels.canonical import load_interactions
from crm.channels.signatures import verify_generic, verify_mailgun, verify_shopify, verify_twilio
from crm.errors import InvalidPayload, MalformedPayload, UnsupportedMediaType

RECEIVED = datetime(2024, 3, 20, 12, 0, tzinfo=UTC)
JSON = {"Content-Type": "application/json"}


def source(channel: str = "chat", **settings) -> SourceInfo:
    return SourceInfo(slug=f"{channel}-in", channel=channel, provider="generic", settings=settings)


def parse(payload, channel="chat", headers=JSON):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return ADAPTERS["generic"].parse(body, headers, source=source(channel), received_at=RECEIVED)


CALL = {
    "external_id": "call-77",
    "occurred_at": "2024-03-04T10:00:00+01:00",
    "type": "call",
    "direction": "inbound",
    "customer": {
        "phone": "+44 20 7946 0958",
        "name": "Grace Hopper",
        "attributes": {
            "first_name": "Grace",
            "last_name": "Hopper",
            "birth_date": "1906-12-09",
            "address": {"line1": "1 Navy Way", "city": "Arlington", "postcode": "22201", "country": "US"},
            "consent": {"email": True, "sms": False, "at": "2024-01-01T00:00:00Z"},
            "custom": {"tier": "gold", "visits": 12, "vip": True},
        },
    },
    "subject": "Question about delivery",
    "data": {"duration_s": 184, "outcome": "answered", "recording_url": "https://calls.example/r/77.mp3"},
}


def test_one_interaction_is_taken_as_is_attributes_included():
    [item] = parse(CALL, channel="phone")
    assert item == CALL
    [loaded] = load_interactions([item])
    assert loaded["customer"]["attributes"]["address"]["city"] == "Arlington"
    assert loaded["data"]["outcome"] == "answered"


def test_a_batch_of_interactions_keeps_its_order():
    batch = {"interactions": [dict(CALL, external_id=f"call-{i}") for i in range(5)]}
    items = parse(batch, channel="phone")
    assert [i["external_id"] for i in items] == [f"call-{i}" for i in range(5)]
    assert len(load_interactions(items)) == 5


def test_a_store_visit_without_purchase_is_a_visit():
    visit = {
        "external_id": "visit-9",
        "occurred_at": "2024-03-02T15:30:00+00:00",
        "type": "visit",
        "direction": "inbound",
        "customer": {"loyalty_id": "LOY-0042"},
        "data": {"store_id": "LDN-1", "store_name": "London Soho"},
    }
    [loaded] = load_interactions(parse(visit, channel="store"))
    assert loaded["type"] == "visit" and loaded["data"]["store_name"] == "London Soho"


def test_a_chat_transcript_is_one_conversation_and_its_text_comes_from_the_messages():
    transcript = {
        "external_id": "conv-123",
        "occurred_at": "2024-03-03T09:00:00Z",
        "type": "message",
        "direction": "inbound",
        "customer": {"chat_handle": "@ada", "email": "ada@example.org"},
        "data": {
            "conversation_id": "conv-123",
            "messages": [
                {"author": "customer", "at": "2024-03-03T09:00:00Z", "text": "My parcel is late"},
                {"author": "agent", "at": "2024-03-03T09:01:00Z", "text": "Sorry! Let me check."},
            ],
        },
    }
    [item] = parse(transcript)
    assert item["text"] == "customer: My parcel is late\nagent: Sorry! Let me check."
    [loaded] = load_interactions([item])
    assert loaded["data"]["conversation_id"] == "conv-123"
    assert [m["author"] for m in loaded["data"]["messages"]] == ["customer", "agent"]


def test_a_single_chat_message_keeps_its_own_text():
    message = {
        "external_id": "msg-1",
        "occurred_at": "2024-03-03T09:00:00Z",
        "type": "message",
        "direction": "inbound",
        "customer": {"chat_handle": "@ada"},
        "text": "Hello?",
        "data": {"conversation_id": "conv-124"},
    }
    assert parse(message) == [message]


def test_a_survey_answer_passes_the_schema():
    survey = {
        "external_id": "nps-1",
        "occurred_at": "2024-03-03T09:00:00Z",
        "type": "survey",
        "direction": "inbound",
        "customer": {"email": "ada@example.org"},
        "data": {"kind": "nps", "score": 9, "comment": "Great service"},
    }
    assert load_interactions(parse(survey, channel="store"))[0]["data"]["score"] == 9


def test_no_content_type_is_read_as_json():
    assert parse(CALL, channel="phone", headers={}) == [CALL]


def test_raw_email_to_an_email_source_is_read_as_mime():
    raw = b"From: Ada <ada@example.org>\nTo: help@shop.example\nSubject: Hi\nMessage-ID: <x1@example.org>\n\nHello\n"
    [item] = parse(raw, channel="email", headers={"Content-Type": "message/rfc822"})
    assert item["external_id"] == "<x1@example.org>" and item["text"] == "Hello"


def test_raw_email_to_a_chat_source_is_an_unsupported_media_type():
    with pytest.raises(UnsupportedMediaType, match="email sources only"):
        parse(b"From: a@b.c\n\nx", channel="chat", headers={"Content-Type": "message/rfc822"})


def test_form_bodies_are_an_unsupported_media_type_for_the_generic_provider():
    with pytest.raises(UnsupportedMediaType, match="application/json"):
        parse(b"a=1", headers={"Content-Type": "application/x-www-form-urlencoded"})


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"a": NaN}', "NaN"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"", "not valid JSON"),
        (b"[" * 5000 + b"]" * 5000, "not valid JSON"),
    ],
)
def test_unreadable_json_is_a_malformed_payload(body, reason):
    with pytest.raises(MalformedPayload, match=reason):
        parse(body)


def test_json_that_is_not_an_object_is_an_invalid_payload():
    with pytest.raises(InvalidPayload) as caught:
        parse([CALL])
    assert "_schema" in caught.value.errors


def test_interactions_must_be_a_list_of_objects():
    with pytest.raises(InvalidPayload) as caught:
        parse({"interactions": {"a": 1}})
    assert caught.value.errors == {"interactions": ["must be a list of interactions"]}
    with pytest.raises(InvalidPayload) as caught:
        parse({"interactions": [CALL, "x", 3]})
    assert caught.value.errors == {
        "interactions": {"1": ["must be an interaction object"], "2": ["must be an interaction object"]}
    }


def test_nul_characters_and_lone_surrogates_are_scrubbed_before_storage():
    body = b'{"external_id": "x\\u0000y", "text": "bad \\ud800 half", "customer": {"email": "a@b.c"}}'
    [item] = parse(body)
    assert item["external_id"] == "xy"
    item["text"].encode("utf-8")  # storable


def test_the_registry_names_every_provider_with_its_parse_and_signature_check():
    assert set(ADAPTERS) == {"generic", "mailgun", "twilio", "shopify"}
    assert ADAPTERS["generic"].verify is verify_generic
    assert ADAPTERS["mailgun"].verify is verify_mailgun and ADAPTERS["mailgun"].channels == ("email",)
    assert ADAPTERS["twilio"].verify is verify_twilio and ADAPTERS["twilio"].channels == ("phone",)
    assert ADAPTERS["shopify"].verify is verify_shopify and ADAPTERS["shopify"].channels == ("store",)
    assert set(ADAPTERS["generic"].channels) == {"email", "chat", "phone", "store"}
    with pytest.raises(KeyError, match="known: generic, mailgun, shopify, twilio"):
        adapter_for("zendesk")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=40,
)


def interaction_like():
    """Objects shaped roughly like interactions, so the property reaches deep into the schema."""
    return st.fixed_dictionaries(
        {},
        optional={
            "external_id": json_values,
            "occurred_at": st.sampled_from(["2024-03-03T09:00:00Z", "yesterday", "2024-03-03"]) | json_values,
            "type": st.sampled_from(["message", "call", "survey", "nope"]) | json_values,
            "direction": st.sampled_from(["inbound", "outbound"]) | json_values,
            "customer": st.fixed_dictionaries({}, optional={"email": json_values, "attributes": json_values})
            | json_values,
            "data": st.fixed_dictionaries({}, optional={"messages": json_values, "kind": json_values}) | json_values,
            "text": json_values,
        },
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=512))
def test_arbitrary_bytes_raise_only_payload_errors(body):
    for channel in ("chat", "email"):
        for headers in (JSON, {}, {"Content-Type": "message/rfc822"}):
            if headers.get("Content-Type") == "message/rfc822" and channel != "email":
                continue
            try:
                items = parse(body, channel=channel, headers=headers)
            except (MalformedPayload, InvalidPayload):
                continue
            _validates_or_names_fields(items)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    json_values | interaction_like() | st.fixed_dictionaries({"interactions": st.lists(interaction_like(), max_size=3)})
)
def test_arbitrary_json_raises_only_payload_errors(document):
    try:
        items = parse(document)
    except InvalidPayload:
        return
    _validates_or_names_fields(items)


def _validates_or_names_fields(items):
    assert isinstance(items, list) and all(isinstance(i, dict) for i in items)
    try:
        load_interactions(items)
    except ValidationError as exc:
        assert isinstance(exc.messages, dict) and exc.messages
