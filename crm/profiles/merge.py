"""Merges of two customers, recorded with what linked them and a snapshot that undo restores.

A merge moves the merged customer's identifiers, interactions, cases, segment memberships and action
feedback to the survivor and keeps the merged customer's row (status 'merged', merged_into_id naming
the survivor) so that undo (crm/profiles/undo.py) can bring it back with exactly what it had.
Attributes combine by the latest-occurring-value rule. Automatic merges come from identity resolution;
a person merges by hand or by confirming a duplicate suggestion (`merge_by_person`).
"""

from __future__ import annotations

import base64
import json

from sqlalchemy import delete, select, update

from crm import audit
from crm.errors import Conflict, InvalidPayload, NotFound
from crm.extensions import db
from crm.profiles import attributes, matching
from crm.profiles.locks import lock_customers
from crm.profiles.models import (
    Case,
    Customer,
    CustomerAttribute,
    DuplicateSuggestion,
    Identifier,
    Interaction,
    Merge,
    MergeBlock,
)
from crm.search import record_change


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def is_blocked_pair(a: int, b: int) -> bool:
    lo, hi = _pair(a, b)
    return (
        db.session.scalar(select(MergeBlock.id).where(MergeBlock.customer_a_id == lo, MergeBlock.customer_b_id == hi))
        is not None
    )


def block_pair(a: int, b: int, reason: str) -> None:
    if not is_blocked_pair(a, b):
        lo, hi = _pair(a, b)
        db.session.add(MergeBlock(customer_a_id=lo, customer_b_id=hi, reason=reason))


def unblock_pair(a: int, b: int) -> None:
    lo, hi = _pair(a, b)
    db.session.execute(delete(MergeBlock).where(MergeBlock.customer_a_id == lo, MergeBlock.customer_b_id == hi))


def pair_suggestion(a: int, b: int) -> DuplicateSuggestion | None:
    lo, hi = _pair(a, b)
    return db.session.scalar(
        select(DuplicateSuggestion).where(
            DuplicateSuggestion.customer_a_id == lo, DuplicateSuggestion.customer_b_id == hi
        )
    )


def suggest_pair(a: int, b: int, *, kind: str, score: float, reasons: list[str]) -> DuplicateSuggestion:
    """Open (or refresh) a suggestion for a pair; a dismissed or confirmed pair stays as it was decided."""
    row = pair_suggestion(a, b)
    if row is None:
        lo, hi = _pair(a, b)
        row = DuplicateSuggestion(customer_a_id=lo, customer_b_id=hi, kind=kind, score=score, reasons=reasons)
        db.session.add(row)
        db.session.flush()
    elif row.status == "open":
        row.score, row.reasons, row.kind = score, reasons, kind
    return row


def _ids(stmt) -> list[int]:
    return list(db.session.scalars(stmt))


def _snapshot(survivor: Customer, merged: Customer) -> dict:
    """Which rows belonged to whom before the merge, and both sides' attribute rows: what undo restores."""

    def attribute_rows(customer_id: int) -> list[dict]:
        rows = db.session.scalars(select(CustomerAttribute).where(CustomerAttribute.customer_id == customer_id))
        return [attributes.row_to_dict(r) for r in rows]

    return {
        "identifiers": _ids(select(Identifier.id).where(Identifier.customer_id == merged.id)),
        "interactions": _ids(select(Interaction.id).where(Interaction.customer_id == merged.id)),
        "cases": _ids(select(Case.id).where(Case.customer_id == merged.id)),
        "segments": _memberships(merged.id),
        "feedback": _feedback_ids(merged.id),
        "attributes": {"survivor": attribute_rows(survivor.id), "merged": attribute_rows(merged.id)},
        # The survivor's own rows, so undo tells them from rows that arrived after the merge.
        "survivor_identifiers": _ids(select(Identifier.id).where(Identifier.customer_id == survivor.id)),
        "survivor_cases": _ids(select(Case.id).where(Case.customer_id == survivor.id)),
        "survivor_segments": [m["segment_id"] for m in _memberships(survivor.id)],
    }


def _memberships(customer_id: int) -> list[dict]:
    from crm.segments.models import SegmentMember

    return [
        {"segment_id": m.segment_id, "entered_at": m.entered_at.isoformat()}
        for m in db.session.scalars(select(SegmentMember).where(SegmentMember.customer_id == customer_id))
    ]


def _feedback_ids(customer_id: int) -> list[int]:
    from crm.personalization.models import ActionFeedback

    return _ids(select(ActionFeedback.id).where(ActionFeedback.customer_id == customer_id))


def merge_customers(
    survivor: Customer,
    merged: Customer,
    *,
    identifier: Identifier | None,
    interaction_id: int | None,
    actor: str,
    reason: str,
) -> Merge:
    """Merge `merged` into `survivor` in the caller's transaction; returns the recorded merge."""
    if survivor.id == merged.id:
        raise Conflict("a customer cannot be merged with itself")
    # Callers read both after locking them (resolve, merge_by_person): their status is current.
    lock_customers([survivor.id, merged.id])
    if survivor.status != "active" or merged.status != "active":
        raise Conflict("both customers must be active to merge")
    snapshot = _snapshot(survivor, merged)
    row = Merge(
        survivor_id=survivor.id,
        merged_id=merged.id,
        identifier_kind=identifier.kind if identifier else None,
        identifier_value=identifier.value if identifier else None,
        interaction_id=interaction_id,
        reason=reason,
        actor=actor,
        snapshot=snapshot,
    )
    db.session.add(row)
    _move_rows(merged.id, survivor.id)
    attributes.combine_into(survivor.id, merged.id)
    merged.status, merged.merged_into_id = "merged", survivor.id
    merged.version += 1
    survivor.version += 1
    db.session.flush()
    _settle_suggestions(survivor.id, merged.id, row, actor)
    db.session.expire(survivor, ["identifiers", "attributes"])
    for iid in snapshot["interactions"]:
        record_change("interaction", iid)
    record_change("customer", survivor.id)
    record_change("customer", merged.id)
    audit.record(actor, "merge", "customer", survivor.id, merged_id=merged.id, merge_id=row.id, reason=reason)
    return row


def _move_rows(from_id: int, to_id: int) -> None:
    db.session.execute(update(Identifier).where(Identifier.customer_id == from_id).values(customer_id=to_id))
    db.session.execute(update(Interaction).where(Interaction.customer_id == from_id).values(customer_id=to_id))
    db.session.execute(update(Case).where(Case.customer_id == from_id).values(customer_id=to_id))
    _move_memberships(from_id, to_id)
    _move_feedback(from_id, to_id)
    # A merged customer is no candidate for anything; the survivor's record is rebuilt on refresh.
    matching.absorb_failed_phones(to_id, from_id)
    matching.forget(from_id)


def _move_memberships(from_id: int, to_id: int) -> None:
    from crm.segments.models import SegmentMember

    theirs = {
        m.segment_id: m for m in db.session.scalars(select(SegmentMember).where(SegmentMember.customer_id == from_id))
    }
    ours = set(db.session.scalars(select(SegmentMember.segment_id).where(SegmentMember.customer_id == to_id)))
    for segment_id, member in theirs.items():
        if segment_id in ours:
            db.session.delete(member)
        else:
            member.customer_id = to_id


def _move_feedback(from_id: int, to_id: int) -> None:
    from crm.personalization.models import ActionFeedback

    ours = set(db.session.scalars(select(ActionFeedback.action_key).where(ActionFeedback.customer_id == to_id)))
    for row in db.session.scalars(select(ActionFeedback).where(ActionFeedback.customer_id == from_id)):
        if row.action_key not in ours:
            row.customer_id = to_id


def _settle_suggestions(survivor_id: int, merged_id: int, merge: Merge, actor: str) -> None:
    """The pair's own suggestion is settled by the merge; the merged customer's other open ones go
    (the survivor's suggestions are computed again on refresh)."""
    from crm.columns import utcnow

    own = pair_suggestion(survivor_id, merged_id)
    if own is not None and own.status == "open":
        own.status, own.merge_id, own.decided_by, own.decided_at = "confirmed", merge.id, actor, utcnow()
    db.session.execute(
        delete(DuplicateSuggestion).where(
            DuplicateSuggestion.status == "open",
            (DuplicateSuggestion.customer_a_id == merged_id) | (DuplicateSuggestion.customer_b_id == merged_id),
        )
    )


def merge_by_person(survivor_id: int, merged_id: int, *, actor: str, reason: str = "manual") -> Merge:
    """A merge a person asked for (by hand, or by confirming a suggestion); caller commits.

    A person's decision overrides the guard rails: a blocked pair (an undone merge) is unblocked.
    """
    if survivor_id == merged_id:
        raise InvalidPayload("a customer cannot be merged with itself", errors={"other_id": ["is this customer"]})
    lock_customers([survivor_id, merged_id])
    survivor = db.session.get(Customer, survivor_id, populate_existing=True)
    merged = db.session.get(Customer, merged_id, populate_existing=True)
    for cid, customer in ((survivor_id, survivor), (merged_id, merged)):
        if customer is None:
            raise NotFound(f"no customer {cid}")
        if customer.status != "active":
            raise Conflict(f"customer {cid} was merged into customer {customer.merged_into_id}; merge that one")
    unblock_pair(survivor_id, merged_id)
    row = merge_customers(survivor, merged, identifier=None, interaction_id=None, actor=actor, reason=reason)
    _refresh(survivor)
    return row


def _refresh(customer: Customer) -> None:
    from crm.pipeline import refresh_customer  # the pipeline's derivations (aggregates, segments, index)

    refresh_customer(customer)


def merges_of(customer_id: int, *, limit: int = 50, cursor: str | None = None) -> tuple[list[Merge], str | None]:
    """The merges a customer took part in, either side, newest first; (page, next cursor)."""
    stmt = select(Merge).where((Merge.survivor_id == customer_id) | (Merge.merged_id == customer_id))
    if cursor:
        stmt = stmt.where(Merge.id < decode_id_cursor(cursor))
    rows = list(db.session.scalars(stmt.order_by(Merge.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_id_cursor(rows[-1].id) if more and rows else None)


def encode_id_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([last_id]).encode()).decode().rstrip("=")


def decode_id_cursor(cursor: str) -> int:
    try:
        (value,) = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()))
        return int(value)
    except (ValueError, TypeError) as exc:
        raise InvalidPayload("cursor is not one this API gave out", errors={"cursor": ["invalid cursor"]}) from exc
