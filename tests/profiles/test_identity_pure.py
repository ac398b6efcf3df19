"""Plain unit tests of the pure pieces of identity: attribute keys from a customer block and from an edit,
timeline details, match records and their keys, and the benchmark's pairwise figures."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bench.identity.run_pipeline import figures
from crm.profiles import attributes, matching
from crm.profiles.models import Interaction
from crm.profiles.similarity import PersonRecord
from crm.profiles.timeline import channel_details


def test_a_customer_block_flattens_to_attribute_keys_and_drops_empty_values():
    block = {
        "email": "a@example.com",
        "name": "  Ann Lee ",
        "attributes": {
            "first_name": "Ann",
            "birth_date": date(1990, 4, 1),
            "address": {"line1": "1 High St", "line2": None, "city": "London", "postcode": ""},
            "locale": "",
            "consent": {"email": True, "sms": None, "at": datetime(2026, 1, 1, tzinfo=UTC)},
            "custom": {"tier": "gold", "vip": False},
        },
    }
    assert attributes.flatten(block) == {
        "name": "Ann Lee",
        "first_name": "Ann",
        "birth_date": "1990-04-01",
        "address": {"line1": "1 High St", "city": "London"},
        "consent.email": {"granted": True, "at": "2026-01-01T00:00:00+00:00"},
        "custom.tier": "gold",
        "custom.vip": False,
    }
    assert attributes.flatten(None) == {} and attributes.flatten({"email": "x@y.z"}) == {}


def test_an_edit_pins_what_it_names_and_null_clears_it():
    edits = attributes.edits_from_patch(
        {"first_name": None, "locale": "fr-FR", "consent": {"sms": None, "email": False}, "custom": {"tier": None}}
    )
    assert edits["first_name"] is None and edits["locale"] == "fr-FR"
    assert edits["consent.sms"] is None and edits["consent.email"]["granted"] is False
    assert edits["custom.tier"] is None and "last_name" not in edits
    assert attributes.edits_from_patch({"consent": None}) == {f"consent.{c}": None for c in ("email", "sms", "phone")}


def test_display_name_prefers_first_and_last_over_the_channel_name():
    assert attributes.display_name({"first_name": {"value": "Ann"}, "name": {"value": "A. Lee"}}) == "Ann"
    assert attributes.display_name({"name": {"value": "A. Lee"}}) == "A. Lee"
    assert attributes.display_name({}) is None


def test_timeline_details_are_the_channels_own_and_skip_what_is_empty():
    call = Interaction(
        type="call", channel="phone", data={"duration_s": 61, "outcome": "missed", "recording_url": None}
    )
    order = Interaction(type="purchase", channel="store", data={"total": "9.50", "currency": "EUR", "items": []})
    chat = Interaction(type="message", channel="chat", data={"conversation_id": "c1", "other": 1})
    assert channel_details(call) == {"duration_s": 61, "outcome": "missed"}
    assert channel_details(order) == {"total": "9.50", "currency": "EUR"}
    assert channel_details(chat) == {"conversation_id": "c1"}


def test_a_match_record_survives_its_json_and_its_keys_are_stable_hashes():
    record = PersonRecord(
        customer_id=7,
        first_name="Jon",
        last_name="Smyth",
        emails=("jon@example.com",),
        invalid_phones=("555-01",),
        birth_date=date(1985, 3, 2),
        postcode="SW1A 2AA",
        city="London",
    )
    assert matching.from_json(7, matching.to_json(record)) == record
    blocking, frequency = matching.record_keys(record)
    assert matching.key_hash("pc:SW1A2AA") in blocking
    assert matching.key_hash("fq:last:smyth") in frequency and not blocking & frequency
    assert matching.key_hash("x") == matching.key_hash("x") and -(2**63) <= matching.key_hash("x") < 2**63


def test_a_record_is_built_from_attribute_values_and_identifiers():
    values = {
        "first_name": {"value": "Ann"},
        "birth_date": {"value": "1990-04-01"},
        "address": {"value": {"city": "Leeds", "postcode": "LS1 4AP", "country": "GB"}},
    }
    record = matching.build_record(3, values, [("email", "a@x.com"), ("phone", "+441132345678")], ["0113 234"])
    assert (record.first_name, record.birth_date, record.city, record.postcode) == (
        "Ann",
        date(1990, 4, 1),
        "Leeds",
        "LS1 4AP",
    )
    assert (record.emails, record.phones, record.invalid_phones) == (("a@x.com",), ("+441132345678",), ("0113 234",))
    failed = [{"kind": "phone", "valid": False, "value": None, "raw": "555"}, {"kind": "phone", "valid": True}]
    assert matching.invalid_phones_of(failed) == {"555"}


def test_pairwise_figures_count_pairs_inside_groups():
    # Items 0-2 truly one group, 3-4 another; the prediction joins 0-1 and wrongly 2-3.
    result = figures([1, 1, 2, 2, 3], [7, 7, 7, 8, 8])
    assert (result["pairs"], result["true_pairs"], result["correct"]) == (2, 4, 1)
    assert (result["precision"], result["recall"]) == (0.5, 0.25)
