"""Twilio Voice status callbacks, shaped like the parameters Twilio's StatusCallback request carries."""

from __future__ import annotations

import urllib.parse
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from crm.channels.adapters import ADAPTERS, SourceInfo
from crm.channels.canonical import load_interactions
from crm.channels.signatures import sign_twilio
from crm.errors import InvalidPayload, MalformedPayload, UnsupportedMediaType

RECEIVED = datetime(2024, 3, 20, 12, 0, tzinfo=UTC)
SOURCE = SourceInfo("calls", "phone", "twilio", {"own_numbers": ["+1 (415) 555-0100"]})
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def callback(**overrides: str | None) -> dict[str, str]:
    """A completed inbound call's status callback, as Twilio posts it."""
    fields = {
        "AccountSid": "AC0123456789abcdef0123456789abcdef",
        "ApiVersion": "2010-04-01",
        "CallSid": "CA0123456789abcdef0123456789abcdef",
        "CallStatus": "completed",
        "CallDuration": "125",
        "Duration": "3",
        "CallbackSource": "call-progress-events",
        "Direction": "inbound",
        "From": "+14155550123",
        "FromCity": "SAN FRANCISCO",
        "FromState": "CA",
        "FromZip": "94105",
        "FromCountry": "US",
        "To": "+14155550100",
        "ToCity": "",
        "ToState": "CA",
        "ToZip": "",
        "ToCountry": "US",
        "Caller": "+14155550123",
        "Called": "+14155550100",
        "CallerName": "GRACE HOPPER",
        "SequenceNumber": "3",
        "SipResponseCode": "200",
        "Timestamp": "Tue, 05 Mar 2024 08:14:22 +0000",
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


def parse(fields: dict[str, str], source: SourceInfo = SOURCE) -> list[dict]:
    return ADAPTERS["twilio"].parse(urllib.parse.urlencode(fields).encode(), FORM, source=source, received_at=RECEIVED)


def test_completed_inbound_call_is_an_answered_call_from_the_caller():
    [item] = parse(callback())
    [loaded] = load_interactions([item])
    assert loaded["external_id"] == "CA0123456789abcdef0123456789abcdef"
    assert loaded["type"] == "call" and loaded["direction"] == "inbound"
    assert item["occurred_at"] == "2024-03-05T08:14:22+00:00"
    assert item["data"]["outcome"] == "answered" and item["data"]["duration_s"] == 125
    assert item["subject"] == "Inbound call, answered, 2 min 5 s"
    assert item["customer"]["phone"] == "+14155550123"
    assert item["customer"]["name"] == "GRACE HOPPER"


def test_inbound_call_fills_the_callers_address_from_twilio_geo_fields():
    [item] = parse(callback())
    assert item["customer"]["attributes"]["address"] == {
        "city": "San Francisco",
        "region": "CA",
        "postcode": "94105",
        "country": "US",
    }
    load_interactions([item])


def test_outbound_call_is_to_the_customer_and_uses_the_called_side_geo():
    post = callback(
        Direction="outbound-api",
        From="+14155550100",
        To="+442079460958",
        ToCity="LONDON",
        ToCountry="GB",
        ToState="",
        ToZip="",
    )
    [item] = parse(post)
    assert item["direction"] == "outbound"
    assert item["customer"]["phone"] == "+442079460958"
    assert item["customer"]["attributes"]["address"] == {"city": "London", "country": "GB"}
    assert "name" not in item["customer"]  # CallerName describes From, the business here
    assert item["data"]["twilio_direction"] == "outbound-api"


@pytest.mark.parametrize("status", ["queued", "initiated", "ringing", "in-progress"])
def test_intermediate_statuses_store_nothing(status):
    assert parse(callback(CallStatus=status, CallDuration=None)) == []


@pytest.mark.parametrize(
    ("status", "outcome"),
    [("busy", "busy"), ("no-answer", "missed"), ("canceled", "missed"), ("failed", "failed")],
)
def test_final_statuses_map_to_outcomes(status, outcome):
    [item] = parse(callback(CallStatus=status, CallDuration="0"))
    assert item["data"]["outcome"] == outcome and item["data"]["status"] == status
    load_interactions([item])


def test_a_completed_call_of_zero_seconds_was_missed():
    assert parse(callback(CallDuration="0"))[0]["data"]["outcome"] == "missed"


def test_answering_machine_detection_makes_an_outbound_call_a_voicemail():
    post = callback(Direction="outbound-api", From="+14155550100", To="+14155550199", AnsweredBy="machine_end_beep")
    [item] = parse(post)
    assert item["data"]["outcome"] == "voicemail" and item["data"]["answered_by"] == "machine_end_beep"


def test_an_inbound_recorded_call_is_a_voicemail_when_the_source_says_so():
    recording = "https://api.twilio.com/2010-04-01/Accounts/AC01/Recordings/RE01"
    voicemail_source = SourceInfo("vm", "phone", "twilio", {"voicemail_when_recorded": True})
    [item] = parse(callback(RecordingUrl=recording, RecordingDuration="31"), voicemail_source)
    assert item["data"]["outcome"] == "voicemail"
    assert item["data"]["recording_url"] == recording and item["data"]["recording_duration_s"] == 31
    assert parse(callback(RecordingUrl=recording))[0]["data"]["outcome"] == "answered"
    load_interactions([item])


def test_a_leg_to_one_of_the_businesss_own_numbers_is_not_a_customer_call():
    forwarded = callback(
        Direction="outbound-dial",
        From="+14155550123",
        To="+14155550100",
        ParentCallSid="CA99",
    )
    assert parse(forwarded) == []


@pytest.mark.parametrize(
    "number", ["anonymous", "Restricted", "+266696687", "+7378742833", "client:agent-ana", "sip:ana@pbx.example", ""]
)
def test_a_caller_without_a_phone_number_stores_nothing(number):
    # Withheld callers would otherwise all become one customer with the number +266696687 ("ANONYMOUS").
    assert parse(callback(From=number)) == []


def test_without_a_timestamp_the_receipt_time_is_used():
    assert parse(callback(Timestamp=None))[0]["occurred_at"] == RECEIVED.isoformat()
    assert parse(callback(Timestamp="not a date"))[0]["occurred_at"] == RECEIVED.isoformat()


def test_empty_or_invalid_geo_fields_are_left_out():
    [item] = parse(callback(FromCity="", FromState="", FromZip="", FromCountry="USA"))
    assert "attributes" not in item["customer"]


def test_two_letters_that_are_no_country_are_left_out_and_the_call_is_still_valid():
    for code in ("ZZ", "XX"):  # not ISO 3166-1: the schema would refuse the call log for its country
        [item] = parse(callback(FromCity="", FromState="", FromZip="", FromCountry=code))
        assert "attributes" not in item["customer"]
        load_interactions([item])
    [item] = parse(callback(FromCountry=" gb "))
    assert item["customer"]["attributes"]["address"]["country"] == "GB"


def test_form_parsed_by_the_web_layer_is_used_as_given():
    form = {k: [v] for k, v in callback().items()}
    [item] = ADAPTERS["twilio"].parse(b"", FORM, source=SOURCE, received_at=RECEIVED, form=form)
    assert item["external_id"] == "CA0123456789abcdef0123456789abcdef"


def test_a_signed_callback_verifies_and_parses():
    url = "https://crm.example/webhooks/calls"
    fields = callback()
    headers = {**FORM, "X-Twilio-Signature": sign_twilio("auth-token", url, fields)}
    body = urllib.parse.urlencode(fields).encode()
    adapter = ADAPTERS["twilio"]
    adapter.verify(["auth-token"], body=body, headers=headers, url=url, form=None, now=RECEIVED, tolerance_s=300)
    assert len(adapter.parse(body, headers, source=SOURCE, received_at=RECEIVED)) == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"CallSid": None}, "CallSid"),
        ({"CallStatus": "exploded"}, "CallStatus"),
        ({"Direction": "sideways"}, "Direction"),
        ({"CallDuration": "two minutes"}, "CallDuration"),
        ({"CallDuration": "-4"}, "CallDuration"),
    ],
)
def test_callbacks_with_missing_or_wrong_fields_name_them(overrides, field):
    with pytest.raises(InvalidPayload) as caught:
        parse(callback(**overrides))
    assert field in caught.value.errors


def test_json_is_not_a_status_callback():
    with pytest.raises(UnsupportedMediaType):
        ADAPTERS["twilio"].parse(b"{}", {"Content-Type": "application/json"}, source=SOURCE, received_at=RECEIVED)


def test_an_unreadable_form_is_malformed():
    with pytest.raises(MalformedPayload):
        ADAPTERS["twilio"].parse(b"CallSid=CA1&&&\xff", FORM, source=SOURCE, received_at=RECEIVED)


twilio_values = st.sampled_from(
    ["", "completed", "ringing", "busy", "inbound", "outbound-dial", "+14155550123", "0", "12.5", "US", "nope"]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from(list(callback()) + ["RecordingUrl", "AnsweredBy", "RecordingDuration"]) | st.text(max_size=10),
        st.lists(twilio_values | st.text(max_size=30), min_size=1, max_size=2),
        max_size=16,
    )
)
def test_arbitrary_forms_raise_only_payload_errors(form):
    try:
        items = ADAPTERS["twilio"].parse(b"", FORM, source=SOURCE, received_at=RECEIVED, form=form)
    except (MalformedPayload, InvalidPayload):
        return
    try:
        load_interactions(items)
    except ValidationError as exc:
        assert isinstance(exc.messages, dict)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bodies_raise_only_payload_errors(body):
    try:
        ADAPTERS["twilio"].parse(body, FORM, source=SOURCE, received_at=RECEIVED)
    except (MalformedPayload, InvalidPayload):
        pass


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    dropped=st.sets(st.sampled_from(list(callback()))),
    replaced=st.dictionaries(st.sampled_from(list(callback())), twilio_values | st.text(max_size=30), max_size=6),
)
def test_a_valid_callback_with_fields_dropped_or_garbled_is_refused_by_name_or_valid(dropped, replaced):
    form = {k: [replaced.get(k, v)] for k, v in callback().items() if k not in dropped}
    try:
        items = ADAPTERS["twilio"].parse(b"", FORM, source=SOURCE, received_at=RECEIVED, form=form)
    except (MalformedPayload, InvalidPayload):
        return
    load_interactions(items)  # what the adapter returns for a real delivery always passes the schema
