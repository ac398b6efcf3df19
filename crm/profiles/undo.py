"""Undoing a merge: both customers as they were, and the pair kept from merging again automatically.

The merge's snapshot names every row the merged customer had; those go back. Whatever arrived after
the merge is placed where its identifiers now point: an interaction whose identifiers belong only to
the merged customer goes back to it, with the identifiers it brought; one that names both (like the
interaction that linked them) or only the survivor stays with the survivor. Attribute rows are
restored from the snapshot, then the later interactions' attributes are folded in again by the usual
latest-value rule, so nothing observed since is lost. Aggregates are re-derived from the rows.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, tuple_, update

from crm import audit
from crm.columns import utcnow
from crm.errors import Conflict, NotFound
from crm.extensions import db
from crm.profiles import attributes, cases
from crm.profiles.locks import lock_customers
from crm.profiles.merge import block_pair, pair_suggestion
from crm.profiles.models import Case, Customer, CustomerAttribute, Identifier, Interaction, Merge

# Interactions processed this long before the merge row was written still count as "after it": clocks
# of two workers differ a little. Looking at a few too many is harmless (the rules leave them be).
CLOCK_SLACK = timedelta(minutes=10)


def undo_merge(merge_id: int, actor: str) -> Merge:
    """Restore both customers as they were before the merge, and re-derive them; caller commits."""
    row = db.session.get(Merge, merge_id)
    if row is None:
        raise NotFound(f"no merge {merge_id}")
    lock_customers([row.survivor_id, row.merged_id])
    survivor = db.session.get(Customer, row.survivor_id, populate_existing=True)
    merged = db.session.get(Customer, row.merged_id, populate_existing=True)
    db.session.refresh(row)
    _check_undoable(row, survivor, merged)
    snap = row.snapshot
    later = _later_interactions(row, survivor.id, set(snap["interactions"]))
    pins_since = _pins_since(survivor.id, row.created_at)
    _move_back(snap, survivor.id, merged.id)
    moved_later = _place_later(later, survivor.id, merged.id, set(snap["survivor_identifiers"]))
    _restore_memberships(survivor.id, merged.id, snap["segments"], set(snap.get("survivor_segments", [])))
    _restore_feedback(merged.id, snap.get("feedback", []))
    attributes.restore(survivor.id, snap["attributes"]["survivor"])
    attributes.restore(merged.id, snap["attributes"]["merged"])
    _reapply_pins(survivor.id, pins_since)
    merged.status, merged.merged_into_id = "active", None
    _replay_attributes(later, {survivor.id: survivor, merged.id: merged})
    _settle_cases(snap, survivor, merged, later)
    row.undone_at, row.undone_by = utcnow(), actor
    block_pair(survivor.id, merged.id, reason="undone_merge")
    suggestion = pair_suggestion(survivor.id, merged.id)
    if suggestion is not None:
        suggestion.status, suggestion.decided_by, suggestion.decided_at = "dismissed", actor, utcnow()
    db.session.flush()
    _announce(row, snap["interactions"] + moved_later, survivor, merged, actor)
    return row


def _check_undoable(row: Merge, survivor: Customer | None, merged: Customer | None) -> None:
    if row.undone_at is not None:
        raise Conflict(f"merge {row.id} was undone already")
    if merged is None or survivor is None or merged.status != "merged" or merged.merged_into_id != survivor.id:
        raise Conflict(f"merge {row.id} cannot be undone: the merged customer has changed since")
    if survivor.status != "active":
        raise Conflict(
            f"merge {row.id} cannot be undone while customer {survivor.id} is merged into customer "
            f"{survivor.merged_into_id}: undo that merge first"
        )


def _later_interactions(row: Merge, survivor_id: int, merged_ids: set[int]) -> list[Interaction]:
    """The survivor's interactions that arrived with or after the merge, in the order they were processed."""
    since = row.created_at - CLOCK_SLACK
    stmt = select(Interaction).where(
        Interaction.customer_id == survivor_id,
        (Interaction.processed_at >= since) | (Interaction.id == (row.interaction_id or -1)),
    )
    found = [i for i in db.session.scalars(stmt) if i.id not in merged_ids]
    return sorted(found, key=lambda i: (i.processed_at or utcnow(), i.id))


def _move_back(snap: dict, survivor_id: int, merged_id: int) -> None:
    for model, ids in ((Identifier, snap["identifiers"]), (Interaction, snap["interactions"]), (Case, snap["cases"])):
        for start in range(0, len(ids), 1000):
            db.session.execute(
                update(model)
                .where(model.id.in_(ids[start : start + 1000]), model.customer_id == survivor_id)
                .values(customer_id=merged_id)
                .execution_options(synchronize_session="fetch")
            )
    db.session.flush()


def _place_later(later: list[Interaction], survivor_id: int, merged_id: int, survivor_own: set[int]) -> list[int]:
    """Send back the later interactions that point only at the merged customer; returns their ids."""
    moved = []
    for item in later:
        target = _target(item, survivor_id, merged_id, survivor_own)
        if target != merged_id:
            continue
        item.customer_id = merged_id
        db.session.execute(
            update(Identifier)
            .where(
                Identifier.interaction_id == item.id,
                Identifier.customer_id == survivor_id,
                Identifier.id.not_in(survivor_own or {-1}),
            )
            .values(customer_id=merged_id)
            .execution_options(synchronize_session="fetch")
        )
        db.session.flush()
        moved.append(item.id)
    return moved


def _target(item: Interaction, survivor_id: int, merged_id: int, survivor_own: set[int]) -> int:
    data = item.data or {}
    if data.get("customer_id") in (survivor_id, merged_id) and not item.identifiers:
        return int(data["customer_id"])  # an agent's note or call: the customer it was written for
    keys = [(i["kind"], i["value"]) for i in item.identifiers or [] if i.get("valid") and i.get("value")]
    if not keys:
        return survivor_id
    owners: set[int] = set()
    for ident in db.session.scalars(select(Identifier).where(tuple_(Identifier.kind, Identifier.value).in_(keys))):
        # The identifiers this interaction brought itself follow it; they cannot say where it goes.
        if ident.interaction_id != item.id or ident.id in survivor_own:
            owners.add(ident.customer_id)
    return merged_id if owners == {merged_id} else survivor_id


def _pins_since(customer_id: int, since: datetime) -> list[dict]:
    rows = attributes.rows_of(customer_id)
    return [attributes.row_to_dict(r) for r in rows if r.origin == "agent" and r.observed_at > since]


def _reapply_pins(customer_id: int, pins: list[dict]) -> None:
    """Edits an agent made on the survivor after the merge are the agent's, whatever the snapshot says."""
    for data in pins:
        existing = db.session.scalar(
            select(CustomerAttribute).where(
                CustomerAttribute.customer_id == customer_id,
                CustomerAttribute.key == data["key"],
                CustomerAttribute.origin == "agent",
            )
        )
        if existing is not None:
            db.session.delete(existing)
            db.session.flush()
        item = dict(data, observed_at=datetime.fromisoformat(data["observed_at"]))
        db.session.add(CustomerAttribute(customer_id=customer_id, **item))
    db.session.flush()


def _replay_attributes(later: list[Interaction], customers: dict[int, Customer]) -> None:
    for item in later:
        customer = customers.get(item.customer_id)
        if customer is not None:
            attributes.apply_interaction(customer, item)


def _settle_cases(snap: dict, survivor: Customer, merged: Customer, later: list[Interaction]) -> None:
    """Cases opened after the merge follow their first interaction; a later interaction whose case now
    belongs to the other customer is attached again on its own side."""
    known = set(snap["cases"]) | set(snap["survivor_cases"])
    new_cases = list(
        db.session.scalars(select(Case).where(Case.customer_id == survivor.id, Case.id.not_in(known or {-1})))
    )
    for case in new_cases:
        first = db.session.scalar(
            select(Interaction).where(Interaction.case_id == case.id).order_by(Interaction.occurred_at).limit(1)
        )
        if first is not None and first.customer_id != case.customer_id:
            case.customer_id = first.customer_id
    db.session.flush()
    owners = {survivor.id: survivor, merged.id: merged}
    for item in later:
        case = db.session.get(Case, item.case_id) if item.case_id else None
        if case is not None and case.customer_id != item.customer_id:
            item.case_id = None
            cases.apply_interaction(owners[item.customer_id], item)


def _restore_memberships(survivor_id: int, customer_id: int, memberships: list[dict], survivor_had: set[int]) -> None:
    """The merged customer's memberships back; the ones the merge moved to the survivor leave it."""
    from crm.segments.models import SegmentMember

    for item in memberships:
        moved = db.session.get(SegmentMember, (item["segment_id"], survivor_id))
        if moved is not None and item["segment_id"] not in survivor_had:
            db.session.delete(moved)
            db.session.flush()
        if db.session.get(SegmentMember, (item["segment_id"], customer_id)) is None:
            db.session.add(
                SegmentMember(
                    segment_id=item["segment_id"],
                    customer_id=customer_id,
                    entered_at=datetime.fromisoformat(item["entered_at"]),
                )
            )


def _restore_feedback(customer_id: int, ids: list[int]) -> None:
    from crm.personalization.models import ActionFeedback

    if ids:
        db.session.execute(update(ActionFeedback).where(ActionFeedback.id.in_(ids)).values(customer_id=customer_id))


def _announce(row: Merge, interaction_ids: list[int], survivor: Customer, merged: Customer, actor: str) -> None:
    from crm.pipeline import refresh_customer  # aggregates, personalization, segments, index: re-derived
    from crm.search import record_change

    for iid in interaction_ids:
        record_change("interaction", iid)
    db.session.expire(survivor, ["identifiers", "attributes"])
    db.session.expire(merged, ["identifiers", "attributes"])
    refresh_customer(survivor)
    refresh_customer(merged)
    audit.record(actor, "undo_merge", "merge", row.id, survivor_id=survivor.id, merged_id=merged.id)
