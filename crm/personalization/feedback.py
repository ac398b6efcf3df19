"""Agents closing next best actions: done or dismissed, recorded with who, when and an optional note.

A recorded key never comes back: the loader puts it in facts.done_actions and the rules skip it. The
customer's version is bumped so the cached agent view is a new key at once, and an audit event says
who closed what (the note stays out of the audit log: it may carry personal data).
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crm import audit
from crm.errors import Conflict, InvalidPayload, NotFound
from crm.extensions import db
from crm.personalization.models import ActionFeedback
from crm.profiles.locks import lock_customer
from crm.profiles.models import Customer

STATUSES = ("done", "dismissed")
# The key shapes the rules produce (actions.RULES): anything else names no action.
KEY_SHAPES = (
    re.compile(r"follow_up:case:\d+"),
    re.compile(r"callback:nps:(\d+|latest)"),
    re.compile(r"check_in:\d{4}-\d{2}-\d{2}"),
    re.compile(r"offer:sku:.+"),
    re.compile(r"experiment:[^:]+:.+"),
    re.compile(r"review:nps:(\d+|latest)"),
)
MAX_KEY = 200
MAX_NOTE = 2000


def check_key(key: str) -> str:
    if len(key) > MAX_KEY or not any(shape.fullmatch(key) for shape in KEY_SHAPES):
        raise InvalidPayload(
            f"{key[:80]!r} is not a next best action key",
            errors={"key": ["expected a key from the agent view, e.g. follow_up:case:42 or offer:sku:TRL-SHOE-01"]},
        )
    return key


def record_feedback(
    customer_id: int, key: str, status: str, actor: str, note: str | None = None
) -> tuple[ActionFeedback, bool]:
    """Record that an action was done or dismissed; (the row, whether it is new).

    Marking it again the same way is a no-op that returns the first record (a double click, a
    retried request); the other way round is a conflict: the action is closed already.
    """
    if status not in STATUSES:
        raise InvalidPayload(f"status must be one of {', '.join(STATUSES)}", errors={"status": [status]})
    check_key(key)
    if note is not None and len(note) > MAX_NOTE:
        raise InvalidPayload(f"note is longer than {MAX_NOTE} characters", errors={"note": ["too long"]})
    lock_customer(customer_id)
    customer = db.session.get(Customer, customer_id) if 0 < customer_id < 2**63 else None
    if customer is None:
        raise NotFound(f"no customer {customer_id}")
    existing = _existing(customer_id, key)
    if existing is not None:
        return _same_or_conflict(existing, status), False
    row = ActionFeedback(customer_id=customer_id, action_key=key, status=status, actor=actor, note=note or None)
    db.session.add(row)
    customer.version = (customer.version or 0) + 1
    audit.record(actor, f"action_{status}", "customer", customer_id, action_key=key)
    try:
        db.session.commit()
    except IntegrityError:
        # Another request recorded the same key between our read and our insert.
        db.session.rollback()
        existing = _existing(customer_id, key)
        if existing is None:
            raise
        return _same_or_conflict(existing, status), False
    return row, True


def _existing(customer_id: int, key: str) -> ActionFeedback | None:
    return db.session.scalar(
        select(ActionFeedback).where(ActionFeedback.customer_id == customer_id, ActionFeedback.action_key == key)
    )


def _same_or_conflict(existing: ActionFeedback, status: str) -> ActionFeedback:
    if existing.status == status:
        return existing
    raise Conflict(f"action {existing.action_key} was marked {existing.status} by {existing.actor} already")
