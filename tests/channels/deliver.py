"""Webhook deliveries as each provider sends them: the body, its Content-Type and the provider's signature.

A `Delivery` is posted through the Flask test client (`post`) or to a live server (`post_live`), so the
same payloads serve the in-process tests, the threaded races and the benchmark-like runs. Twilio
signs the URL it calls, so its deliveries are built for a base URL.
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.parse
from dataclasses import dataclass, field

import requests
from sqlalchemy import func, select

from crm.channels.signatures import sign_generic, sign_mailgun, sign_shopify, sign_twilio
from crm.extensions import db
from crm.profiles.models import Interaction

TEST_CLIENT_BASE = "http://localhost"
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Delivery:
    slug: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return f"/webhooks/{self.slug}"

    def with_body(self, body: bytes) -> Delivery:
        """The same headers (and so the same signature) over another body: a tampered delivery."""
        return Delivery(self.slug, body, self.headers)

    def without(self, header: str) -> Delivery:
        return Delivery(self.slug, self.body, {k: v for k, v in self.headers.items() if k.lower() != header.lower()})


def post(client, delivery: Delivery):
    return client.post(delivery.path, data=delivery.body, headers=delivery.headers)


def post_live(base_url: str, delivery: Delivery, session: requests.Session | None = None) -> requests.Response:
    sender = session or requests
    return sender.post(base_url + delivery.path, data=delivery.body, headers=delivery.headers, timeout=60)


def generic(source, payload: dict | bytes, *, t: int | None = None, secret: str | None = None) -> Delivery:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signature = sign_generic(secret or source.secret, body, int(time.time()) if t is None else t)
    return Delivery(source.slug, body, {"Content-Type": "application/json", "X-CRM-Signature": signature})


def mime(source, raw: bytes, *, t: int | None = None) -> Delivery:
    signature = sign_generic(source.secret, raw, int(time.time()) if t is None else t)
    return Delivery(source.slug, raw, {"Content-Type": "message/rfc822", "X-CRM-Signature": signature})


def mailgun(source, fields: dict[str, str], *, timestamp: int | None = None, key: str | None = None) -> Delivery:
    """A route post: Mailgun adds timestamp, token and the signing key's signature of the two."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    token = secrets.token_hex(25)
    signed = {
        **fields,
        "timestamp": stamp,
        "token": token,
        "signature": sign_mailgun(key or source.secret, stamp, token),
    }
    return Delivery(source.slug, urllib.parse.urlencode(signed).encode(), {"Content-Type": FORM})


def twilio(source, params: dict[str, str], *, base_url: str = TEST_CLIENT_BASE, token: str | None = None) -> Delivery:
    url = f"{base_url}/webhooks/{source.slug}"
    signature = sign_twilio(token or source.secret, url, params)
    return Delivery(
        source.slug, urllib.parse.urlencode(params).encode(), {"Content-Type": FORM, "X-Twilio-Signature": signature}
    )


def shopify(source, order: dict | bytes, *, topic: str = "orders/create", secret: str | None = None) -> Delivery:
    body = order if isinstance(order, bytes) else json.dumps(order).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign_shopify(secret or source.secret, body),
        "X-Shopify-Shop-Domain": "tea-and-mugs.myshopify.com",
        "X-Shopify-Webhook-Id": secrets.token_hex(16),
        "X-Shopify-API-Version": "2024-01",
    }
    return Delivery(source.slug, body, headers)


def interaction_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Interaction)) or 0


def processed_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).where(Interaction.processed_at.is_not(None))) or 0
