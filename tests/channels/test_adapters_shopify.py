"""Shopify orders/create webhooks, online and POS, shaped like Shopify's REST Order webhook payload."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from crm.channels.adapters import ADAPTERS, SourceInfo
from crm.channels.canonical import load_interactions
from crm.channels.signatures import sign_shopify
from crm.errors import InvalidPayload, MalformedPayload, UnsupportedMediaType

RECEIVED = datetime(2024, 3, 20, 12, 0, tzinfo=UTC)
SOURCE = SourceInfo("shop", "store", "shopify", {"locations": {"48752903": "Soho flagship"}})
HEADERS = {
    "Content-Type": "application/json",
    "X-Shopify-Topic": "orders/create",
    "X-Shopify-Shop-Domain": "tea-and-mugs.myshopify.com",
    "X-Shopify-API-Version": "2024-01",
    "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
}

ADDRESS = {
    "first_name": "Maria",
    "last_name": "Gonzalez",
    "name": "Maria Gonzalez",
    "company": None,
    "phone": "+34 600 000 001",
    "address1": "Calle Mayor 1",
    "address2": "2º B",
    "city": "Madrid",
    "province": "Madrid",
    "province_code": "M",
    "zip": "28013",
    "country": "Spain",
    "country_code": "ES",
    "latitude": None,
    "longitude": None,
}

ORDER = {
    "id": 820982911946154508,
    "admin_graphql_api_id": "gid://shopify/Order/820982911946154508",
    "name": "#1001",
    "order_number": 1001,
    "number": 1,
    "email": "maria.gonzalez@example.com",
    "phone": None,
    "created_at": "2024-03-05T10:12:31+01:00",
    "processed_at": "2024-03-05T10:12:30+01:00",
    "currency": "EUR",
    "total_price": "41.90",
    "subtotal_price": "36.90",
    "total_tax": "7.27",
    "total_discounts": "0.00",
    "financial_status": "paid",
    "fulfillment_status": None,
    "buyer_accepts_marketing": False,
    "customer_locale": "es-ES",
    "source_name": "web",
    "location_id": None,
    "customer": {
        "id": 115310627314723954,
        "email": "maria.gonzalez@example.com",
        "first_name": "Maria",
        "last_name": "Gonzalez",
        "phone": "+34600000001",
        "state": "enabled",
        "email_marketing_consent": {
            "state": "subscribed",
            "opt_in_level": "single_opt_in",
            "consent_updated_at": "2024-01-10T09:00:00+01:00",
        },
        "sms_marketing_consent": {
            "state": "not_subscribed",
            "opt_in_level": "single_opt_in",
            "consent_updated_at": None,
            "consent_collected_from": "OTHER",
        },
        "default_address": {**ADDRESS, "address1": "Calle Antigua 9", "address2": None, "zip": "28001"},
    },
    "billing_address": ADDRESS,
    "shipping_address": {**ADDRESS, "address1": "Oficina Central, Paseo 3", "address2": None, "zip": "28046"},
    "line_items": [
        {
            "id": 866550311766439020,
            "product_id": 632910392,
            "variant_id": 808950810,
            "title": "Stoneware mug",
            "variant_title": "Blue",
            "name": "Stoneware mug - Blue",
            "sku": "MUG-BLUE",
            "vendor": "Tea & Mugs",
            "quantity": 2,
            "price": "12.95",
        },
        {
            "id": 141249953214522974,
            "product_id": 632910393,
            "variant_id": 808950811,
            "title": "Sencha green tea",
            "variant_title": None,
            "name": "Sencha green tea",
            "sku": "TEA-SENCHA",
            "vendor": "Kyoto Leaf",
            "product_type": "Tea",
            "quantity": 1,
            "price": "11.00",
        },
    ],
}


def order(**overrides) -> dict:
    body = copy.deepcopy(ORDER)
    body.update(overrides)
    return body


def parse(payload, headers=HEADERS, source=SOURCE) -> list[dict]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return ADAPTERS["shopify"].parse(body, headers, source=source, received_at=RECEIVED)


def test_online_order_becomes_one_purchase_keyed_by_order_id():
    [item] = parse(order())
    [loaded] = load_interactions([item])
    assert loaded["external_id"] == "order:820982911946154508"
    assert loaded["type"] == "purchase" and loaded["direction"] == "inbound"
    assert item["occurred_at"] == "2024-03-05T10:12:30+01:00"
    assert item["subject"] == "Order #1001"
    assert item["text"] == "2 × Stoneware mug - Blue; 1 × Sencha green tea — 41.90 EUR"


def test_order_data_carries_number_money_items_and_store():
    [item] = parse(order())
    data = item["data"]
    assert data["order_number"] == "#1001" and data["shopify_order_number"] == "1001"
    assert (data["currency"], data["total"], data["subtotal"], data["tax"]) == ("EUR", "41.90", "36.90", "7.27")
    assert data["items"][0] == {
        "sku": "MUG-BLUE",
        "name": "Stoneware mug - Blue",
        "quantity": 2,
        "unit_price": "12.95",
        "vendor": "Tea & Mugs",
        "product_id": "632910392",
        "variant_id": "808950810",
        "variant_title": "Blue",
    }
    assert data["items"][1]["category"] == "Tea"
    assert data["store_id"] == data["store_name"] == "tea-and-mugs.myshopify.com"
    assert "pos" not in data
    [loaded] = load_interactions([item])
    assert str(loaded["data"]["total"]) == "41.90"


def test_the_customer_gets_identifiers_name_billing_address_locale_and_consent():
    [item] = parse(order())
    assert item["customer"] == {
        "email": "maria.gonzalez@example.com",
        "phone": "+34600000001",
        "external_id": "115310627314723954",
        "name": "Maria Gonzalez",
        "attributes": {
            "first_name": "Maria",
            "last_name": "Gonzalez",
            "address": {
                "line1": "Calle Mayor 1",
                "line2": "2º B",
                "city": "Madrid",
                "postcode": "28013",
                "region": "Madrid",
                "country": "ES",
            },
            "locale": "es-ES",
            "consent": {"email": True, "sms": False, "at": "2024-01-10T09:00:00+01:00"},
        },
    }
    load_interactions([item])


def test_a_country_code_that_is_no_country_is_left_out_and_the_order_is_still_valid():
    [item] = parse(order(billing_address={**ADDRESS, "country_code": "XX"}))
    assert "country" not in item["customer"]["attributes"]["address"]
    assert item["customer"]["attributes"]["address"]["city"] == "Madrid"
    load_interactions([item])


def test_the_other_addresses_are_kept_in_data():
    [item] = parse(order())
    assert item["data"]["shipping_address"]["line1"] == "Oficina Central, Paseo 3"
    assert item["data"]["default_address"]["line1"] == "Calle Antigua 9"
    assert "billing_address" not in item["data"]


def test_without_billing_the_shipping_address_is_the_customers():
    [item] = parse(order(billing_address=None))
    assert item["customer"]["attributes"]["address"]["line1"] == "Oficina Central, Paseo 3"
    assert "shipping_address" not in item["data"] and item["data"]["default_address"]


def test_without_billing_or_shipping_the_default_address_is_used():
    [item] = parse(order(billing_address=None, shipping_address=None))
    assert item["customer"]["attributes"]["address"]["line1"] == "Calle Antigua 9"


def test_legacy_accepts_marketing_is_read_when_there_is_no_consent_object():
    shopper = {**ORDER["customer"], "email_marketing_consent": None, "sms_marketing_consent": None}
    shopper["accepts_marketing"] = True
    [item] = parse(order(customer=shopper))
    assert item["customer"]["attributes"]["consent"] == {"email": True}


@pytest.mark.parametrize("state", ["pending", "invalid", "redacted"])
def test_undecided_consent_states_say_nothing(state):
    shopper = copy.deepcopy(ORDER["customer"])
    shopper["email_marketing_consent"]["state"] = state
    shopper["sms_marketing_consent"] = None
    [item] = parse(order(customer=shopper, buyer_accepts_marketing=None))
    assert "consent" not in item["customer"]["attributes"]


def test_pos_order_names_its_location_as_the_store():
    [item] = parse(order(source_name="pos", location_id=48752903, customer_locale=None))
    data = item["data"]
    assert data["pos"] is True and data["source_name"] == "pos"
    assert data["store_id"] == "48752903" and data["store_name"] == "Soho flagship"
    assert data["location_id"] == "48752903"


def test_pos_location_without_a_configured_name_falls_back_to_the_shop_domain():
    [item] = parse(order(source_name="pos", location_id=1), source=SourceInfo("shop", "store", "shopify", {}))
    assert item["data"]["store_id"] == "1" and item["data"]["store_name"] == "tea-and-mugs.myshopify.com"


def test_guest_checkout_uses_the_order_email():
    [item] = parse(order(customer=None))
    assert item["customer"]["email"] == "maria.gonzalez@example.com"
    assert item["customer"]["name"] == "Maria Gonzalez"  # from the billing address
    assert "external_id" not in item["customer"]
    load_interactions([item])


def test_an_anonymous_pos_sale_has_nobody_to_attach_to_and_stores_nothing():
    assert parse(order(customer=None, email=None, phone=None, source_name="pos", location_id=1)) == []


@pytest.mark.parametrize("topic", ["orders/updated", "refunds/create", "customers/create", "app/uninstalled"])
def test_topics_other_than_orders_create_store_nothing(topic):
    assert parse(order(), headers={**HEADERS, "X-Shopify-Topic": topic}) == []


def test_without_a_topic_header_the_body_is_read_as_an_order():
    headers = {k: v for k, v in HEADERS.items() if k != "X-Shopify-Topic"}
    assert len(parse(order(), headers=headers)) == 1


def test_a_signed_webhook_verifies_and_parses():
    body = json.dumps(order()).encode()
    headers = {**HEADERS, "X-Shopify-Hmac-Sha256": sign_shopify("shpss_secret", body)}
    adapter = ADAPTERS["shopify"]
    adapter.verify(["shpss_secret"], body=body, headers=headers, url="", form=None, now=RECEIVED, tolerance_s=300)
    assert adapter.parse(body, headers, source=SOURCE, received_at=RECEIVED)[0]["external_id"].startswith("order:")


def test_an_order_without_an_id_names_the_field():
    with pytest.raises(InvalidPayload) as caught:
        parse(order(id=None))
    assert "id" in caught.value.errors


def test_an_unreadable_created_at_names_the_field():
    with pytest.raises(InvalidPayload) as caught:
        parse(order(created_at="last tuesday", processed_at=None))
    assert "created_at" in caught.value.errors


def test_an_unreadable_price_is_left_out_rather_than_guessed():
    items = [dict(ORDER["line_items"][0], price="twelve")]
    [item] = parse(order(line_items=items, total_price="NaN"))
    assert "unit_price" not in item["data"]["items"][0] and "total" not in item["data"]
    load_interactions([item])


def test_json_that_is_not_an_object_is_invalid_and_broken_json_is_malformed():
    with pytest.raises(InvalidPayload):
        parse([ORDER])
    with pytest.raises(MalformedPayload):
        parse(b'{"id": 1,')


def test_a_form_body_is_an_unsupported_media_type():
    with pytest.raises(UnsupportedMediaType):
        parse(b"id=1", headers={"Content-Type": "application/x-www-form-urlencoded"})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    dropped=st.sets(st.sampled_from(list(ORDER))),
    replaced=st.dictionaries(st.sampled_from(list(ORDER)), json_values, max_size=6),
)
def test_a_real_order_with_fields_dropped_or_garbled_is_refused_by_name_or_valid(dropped, replaced):
    document = {k: replaced.get(k, v) for k, v in copy.deepcopy(ORDER).items() if k not in dropped}
    try:
        items = parse(document)
    except (MalformedPayload, InvalidPayload):
        return
    load_interactions(items)  # a garbled field is left out or named, never a schema failure downstream


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
def test_arbitrary_bytes_and_json_raise_only_payload_errors(body):
    _raises_only_payload_errors(body)


def _raises_only_payload_errors(body: bytes) -> None:
    try:
        items = parse(body)
    except (MalformedPayload, InvalidPayload):
        return
    try:
        load_interactions(items)
    except ValidationError as exc:
        assert isinstance(exc.messages, dict)
