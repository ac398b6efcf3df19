"""Agents' notes and logged calls: interactions of internal sources, processed like any other.

A note or call goes through `crm.channels.intake.store_canonical` (validated by the canonical schema,
stored with its raw payload and outbox row) and is enqueued for the worker, which attaches it to the
customer it names (crm/profiles/resolve.py, `_resolve_internal`) rather than by identifiers. Notes
come from the `crm-notes` source (channel internal); logged calls from `crm-calls` (channel phone),
so a logged call counts as a phone contact and opens or answers a case like a Twilio call.
"""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from crm import jobs
from crm.channels.intake import Received, store_canonical
from crm.channels.models import Source
from crm.columns import utcnow
from crm.extensions import db
from crm.profiles.models import Interaction
from crm.profiles.resolve import active_customer

# kind -> (slug, channel, name). Inactive, so no webhook can post to them; only this module writes.
INTERNAL_SOURCES = {
    "note": ("crm-notes", "internal", "Agents' notes"),
    "call": ("crm-calls", "phone", "Calls logged by agents"),
}


def internal_source(kind: str) -> Source:
    slug, channel, name = INTERNAL_SOURCES[kind]
    source = db.session.scalar(select(Source).where(Source.slug == slug))
    if source is not None:
        return source
    try:
        with db.session.begin_nested():
            source = Source(
                slug=slug,
                channel=channel,
                provider="generic",
                name=name,
                secret=secrets.token_urlsafe(32),  # never used: the source takes no webhooks
                active=False,
                settings={"internal": True},
            )
            db.session.add(source)
    except IntegrityError:  # another request created it first
        source = db.session.scalar(select(Source).where(Source.slug == slug))
    return source


def _store(kind: str, customer_id: int, item: dict, author) -> int:
    source = internal_source(kind)
    body = json.dumps(item, default=str).encode()
    outcome = store_canonical(
        source, [item], Received(body=body, headers={}, url="api", content_type="application/json")
    )
    (interaction_id,) = outcome.accepted or outcome.replayed
    if outcome.accepted and author is not None:
        db.session.execute(update(Interaction).where(Interaction.id == interaction_id).values(author_id=author.id))
        db.session.commit()
    if outcome.accepted:
        from crm.pipeline import process_interactions

        jobs.enqueue(process_interactions, [interaction_id])
    return interaction_id


def _item(kind: str, customer_id: int, author, *, occurred_at: datetime | None, key: str | None, **fields) -> dict:
    external = f"{kind}-{customer_id}-{key}" if key else f"{kind}-{uuid.uuid4().hex}"
    data = {
        "customer_id": customer_id,
        "author_id": getattr(author, "id", None),
        "author": getattr(author, "email", None),
    }
    data.update(fields.pop("data", {}))
    item = {
        "external_id": external[:255],
        "occurred_at": (occurred_at or utcnow()).isoformat(),
        # The canonical schema wants an identifier; resolution of internal sources never reads it.
        "customer": {"external_id": f"customer-{customer_id}"},
        "data": {k: v for k, v in data.items() if v is not None},
    }
    item.update({k: v for k, v in fields.items() if v is not None})
    return item


def record_note(
    customer_id: int, *, text: str, author, subject: str | None = None, occurred_at=None, key: str | None = None
) -> int:
    """Store an agent's note for the customer and enqueue it; returns the interaction id.

    `key` makes a retried request safe: the same key for the same customer stores one note.
    """
    active_customer(customer_id)
    item = _item(
        "note",
        customer_id,
        author,
        occurred_at=occurred_at,
        key=key,
        type="note",
        direction="outbound",
        text=text,
        subject=subject,
    )
    return _store("note", customer_id, item, author)


def log_call(
    customer_id: int,
    *,
    direction: str,
    author,
    duration_s: float | None = None,
    outcome: str | None = None,
    text: str | None = None,
    subject: str | None = None,
    occurred_at=None,
    key: str | None = None,
) -> int:
    """Store a call an agent took or made, with its outcome and summary, and enqueue it."""
    active_customer(customer_id)
    details = {"duration_s": duration_s, "outcome": outcome, "logged": True}
    item = _item(
        "call",
        customer_id,
        author,
        occurred_at=occurred_at,
        key=key,
        type="call",
        direction=direction,
        text=text,
        subject=subject or f"{direction.title()} call",
        data={k: v for k, v in details.items() if v is not None},
    )
    return _store("call", customer_id, item, author)
