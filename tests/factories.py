"""Factories for tests: sources, users with tokens, signed webhook deliveries, processed interactions."""

from __future__ import annotations

import itertools
import json
import time
from datetime import UTC, datetime, timedelta

from crm.channels.cli import create_source
from crm.channels.signatures import sign_generic
from crm.extensions import db

_seq = itertools.count(1)


def make_source(
    slug: str | None = None,
    channel: str = "email",
    provider: str = "generic",
    secret: str = "s3cret-s3cret-s3cret",
    **settings,
):
    source = create_source(slug or f"src-{next(_seq)}", channel, provider, secret, settings=settings)
    db.session.commit()
    return source


def make_user(role: str = "agent", email: str | None = None, password: str = "password123"):
    from crm.auth import tokens

    user = tokens.create_user(email or f"{role}{next(_seq)}@test.example", role, password)
    _, token = tokens.issue_token(user, "test")
    db.session.commit()
    return user, token


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def interaction(
    external_id: str | None = None,
    *,
    type_: str = "message",
    direction: str = "inbound",
    customer: dict | None = None,
    occurred_at: datetime | None = None,
    **fields,
) -> dict:
    item = {
        "external_id": external_id or f"ext-{next(_seq)}",
        "occurred_at": (occurred_at or datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
        "type": type_,
        "direction": direction,
        "customer": customer or {"email": f"person{next(_seq)}@example.com"},
    }
    item.update(fields)
    return item


def post_generic(
    client, source, payload, *, secret: str | None = None, t: int | None = None, headers: dict | None = None
):
    """POST a JSON payload to a generic source, signed the way the source expects."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signature = sign_generic(secret or source.secret, body, int(time.time()) if t is None else t)
    all_headers = {"Content-Type": "application/json", "X-CRM-Signature": signature}
    all_headers.update(headers or {})
    return client.post(f"/webhooks/{source.slug}", data=body, headers=all_headers)
