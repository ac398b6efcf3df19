"""The unified timeline: a customer's interactions across channels, newest first, cursor-paginated."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select

from crm.errors import InvalidPayload
from crm.extensions import db
from crm.profiles.models import Case, Interaction

# What each kind of interaction shows in the timeline besides its text: the channel's own details.
DETAIL_KEYS = {
    "call": ("duration_s", "outcome", "recording_url"),
    "purchase": ("store_id", "store_name", "order_number", "currency", "total", "refund", "items"),
    "visit": ("store_id", "store_name"),
    "survey": ("kind", "score", "comment"),
    "note": ("author",),
}
CHANNEL_DETAIL_KEYS = {
    "chat": ("conversation_id", "messages"),
    "email": ("message_id", "in_reply_to", "thread_id"),
}


def channel_details(interaction: Interaction) -> dict:
    """The details a person reads on a timeline entry: a call's duration and outcome, an order's total
    and items, a survey's score, a chat's messages, an email's thread; absent keys are left out."""
    data = interaction.data or {}
    keys = DETAIL_KEYS.get(interaction.type, ()) + CHANNEL_DETAIL_KEYS.get(interaction.channel, ())
    if interaction.type == "call" or interaction.channel == "phone":
        keys += tuple(k for k in DETAIL_KEYS["call"] if k not in keys)
    return {key: data[key] for key in keys if data.get(key) not in (None, "", [])}


@dataclass
class TimelinePage:
    items: list[Interaction]
    cases: dict[int, Case]
    next_cursor: str | None


def encode_cursor(occurred_at: datetime, interaction_id: int) -> str:
    raw = json.dumps([occurred_at.isoformat(), interaction_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, iid = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return datetime.fromisoformat(at), int(iid)
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise InvalidPayload("cursor is not one this API gave out", errors={"cursor": ["invalid cursor"]}) from exc


def timeline(
    customer_id: int,
    *,
    limit: int = 25,
    cursor: str | None = None,
    channels: list[str] | None = None,
    types: list[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> TimelinePage:
    stmt = select(Interaction).where(Interaction.customer_id == customer_id)
    if channels:
        stmt = stmt.where(Interaction.channel.in_(channels))
    if types:
        stmt = stmt.where(Interaction.type.in_(types))
    if since:
        stmt = stmt.where(Interaction.occurred_at >= since)
    if until:
        stmt = stmt.where(Interaction.occurred_at < until)
    if cursor:
        at, iid = decode_cursor(cursor)
        stmt = stmt.where(or_(Interaction.occurred_at < at, and_(Interaction.occurred_at == at, Interaction.id < iid)))
    stmt = stmt.order_by(Interaction.occurred_at.desc(), Interaction.id.desc()).limit(limit + 1)
    rows = list(db.session.scalars(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    case_ids = {r.case_id for r in rows if r.case_id}
    cases = {c.id: c for c in db.session.scalars(select(Case).where(Case.id.in_(case_ids)))} if case_ids else {}
    next_cursor = encode_cursor(rows[-1].occurred_at, rows[-1].id) if more and rows else None
    return TimelinePage(rows, cases, next_cursor)
