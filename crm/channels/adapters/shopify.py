"""Shopify `orders/create` webhooks (online and POS orders) -> one purchase interaction per order.

The body is Shopify's REST Order resource as JSON. The order id is the idempotency key ("order:<id>"),
so Shopify's retries (same X-Shopify-Webhook-Id) store nothing twice. The customer's identifiers,
name, addresses and marketing consent become the canonical customer; money stays a decimal string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from crm.channels.adapters.shape import (
    FULL_NAME_MAX,
    NAME_MAX,
    SUBJECT_MAX,
    aware,
    clip,
    compact,
    country_code,
    load_json,
    parse_iso,
    require_object,
    rfc3339,
    text_or_none,
)
from crm.channels.signatures import header, media_type
from crm.errors import InvalidPayload, UnsupportedMediaType

if TYPE_CHECKING:
    from crm.channels.adapters import SourceInfo

ORDER_TOPICS = ("orders/create",)
MAX_ITEMS = 1000
ADDRESS_KINDS = ("billing_address", "shipping_address", "default_address")
# Shopify's marketing consent states: only these two say yes or no; pending, invalid and redacted say neither.
_LOCALE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
CONSENT_STATES = {"subscribed": True, "unsubscribed": False, "not_subscribed": False}


def parse(
    body: bytes,
    headers: Mapping[str, str],
    *,
    source: SourceInfo,
    received_at: datetime,
    form: Mapping[str, list[str]] | None = None,
) -> list[dict]:
    """An order -> [one purchase interaction]; another topic, or an order with no customer identifier -> [].

    The topic comes from X-Shopify-Topic; without one, the body is read as an order. An anonymous POS
    sale (no customer, email or phone) has nobody to attach to and returns []. Raises MalformedPayload
    for a body that is not JSON and InvalidPayload for an order without an id.
    """
    kind = media_type(headers)
    if kind not in ("application/json", ""):
        raise UnsupportedMediaType(f"Shopify webhooks are JSON; got Content-Type {kind!r}")
    topic = (header(headers, "X-Shopify-Topic") or "orders/create").strip().lower()
    order = require_object(load_json(body), "a Shopify order")
    if topic not in ORDER_TOPICS:
        return []
    order_id = text_or_none(order.get("id"))
    if order_id is None:
        raise InvalidPayload("the order has no id", errors={"id": ["a Shopify order carries its id"]})
    customer = _customer(order)
    if not any(customer.get(k) for k in ("email", "phone", "external_id")):
        return []
    data = _order_data(order, headers, source.settings)
    return [
        compact(
            {
                "external_id": f"order:{order_id}",
                "occurred_at": rfc3339(_occurred_at(order) or aware(received_at)),
                "type": "purchase",
                "direction": "inbound",
                "customer": customer,
                "subject": clip(f"Order {data.get('order_number') or order_id}", SUBJECT_MAX),
                "text": _summary(data),
                "data": data,
            }
        )
    ]


def _occurred_at(order: dict[str, Any]) -> datetime | None:
    name = "processed_at" if order.get("processed_at") else "created_at"
    occurred = parse_iso(order.get(name))
    if order.get(name) and occurred is None:
        raise InvalidPayload(f"{name} is not a date-time", errors={name: ["must be an ISO 8601 date-time"]})
    return occurred


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def address(raw: Any) -> dict[str, str]:
    """A Shopify address in the canonical shape; the country as its ISO alpha-2 code."""
    raw = _dict(raw)
    return compact(
        {
            "line1": clip(text_or_none(raw.get("address1")), 200),
            "line2": clip(text_or_none(raw.get("address2")), 200),
            "city": clip(text_or_none(raw.get("city")), 100),
            "postcode": clip(text_or_none(raw.get("zip")), 20),
            "region": clip(text_or_none(raw.get("province")) or text_or_none(raw.get("province_code")), 100),
            "country": country_code(raw.get("country_code")),
        }
    )


def _addresses(order: dict[str, Any]) -> dict[str, dict[str, str]]:
    shopper = _dict(order.get("customer"))
    raw = {
        "billing_address": order.get("billing_address"),
        "shipping_address": order.get("shipping_address"),
        "default_address": shopper.get("default_address"),
    }
    return {kind: shaped for kind in ADDRESS_KINDS if (shaped := address(raw[kind]))}


def _customer(order: dict[str, Any]) -> dict[str, Any]:
    shopper = _dict(order.get("customer"))
    billing = _dict(order.get("billing_address"))
    first = text_or_none(shopper.get("first_name")) or text_or_none(billing.get("first_name"))
    last = text_or_none(shopper.get("last_name")) or text_or_none(billing.get("last_name"))
    name = " ".join(p for p in (first, last) if p) or text_or_none(billing.get("name"))
    addresses = _addresses(order)
    # The customer's address is billing, else shipping, else their saved default; the others go to data.
    chosen = next(iter(addresses.values()), None)
    attributes = compact(
        {
            "first_name": clip(first, NAME_MAX),
            "last_name": clip(last, NAME_MAX),
            "address": chosen,
            "locale": _locale(order.get("customer_locale")),
            "consent": _consent(order, shopper),
        }
    )
    return compact(
        {
            "email": text_or_none(shopper.get("email")) or text_or_none(order.get("email")),
            "phone": text_or_none(shopper.get("phone")) or text_or_none(order.get("phone")),
            "external_id": text_or_none(shopper.get("id")),
            "name": clip(name, FULL_NAME_MAX),
            "attributes": attributes,
        }
    )


def _consent(order: dict[str, Any], shopper: dict[str, Any]) -> dict[str, Any]:
    email_consent = _dict(shopper.get("email_marketing_consent"))
    sms_consent = _dict(shopper.get("sms_marketing_consent"))
    email = CONSENT_STATES.get(str(email_consent.get("state") or "").lower())
    if email is None:
        # accepts_marketing is the older, deprecated field; buyer_accepts_marketing is on the order.
        legacy = shopper.get("accepts_marketing", order.get("buyer_accepts_marketing"))
        email = legacy if isinstance(legacy, bool) else None
    sms = CONSENT_STATES.get(str(sms_consent.get("state") or "").lower())
    at = parse_iso(email_consent.get("consent_updated_at")) or parse_iso(sms_consent.get("consent_updated_at"))
    if email is None and sms is None:
        return {}
    return compact({"email": email, "sms": sms, "at": rfc3339(at) if at else None})


def _locale(value: Any) -> str | None:
    # An order is worth more than its locale: one the schema would refuse is left out, not fatal.
    text = text_or_none(value)
    return text if text and _LOCALE.match(text) else None


def _money(value: Any) -> str | None:
    text = text_or_none(value)
    if text is None:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    return text if amount.is_finite() else None


def _item(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        return None
    quantity = raw.get("quantity")
    return compact(
        {
            "sku": clip(text_or_none(raw.get("sku")), 100),
            "name": clip(text_or_none(raw.get("name")) or text_or_none(raw.get("title")), 300),
            # REST line items rarely carry product_type; vendor is a brand, not a category, so it stays apart.
            "category": clip(text_or_none(raw.get("product_type")), 100),
            "quantity": quantity if isinstance(quantity, int | float) and not isinstance(quantity, bool) else None,
            "unit_price": _money(raw.get("price")),
            "vendor": text_or_none(raw.get("vendor")),
            "product_id": text_or_none(raw.get("product_id")),
            "variant_id": text_or_none(raw.get("variant_id")),
            "variant_title": text_or_none(raw.get("variant_title")),
        }
    )


def _store(
    order: dict[str, Any], headers: Mapping[str, str], settings: Mapping[str, Any]
) -> tuple[str | None, str | None]:
    shop = text_or_none(header(headers, "X-Shopify-Shop-Domain"))
    location = text_or_none(order.get("location_id"))
    if location is None:
        return shop, shop
    names = settings.get("locations") if isinstance(settings.get("locations"), dict) else {}
    return location, text_or_none(names.get(location)) or shop


def _order_data(order: dict[str, Any], headers: Mapping[str, str], settings: Mapping[str, Any]) -> dict[str, Any]:
    line_items = order.get("line_items") if isinstance(order.get("line_items"), list) else []
    items = [shaped for raw in line_items[:MAX_ITEMS] if (shaped := _item(raw)) is not None]
    store_id, store_name = _store(order, headers, settings)
    others = dict(list(_addresses(order).items())[1:])
    currency = (text_or_none(order.get("currency")) or "").upper()
    return compact(
        {
            "order_number": text_or_none(order.get("name")) or text_or_none(order.get("order_number")),
            "shopify_order_number": text_or_none(order.get("order_number")),
            "shopify_order_id": text_or_none(order.get("id")),
            "currency": currency if _CURRENCY.match(currency) else None,
            "total": _money(order.get("total_price")),
            "subtotal": _money(order.get("subtotal_price")),
            "tax": _money(order.get("total_tax")),
            "discounts": _money(order.get("total_discounts")),
            "items": items,
            "store_id": clip(store_id, 100),
            "store_name": clip(store_name, 200),
            "shop_domain": text_or_none(header(headers, "X-Shopify-Shop-Domain")),
            "source_name": text_or_none(order.get("source_name")),
            "pos": True if order.get("source_name") == "pos" or order.get("location_id") else None,
            "location_id": text_or_none(order.get("location_id")),
            "financial_status": text_or_none(order.get("financial_status")),
            "fulfillment_status": text_or_none(order.get("fulfillment_status")),
            **others,
        }
    )


def _summary(data: dict[str, Any]) -> str | None:
    """A line for search and the timeline: "2 × Blue mug; 1 × Tea — 31.00 EUR"."""
    lines = [f"{_quantity(i.get('quantity', 1))} × {i['name']}" for i in data.get("items", []) if i.get("name")]
    total = f" — {data['total']} {data.get('currency', '')}".rstrip() if data.get("total") else ""
    text = "; ".join(lines[:20]) + ("; …" if len(lines) > 20 else "") + total
    return text.strip(" —") or None


def _quantity(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
