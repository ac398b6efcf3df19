"""Merges of two customers, recorded with what linked them and a snapshot, and their undo.

A merge moves the merged customer's identifiers, interactions, cases and segment memberships to the
survivor and keeps the merged customer's row (status 'merged') so that undo can bring it back with
exactly what it had. Attributes combine by the latest-occurring-value rule; undo restores both sides'
attribute rows from the snapshot. An undone pair is blocked from merging again automatically.
"""

from __future__ import annotations

from sqlalchemy import select, update

from crm import audit
from crm.columns import utcnow
from crm.errors import Conflict, NotFound
from crm.extensions import db
from crm.profiles import attributes
from crm.profiles.locks import lock_customer
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


def suggest_pair(a: int, b: int, *, kind: str, score: float, reasons: list[str]) -> DuplicateSuggestion:
    """Open (or refresh) a suggestion for a pair; a dismissed pair stays dismissed."""
    lo, hi = _pair(a, b)
    row = db.session.scalar(
        select(DuplicateSuggestion).where(
            DuplicateSuggestion.customer_a_id == lo, DuplicateSuggestion.customer_b_id == hi
        )
    )
    if row is None:
        row = DuplicateSuggestion(customer_a_id=lo, customer_b_id=hi, kind=kind, score=score, reasons=reasons)
        db.session.add(row)
        db.session.flush()
    elif row.status == "open":
        row.score, row.reasons, row.kind = score, reasons, kind
    return row


def _snapshot(survivor: Customer, merged: Customer) -> dict:
    def attribute_rows(customer_id: int) -> list[dict]:
        rows = db.session.scalars(select(CustomerAttribute).where(CustomerAttribute.customer_id == customer_id))
        return [attributes.row_to_dict(r) for r in rows]

    return {
        "identifiers": [
            i.id for i in db.session.scalars(select(Identifier).where(Identifier.customer_id == merged.id))
        ],
        "interactions": list(db.session.scalars(select(Interaction.id).where(Interaction.customer_id == merged.id))),
        "cases": list(db.session.scalars(select(Case.id).where(Case.customer_id == merged.id))),
        "segments": _memberships(merged.id),
        "attributes": {"survivor": attribute_rows(survivor.id), "merged": attribute_rows(merged.id)},
        "merged_display_name": merged.display_name,
        "survivor_display_name": survivor.display_name,
    }


def _memberships(customer_id: int) -> list[dict]:
    from crm.segments.models import SegmentMember

    return [
        {"segment_id": m.segment_id, "entered_at": m.entered_at.isoformat()}
        for m in db.session.scalars(select(SegmentMember).where(SegmentMember.customer_id == customer_id))
    ]


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
    if survivor.status != "active" or merged.status != "active":
        raise Conflict("both customers must be active to merge")
    for cid in sorted((survivor.id, merged.id)):
        lock_customer(cid)
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
    db.session.execute(update(Identifier).where(Identifier.customer_id == merged.id).values(customer_id=survivor.id))
    db.session.execute(update(Interaction).where(Interaction.customer_id == merged.id).values(customer_id=survivor.id))
    db.session.execute(update(Case).where(Case.customer_id == merged.id).values(customer_id=survivor.id))
    _move_memberships(merged.id, survivor.id)
    attributes.combine_into(survivor.id, merged.id)
    merged.status, merged.merged_into_id = "merged", survivor.id
    merged.version += 1
    survivor.version += 1
    db.session.flush()
    db.session.expire(survivor, ["identifiers", "attributes"])
    for iid in snapshot["interactions"]:
        record_change("interaction", iid)
    record_change("customer", survivor.id)
    record_change("customer", merged.id)
    audit.record(actor, "merge", "customer", survivor.id, merged_id=merged.id, merge_id=None, reason=reason)
    return row


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


def undo_merge(merge_id: int, actor: str) -> Merge:
    """Restore both customers as they were before the merge; caller commits."""
    row = db.session.get(Merge, merge_id)
    if row is None:
        raise NotFound(f"no merge {merge_id}")
    if row.undone_at is not None:
        raise Conflict(f"merge {merge_id} was undone already")
    survivor, merged = db.session.get(Customer, row.survivor_id), db.session.get(Customer, row.merged_id)
    if merged is None or merged.status != "merged" or merged.merged_into_id != survivor.id:
        raise Conflict(f"merge {merge_id} cannot be undone: the merged customer has changed since")
    if survivor.status != "active":
        raise Conflict(f"merge {merge_id} cannot be undone: undo the later merge of customer {survivor.id} first")
    for cid in sorted((survivor.id, merged.id)):
        lock_customer(cid)
    snap = row.snapshot
    db.session.execute(
        update(Identifier)
        .where(Identifier.id.in_(snap["identifiers"]), Identifier.customer_id == survivor.id)
        .values(customer_id=merged.id)
    )
    db.session.execute(
        update(Interaction)
        .where(Interaction.id.in_(snap["interactions"]), Interaction.customer_id == survivor.id)
        .values(customer_id=merged.id)
    )
    db.session.execute(
        update(Case).where(Case.id.in_(snap["cases"]), Case.customer_id == survivor.id).values(customer_id=merged.id)
    )
    _restore_memberships(merged.id, snap["segments"])
    attributes.restore(survivor.id, snap["attributes"]["survivor"])
    attributes.restore(merged.id, snap["attributes"]["merged"])
    merged.status, merged.merged_into_id = "active", None
    merged.display_name = snap.get("merged_display_name")
    merged.version += 1
    survivor.version += 1
    row.undone_at, row.undone_by = utcnow(), actor
    block_pair(survivor.id, merged.id, reason="undone_merge")
    db.session.flush()
    for iid in snap["interactions"]:
        record_change("interaction", iid)
    record_change("customer", survivor.id)
    record_change("customer", merged.id)
    audit.record(actor, "undo_merge", "merge", row.id, survivor_id=survivor.id, merged_id=merged.id)
    return row


def _restore_memberships(customer_id: int, memberships: list[dict]) -> None:
    from datetime import datetime

    from crm.segments.models import SegmentMember

    for item in memberships:
        exists = db.session.get(SegmentMember, (item["segment_id"], customer_id))
        if exists is None:
            db.session.add(
                SegmentMember(
                    segment_id=item["segment_id"],
                    customer_id=customer_id,
                    entered_at=datetime.fromisoformat(item["entered_at"]),
                )
            )


def merges_of(customer_id: int) -> list[Merge]:
    return list(
        db.session.scalars(
            select(Merge)
            .where((Merge.survivor_id == customer_id) | (Merge.merged_id == customer_id))
            .order_by(Merge.id.desc())
        )
    )
