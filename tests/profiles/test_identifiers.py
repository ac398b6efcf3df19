"""Identifier normalisation, pure: plain strings in, canonical values or InvalidIdentifier out."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm.profiles.identifiers import (
    InvalidIdentifier,
    extract_identifiers,
    is_blocked,
    normalise_chat_handle,
    normalise_email,
    normalise_external_id,
    normalise_loyalty_id,
    normalise_phone,
)

# --- phones -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "(415) 555-0132",
        "415-555-0132",
        "415.555.0132",
        "415 555 0132",
        "4155550132",
        "1 415 555 0132",
        "+1 415 555 0132",
        "+1 (415) 555-0132",
        "+1-415-555-0132",
        "+14155550132",
        "011 1 415 555 0132",
        "  (415) 555-0132  ",
        "(415) 555-0132 ext. 12",
        "415-555-0132 x99",
        "+1 415 555 0132;ext=7",
        "tel:+1-415-555-0132",
    ],
)
def test_us_phone_formats_give_one_e164(raw):
    assert normalise_phone(raw, default_region="US") == "+14155550132"


@pytest.mark.parametrize(
    "raw, region",
    [
        ("+44 20 7946 0958", "US"),
        ("+44 (0)20 7946 0958", "US"),
        ("0044 20 7946 0958", "US"),
        ("0044 20 7946 0958", "GB"),
        ("011 44 20 7946 0958", "US"),
        ("020 7946 0958", "GB"),
        ("02079460958", "GB"),
        ("+442079460958", "FR"),
    ],
)
def test_international_phone_formats_give_one_e164(raw, region):
    assert normalise_phone(raw, default_region=region) == "+442079460958"


def test_national_number_is_read_in_the_default_region():
    assert normalise_phone("01 42 68 53 00", default_region="FR") == "+33142685300"
    assert normalise_phone("06 12 34 56 78", default_region="FR") == "+33612345678"


def test_vanity_letters_are_dialled():
    assert normalise_phone("1-800-FLOWERS", default_region="US") == "+18003569377"


def test_normalised_phone_is_unchanged_in_any_region():
    assert normalise_phone("+442079460958", default_region="US") == "+442079460958"
    assert normalise_phone("+14155550132", default_region="GB") == "+14155550132"


@pytest.mark.parametrize(
    "raw",
    [
        "555-0132",  # no area code: too short to be a US number
        "415 555 013",  # a digit missing
        "415 555 01322",  # a digit too many
        "(000) 555-0132",  # no such area code
        "+999 1234 5678",  # no such country code
        "call me maybe",
        "+",
        "12",
        "020 7946 0958",  # a London number read as a US one
    ],
)
def test_impossible_phone_numbers_are_invalid(raw):
    with pytest.raises(InvalidIdentifier) as info:
        normalise_phone(raw, default_region="US")
    assert info.value.kind == "phone"
    assert info.value.raw == raw
    assert info.value.reason


@pytest.mark.parametrize("raw", ["", "   ", None, 4155550132, ["+14155550132"]])
def test_blank_and_non_string_phones_are_invalid(raw):
    with pytest.raises(InvalidIdentifier):
        normalise_phone(raw)


# --- emails -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("jane.doe@example.com", "jane.doe@example.com"),
        ("  Jane.Doe@Example.COM \n", "jane.doe@example.com"),
        ("JANE.DOE@EXAMPLE.COM", "jane.doe@example.com"),
        ("\tjane.doe@example.com\u00a0", "jane.doe@example.com"),
        ("mailto:Jane.Doe@example.com", "jane.doe@example.com"),
        ("o'brien@example.ie", "o'brien@example.ie"),
    ],
)
def test_email_is_trimmed_and_lower_cased(raw, expected):
    assert normalise_email(raw) == expected


def test_unicode_local_part_is_accepted_and_lower_cased():
    assert normalise_email("Jäne@example.de") == "jäne@example.de"
    assert normalise_email("ÑOÑO@example.es") == "ñoño@example.es"


def test_decomposed_and_composed_accents_give_one_address():
    assert normalise_email("jose\u0301@example.es") == normalise_email("jos\u00e9@example.es")


def test_idn_domain_in_punycode_or_unicode_gives_one_address():
    assert normalise_email("user@xn--mnchen-3ya.de") == "user@münchen.de"
    assert normalise_email("User@MÜNCHEN.de") == "user@münchen.de"


def test_plus_tags_stay_distinct_by_default():
    assert normalise_email("Jane+Shop@example.com") == "jane+shop@example.com"
    assert normalise_email("jane+shop@example.com") != normalise_email("jane@example.com")


def test_plus_tags_are_stripped_when_configured():
    assert normalise_email("Jane+Shop@example.com", strip_plus_tags=True) == "jane@example.com"
    assert normalise_email("jane+a+b@example.com", strip_plus_tags=True) == "jane@example.com"
    assert normalise_email("jane@example.com", strip_plus_tags=True) == "jane@example.com"


@pytest.mark.parametrize(
    "raw",
    [
        "jane.doe",
        "jane doe@example.com",
        "jane@@example.com",
        "@example.com",
        "jane@",
        "jane@localhost",
        "jane@example",
        "jane..doe@example.com",
        "Jane Doe <jane@example.com>",
        "+shop@example.com",
        "",
        "   ",
        None,
        42,
    ],
)
def test_malformed_emails_are_invalid(raw):
    with pytest.raises(InvalidIdentifier) as info:
        normalise_email(raw, strip_plus_tags=raw == "+shop@example.com")
    assert info.value.kind == "email"
    assert info.value.reason


# --- chat, loyalty, external ---------------------------------------------------------------------


def test_chat_handle_is_namespaced_lower_cased_without_at():
    assert normalise_chat_handle("  @BobSmith ", namespace="slack") == "slack:bobsmith"
    assert normalise_chat_handle("bobsmith", namespace="slack") == "slack:bobsmith"


def test_chat_handle_already_namespaced_keeps_one_namespace():
    assert normalise_chat_handle("whatsapp:+14155550132", namespace="whatsapp") == "whatsapp:+14155550132"
    assert normalise_chat_handle("slack:bobsmith", namespace="slack") == "slack:bobsmith"


def test_same_handle_in_two_providers_is_two_identifiers():
    assert normalise_chat_handle("bob", namespace="slack") != normalise_chat_handle("bob", namespace="intercom")


@pytest.mark.parametrize("raw", ["", "  ", "@", " @ ", None])
def test_empty_chat_handle_is_invalid(raw):
    with pytest.raises(InvalidIdentifier):
        normalise_chat_handle(raw, namespace="slack")


def test_loyalty_id_is_upper_cased_without_spaces_or_dashes():
    assert normalise_loyalty_id(" ab-1234 5678 ") == "AB12345678"
    assert normalise_loyalty_id("AB12345678") == "AB12345678"


@pytest.mark.parametrize("raw", ["", " - - ", None])
def test_empty_loyalty_id_is_invalid(raw):
    with pytest.raises(InvalidIdentifier):
        normalise_loyalty_id(raw)


def test_external_id_keeps_case_and_is_namespaced():
    assert normalise_external_id(" cus_AbC123 ", namespace="shopify") == "shopify:cus_AbC123"
    assert normalise_external_id("cus_AbC123", namespace="shopify") != normalise_external_id(
        "cus_abc123", namespace="shopify"
    )


# --- extract_identifiers ------------------------------------------------------------------------


def test_extract_identifiers_normalises_every_kind_and_keeps_invalid_ones():
    block = {
        "email": " Jane@Example.com ",
        "phone": "555-0132",
        "name": "Jane Doe",
        "chat_handle": "@JaneD",
        "loyalty_id": "ab-12",
        "external_id": "cus_1",
        "attributes": {"first_name": "Jane"},
    }
    found = extract_identifiers(
        block, source_slug="web", source_settings={}, default_region="US", strip_plus_tags=False
    )
    assert found == [
        {"kind": "email", "value": "jane@example.com", "raw": " Jane@Example.com ", "valid": True, "error": None},
        {"kind": "phone", "value": None, "raw": "555-0132", "valid": False, "error": found[1]["error"]},
        {"kind": "chat", "value": "web:janed", "raw": "@JaneD", "valid": True, "error": None},
        {"kind": "loyalty", "value": "AB12", "raw": "ab-12", "valid": True, "error": None},
        {"kind": "external", "value": "web:cus_1", "raw": "cus_1", "valid": True, "error": None},
    ]
    assert "not a valid phone number" in found[1]["error"]


def test_extract_identifiers_uses_configured_namespaces_region_and_plus_tags():
    block = {"email": "jane+x@example.com", "phone": "020 7946 0958", "chat_handle": "jd", "external_id": "42"}
    found = extract_identifiers(
        block,
        source_slug="shop-eu",
        source_settings={"chat_namespace": "intercom", "customer_namespace": "shopify"},
        default_region="GB",
        strip_plus_tags=True,
    )
    assert [(i["kind"], i["value"]) for i in found] == [
        ("email", "jane@example.com"),
        ("phone", "+442079460958"),
        ("chat", "intercom:jd"),
        ("external", "shopify:42"),
    ]


def test_extract_identifiers_skips_absent_and_blank_fields():
    found = extract_identifiers(
        {"email": "  ", "phone": None, "loyalty_id": "L1"},
        source_slug="pos",
        source_settings={},
        default_region="US",
        strip_plus_tags=False,
    )
    assert found == [{"kind": "loyalty", "value": "L1", "raw": "L1", "valid": True, "error": None}]


# --- blocklist ----------------------------------------------------------------------------------

BLOCKLIST = [
    "email:support@*",
    "email:*@mycompany.com",
    "phone:+14155550100",
    "loyalty:guest*",
    "chat:slack:helpdesk",
]


@pytest.mark.parametrize(
    "kind, value",
    [
        ("email", "support@shop.com"),
        ("email", "support@other.org"),
        ("email", "anyone@mycompany.com"),
        ("phone", "+14155550100"),
        ("loyalty", "GUEST0001"),
        ("chat", "slack:helpdesk"),
    ],
)
def test_shared_identifiers_are_blocked(kind, value):
    assert is_blocked(kind, value, BLOCKLIST)


@pytest.mark.parametrize(
    "kind, value",
    [
        ("email", "jane@shop.com"),
        ("email", "jane.support@shop.com"),
        ("email", "anyone@mycompany.com.evil.org"),
        ("phone", "+14155550101"),
        ("chat", "intercom:helpdesk"),
        ("loyalty", "AB12"),
    ],
)
def test_other_identifiers_are_not_blocked(kind, value):
    assert not is_blocked(kind, value, BLOCKLIST)


def test_blocklist_entry_of_another_kind_does_not_block():
    assert not is_blocked("phone", "+14155550100", ["email:*"])
    assert is_blocked("email", "x@y.com", ["email:*"])


def test_blocklist_entries_are_case_insensitive_for_case_insensitive_kinds():
    assert is_blocked("email", "support@shop.com", ["EMAIL:Support@Shop.com"])
    assert is_blocked("loyalty", "GUEST1", ["loyalty:guest1"])


def test_blocklist_entry_without_kind_applies_to_every_kind():
    assert is_blocked("email", "support@shop.com", ["support@*"])


def test_empty_blocklist_blocks_nothing():
    assert not is_blocked("email", "support@shop.com", [])
    assert not is_blocked("email", "support@shop.com", ["", "  "])


# --- properties ---------------------------------------------------------------------------------

ANY_TEXT = st.text(max_size=60)
PHONE_TEXT = st.text(alphabet="0123456789 +-().xext", max_size=30)
NAMESPACES = st.sampled_from(["slack", "whatsapp", "intercom", "shop-eu"])
REGIONS = st.sampled_from(["US", "GB", "FR", "DE", "IN", "BR"])


def _idempotent(normalise, raw):
    try:
        once = normalise(raw)
    except InvalidIdentifier:
        return
    assert normalise(once) == once


@settings(max_examples=300, deadline=None)
@given(raw=st.one_of(ANY_TEXT, st.emails()), strip=st.booleans())
def test_email_normalisation_is_idempotent_and_only_raises_invalid_identifier(raw, strip):
    _idempotent(lambda r: normalise_email(r, strip_plus_tags=strip), raw)


@settings(max_examples=300, deadline=None)
@given(raw=st.one_of(ANY_TEXT, PHONE_TEXT), region=REGIONS)
def test_phone_normalisation_is_idempotent_and_only_raises_invalid_identifier(raw, region):
    _idempotent(lambda r: normalise_phone(r, default_region=region), raw)


@settings(max_examples=300, deadline=None)
@given(raw=ANY_TEXT, namespace=NAMESPACES)
def test_chat_handle_normalisation_is_idempotent(raw, namespace):
    _idempotent(lambda r: normalise_chat_handle(r, namespace=namespace), raw)


@settings(max_examples=300, deadline=None)
@given(raw=ANY_TEXT)
def test_loyalty_id_normalisation_is_idempotent(raw):
    _idempotent(normalise_loyalty_id, raw)


@settings(max_examples=300, deadline=None)
@given(raw=ANY_TEXT, namespace=NAMESPACES)
def test_external_id_normalisation_is_idempotent(raw, namespace):
    _idempotent(lambda r: normalise_external_id(r, namespace=namespace), raw)


@settings(max_examples=200, deadline=None)
@given(
    block=st.dictionaries(
        st.sampled_from(["email", "phone", "chat_handle", "loyalty_id", "external_id", "name"]),
        st.one_of(st.none(), ANY_TEXT, st.integers()),
    ),
    strip=st.booleans(),
)
def test_extract_identifiers_never_raises_and_reports_every_given_field(block, strip):
    found = extract_identifiers(
        block, source_slug="web", source_settings={}, default_region="US", strip_plus_tags=strip
    )
    for item in found:
        assert item["valid"] == (item["value"] is not None) == (item["error"] is None)
