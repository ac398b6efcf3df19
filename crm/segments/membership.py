"""Membership: a customer entering or leaving a segment, with its history row and outbound deliveries,
and the refresh that brings a whole segment up to date.

A refresh finds candidates with SQL (the database is the truth), then settles each changed customer
under that customer's lock with the in-memory evaluator on fresh rows. Real-time evaluation takes the
same lock, so a refresh and a processed interaction never undo each other's change.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime

from sqlalchemy import delete, func, select

from crm.columns import utcnow
from crm.errors import InvalidPayload
from crm.extensions import db
from crm.profiles.locks import lock_customers
from crm.profiles.models import Customer
from crm.search import record_change
from crm.segments.documents import ROOT, fields_for, iso_ms
from crm.segments.evaluate import matches
from crm.segments.models import OutboundDelivery, Segment, SegmentEvent, SegmentMember, SegmentWebhook
from crm.segments.preview import member_summaries, sql_matching_ids
from crm.segments.rules import lower

SETTLE_BATCH = 500


def webhooks_of(segment_id: int) -> list[SegmentWebhook]:
    return list(
        db.session.scalars(
            select(SegmentWebhook).where(SegmentWebhook.segment_id == segment_id, SegmentWebhook.active.is_(True))
        )
    )


def record_event(
    segment: Segment,
    customer_id: int,
    event: str,
    *,
    at: datetime,
    interaction_id: int | None = None,
    customer: dict | None = None,
    webhooks: list[SegmentWebhook] | None = None,
) -> SegmentEvent:
    """The history row of an enter or leave, and one outbound delivery per webhook that wants it."""
    row = SegmentEvent(
        segment_id=segment.id, customer_id=customer_id, event=event, at=at, interaction_id=interaction_id
    )
    db.session.add(row)
    hooks = webhooks_of(segment.id) if webhooks is None else webhooks
    wanted = [h for h in hooks if event in (h.events or [])]
    if not wanted:
        return row
    db.session.flush()
    if customer is None:
        customer = (member_summaries([customer_id]) or [{"id": customer_id}])[0]
    payload = {
        "type": f"segment.{event}",
        "event_id": row.id,
        "occurred_at": iso_ms(at),
        "segment": {"id": segment.id, "name": segment.name, "kind": segment.kind},
        "customer": {k: customer.get(k) for k in ("id", "display_name", "email", "phone")},
        "interaction_id": interaction_id,
    }
    for hook in wanted:
        db.session.add(
            OutboundDelivery(
                webhook_id=hook.id, event_id=row.id, kind=payload["type"], payload=payload, next_attempt_at=at
            )
        )
    return row


def enter(segment: Segment, customer_id: int, *, at: datetime, interaction_id: int | None = None, **extra) -> bool:
    """Add the membership if absent; True when it changed."""
    if db.session.get(SegmentMember, (segment.id, customer_id)) is not None:
        return False
    db.session.add(SegmentMember(segment_id=segment.id, customer_id=customer_id, entered_at=at))
    record_event(segment, customer_id, "enter", at=at, interaction_id=interaction_id, **extra)
    record_change("customer", customer_id)
    return True


def leave(segment: Segment, customer_id: int, *, at: datetime, interaction_id: int | None = None, **extra) -> bool:
    """Remove the membership if present; True when it changed."""
    member = db.session.get(SegmentMember, (segment.id, customer_id))
    if member is None:
        return False
    db.session.delete(member)
    record_event(segment, customer_id, "leave", at=at, interaction_id=interaction_id, **extra)
    record_change("customer", customer_id)
    return True


def member_ids(segment_id: int) -> set[int]:
    return set(db.session.scalars(select(SegmentMember.customer_id).where(SegmentMember.segment_id == segment_id)))


def member_count(segment_id: int) -> int:
    return db.session.scalar(select(func.count()).where(SegmentMember.segment_id == segment_id)) or 0


def refresh_segment(segment_id: int, *, now: datetime | None = None) -> dict:
    """Bring a segment's members up to its rule (a static segment: take its snapshot again).

    Returns {"entered": n, "left": n, "members": n}. Idempotent: a second run changes nothing.
    """
    segment = db.session.get(Segment, segment_id)
    if segment is None:
        return {"entered": 0, "left": 0, "members": 0}
    now = now or utcnow()
    node = lower(segment.rule, now)
    candidates = set(sql_matching_ids(node))
    current = member_ids(segment_id)
    changed = sorted(candidates ^ current)
    db.session.rollback()  # end the reading transaction before taking locks batch by batch
    entered = left = 0
    for start in range(0, len(changed), SETTLE_BATCH):
        e, lft = _settle(segment_id, node, changed[start : start + SETTLE_BATCH], now)
        entered, left = entered + e, left + lft
    segment = db.session.get(Segment, segment_id)
    if segment is None:
        return {"entered": entered, "left": left, "members": 0}
    segment.refreshed_at = now
    segment.member_count = member_count(segment_id)
    db.session.commit()
    return {"entered": entered, "left": left, "members": segment.member_count}


def _settle(segment_id: int, node, batch: list[int], now: datetime) -> tuple[int, int]:
    """Decide each customer of the batch again on fresh rows, under their locks; one transaction."""
    lock_customers(batch)
    segment = db.session.get(Segment, segment_id)
    if segment is None:
        db.session.rollback()
        return 0, 0
    active = set(db.session.scalars(select(Customer.id).where(Customer.id.in_(batch), Customer.status == "active")))
    fields = fields_for(sorted(active))
    summaries = {s["id"]: s for s in member_summaries(batch)}
    hooks = webhooks_of(segment_id)
    entered = left = 0
    for cid in batch:
        wanted = cid in fields and matches(node, fields[cid][ROOT])
        extra = {"customer": summaries.get(cid, {"id": cid}), "webhooks": hooks}
        if wanted:
            entered += enter(segment, cid, at=now, **extra)
        else:
            left += leave(segment, cid, at=now, **extra)
    db.session.commit()
    return entered, left


def clear_members(segment_id: int) -> None:
    db.session.execute(delete(SegmentMember).where(SegmentMember.segment_id == segment_id))


# --- pages ---------------------------------------------------------------------------------------


def encode_cursor(*parts) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list:
    try:
        parts = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()))
        if not isinstance(parts, list) or len(parts) != size:
            raise ValueError("wrong shape")
        return parts
    except (ValueError, TypeError) as exc:
        raise InvalidPayload("cursor is not one this API gave out", errors={"cursor": ["invalid cursor"]}) from exc


def members_page(segment_id: int, *, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
    """Members in customer id order, with when they entered; the cursor names the last id given."""
    stmt = select(SegmentMember).where(SegmentMember.segment_id == segment_id)
    if cursor:
        (after,) = decode_cursor(cursor, 1)
        stmt = stmt.where(SegmentMember.customer_id > int(after))
    rows = list(db.session.scalars(stmt.order_by(SegmentMember.customer_id).limit(limit + 1)))
    more, rows = len(rows) > limit, rows[:limit]
    summaries = {s["id"]: s for s in member_summaries([r.customer_id for r in rows])}
    items = [{**summaries.get(r.customer_id, {"id": r.customer_id}), "entered_at": r.entered_at} for r in rows]
    return items, (encode_cursor(rows[-1].customer_id) if more and rows else None)


def events_page(
    segment_id: int, *, limit: int, cursor: str | None, customer_id: int | None = None
) -> tuple[list[SegmentEvent], str | None]:
    """Membership history, newest first."""
    stmt = select(SegmentEvent).where(SegmentEvent.segment_id == segment_id)
    if customer_id is not None:
        stmt = stmt.where(SegmentEvent.customer_id == customer_id)
    if cursor:
        (before,) = decode_cursor(cursor, 1)
        stmt = stmt.where(SegmentEvent.id < int(before))
    rows = list(db.session.scalars(stmt.order_by(SegmentEvent.id.desc()).limit(limit + 1)))
    more, rows = len(rows) > limit, rows[:limit]
    return rows, (encode_cursor(rows[-1].id) if more and rows else None)
