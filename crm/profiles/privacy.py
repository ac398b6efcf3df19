"""Privacy requests: export everything held about a customer, or erase it.

A customer is the person's whole record: the active customer and every customer merged into it. The
export is one JSON document (profile, identifiers, attributes with provenance, interactions with their
raw payloads, cases, merges, segment memberships, duplicate suggestions, action feedback). Erasure
deletes those rows, the raw payloads and, through the outbox, the search documents; what remains is a
PrivacyRequest row and an audit entry holding ids, times and counts, never personal data.
"""

from __future__ import annotations

import base64

from sqlalchemy import delete, or_, select

from crm import audit, jobs
from crm.channels import erased
from crm.columns import utcnow
from crm.errors import Conflict, NotFound
from crm.extensions import db
from crm.profiles import attributes, cases
from crm.profiles.locks import lock_customers
from crm.profiles.models import (
    Case,
    Customer,
    CustomerAttribute,
    DuplicateSuggestion,
    Identifier,
    Interaction,
    InteractionPayload,
    MatchKey,
    MatchProfile,
    Merge,
    MergeBlock,
    PrivacyRequest,
)
from crm.search import record_change


def person_ids(customer_id: int) -> list[int]:
    """The customer and everyone merged into it (at any depth), deepest first, the customer last."""
    customer = db.session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"no customer {customer_id}")
    if customer.status == "merged":
        raise Conflict(
            f"customer {customer_id} was merged into customer {customer.merged_into_id}: "
            f"ask for {customer.merged_into_id} (it holds this customer's data), or undo the merge first"
        )
    order, frontier = [customer_id], [customer_id]
    while frontier:
        frontier = list(
            db.session.scalars(
                select(Customer.id).where(Customer.merged_into_id.in_(frontier), Customer.status == "merged")
            )
        )
        order.extend(frontier)
    return list(reversed(order))


def _iso(value):
    return value.isoformat() if value is not None and hasattr(value, "isoformat") else value


def _columns(row, skip: tuple[str, ...] = ()) -> dict:
    return {c.key: _iso(getattr(row, c.key)) for c in row.__table__.columns if c.key not in skip}


def _payload(payload: InteractionPayload | None) -> dict | None:
    if payload is None:
        return None
    try:
        body, encoding = payload.body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        body, encoding = base64.b64encode(payload.body).decode(), "base64"
    return {"content_type": payload.content_type, "headers": payload.headers, "encoding": encoding, "body": body}


def export_customer(customer_id: int, actor: str) -> dict:
    """Everything about the customer, as JSON-ready data; records the request. Caller commits."""
    ids = person_ids(customer_id)
    customer = db.session.get(Customer, customer_id)
    doc = {
        "exported_at": utcnow().isoformat(),
        "customer": _columns(customer),
        "merged_customers": [_columns(db.session.get(Customer, cid)) for cid in ids if cid != customer_id],
        "identifiers": [_columns(i) for i in _rows(Identifier, Identifier.customer_id.in_(ids))],
        "attributes": {
            "effective": attributes.effective(customer_id, with_sources=True),
            "rows": [_columns(r, ("id",)) | {"customer_id": r.customer_id} for r in _attribute_rows(ids)],
        },
        "interactions": _interactions(ids),
        "cases": [_case(c) for c in _rows(Case, Case.customer_id.in_(ids))],
        "merges": [_columns(m, ("snapshot",)) for m in _rows(Merge, _either(Merge, ids, "survivor_id", "merged_id"))],
        "segment_memberships": _memberships(ids),
        "duplicate_suggestions": [_columns(s) for s in _rows(DuplicateSuggestion, _either(DuplicateSuggestion, ids))],
        "action_feedback": _feedback(ids),
        "privacy_requests": [_columns(p) for p in _rows(PrivacyRequest, PrivacyRequest.customer_id.in_(ids))],
    }
    db.session.add(
        PrivacyRequest(
            kind="export",
            customer_id=customer_id,
            requested_by=actor,
            completed_at=utcnow(),
            summary={"interactions": len(doc["interactions"]), "customers": len(ids)},
        )
    )
    audit.record(actor, "export", "customer", customer_id, interactions=len(doc["interactions"]))
    return doc


def _rows(model, condition) -> list:
    return list(db.session.scalars(select(model).where(condition).order_by(model.id)))


def _either(model, ids: list[int], a: str = "customer_a_id", b: str = "customer_b_id"):
    return or_(getattr(model, a).in_(ids), getattr(model, b).in_(ids))


def _attribute_rows(ids: list[int]) -> list[CustomerAttribute]:
    return _rows(CustomerAttribute, CustomerAttribute.customer_id.in_(ids))


def _interactions(ids: list[int]) -> list[dict]:
    out = []
    for item in _rows(Interaction, Interaction.customer_id.in_(ids)):
        body = _columns(item)
        body["payload"] = _payload(item.payload)
        out.append(body)
    return out


def _case(case: Case) -> dict:
    return _columns(case) | {"first_response_seconds": cases.first_response_seconds(case)}


def _memberships(ids: list[int]) -> dict:
    from crm.segments.models import Segment, SegmentEvent, SegmentMember

    names = dict(db.session.execute(select(Segment.id, Segment.name)).all())
    current = [
        _columns(m) | {"segment_name": names.get(m.segment_id)}
        for m in db.session.scalars(select(SegmentMember).where(SegmentMember.customer_id.in_(ids)))
    ]
    history = [_columns(e) for e in _rows(SegmentEvent, SegmentEvent.customer_id.in_(ids))]
    return {"current": current, "history": history}


def _feedback(ids: list[int]) -> list[dict]:
    from crm.personalization.models import ActionFeedback

    return [_columns(f) for f in _rows(ActionFeedback, ActionFeedback.customer_id.in_(ids))]


# --- erasure ------------------------------------------------------------------------------------


def erase_customer(customer_id: int, actor: str) -> dict:
    """Delete the person's rows, raw payloads and search documents; returns the counts. Commits.

    Each erased interaction leaves a tombstone (crm/channels/erased.py), so a provider's late retry of
    the same delivery does not bring it back.
    """
    ids = person_ids(customer_id)
    lock_customers(ids)
    interaction_ids = list(db.session.scalars(select(Interaction.id).where(Interaction.customer_id.in_(ids))))
    interaction_ids += _pending_internal(ids)
    counts = {"customers": len(ids), "interactions": len(interaction_ids)}
    for start in range(0, len(interaction_ids), 1000):
        chunk = interaction_ids[start : start + 1000]
        db.session.execute(delete(InteractionPayload).where(InteractionPayload.interaction_id.in_(chunk)))
        gone = delete(Interaction).where(Interaction.id.in_(chunk))
        erased.remember(db.session.execute(gone.returning(Interaction.source_id, Interaction.external_id)).all())
    counts.update(_delete_owned(ids))
    for cid in ids:  # deepest first: a merged customer's row names the one it went into
        db.session.execute(delete(Customer).where(Customer.id == cid))
    for iid in interaction_ids:
        record_change("interaction", iid)
    for cid in ids:
        record_change("customer", cid)
    db.session.add(
        PrivacyRequest(kind="erase", customer_id=customer_id, requested_by=actor, completed_at=utcnow(), summary=counts)
    )
    audit.record(actor, "erase", "customer", customer_id, **counts)
    db.session.commit()
    _drain_index()
    return counts


def _delete_owned(ids: list[int]) -> dict:
    from crm.personalization.models import ActionFeedback
    from crm.segments.models import SegmentEvent, SegmentMember

    counts = {}
    for name, stmt in (
        ("cases", delete(Case).where(Case.customer_id.in_(ids))),
        ("identifiers", delete(Identifier).where(Identifier.customer_id.in_(ids))),
        ("attributes", delete(CustomerAttribute).where(CustomerAttribute.customer_id.in_(ids))),
        ("suggestions", delete(DuplicateSuggestion).where(_either(DuplicateSuggestion, ids))),
        ("merge_blocks", delete(MergeBlock).where(_either(MergeBlock, ids))),
        ("merges", delete(Merge).where(_either(Merge, ids, "survivor_id", "merged_id"))),
        ("segment_memberships", delete(SegmentMember).where(SegmentMember.customer_id.in_(ids))),
        ("segment_events", delete(SegmentEvent).where(SegmentEvent.customer_id.in_(ids))),
        ("action_feedback", delete(ActionFeedback).where(ActionFeedback.customer_id.in_(ids))),
        ("match_keys", delete(MatchKey).where(MatchKey.customer_id.in_(ids))),
        ("match_profiles", delete(MatchProfile).where(MatchProfile.customer_id.in_(ids))),
    ):
        counts[name] = db.session.execute(stmt.execution_options(synchronize_session=False)).rowcount or 0
    return counts


def _pending_internal(ids: list[int]) -> list[int]:
    """Notes and calls written for the person that the worker has not attached yet."""
    from crm.channels.models import Source

    internal = [s.id for s in db.session.scalars(select(Source)) if (s.settings or {}).get("internal")]
    if not internal:
        return []
    rows = db.session.execute(
        select(Interaction.id, Interaction.data).where(
            Interaction.customer_id.is_(None), Interaction.source_id.in_(internal)
        )
    ).all()
    wanted = set(ids)
    return [iid for iid, data in rows if (data or {}).get("customer_id") in wanted]


def _drain_index() -> None:
    from crm.search import drain, uses_elasticsearch

    if uses_elasticsearch():
        jobs.enqueue(drain, once_key="drain")
