"""Real-time membership: after each processed interaction, the customer is evaluated against every
dynamic segment inside the processing transaction (crm.pipeline calls `evaluate_customer`).

Enter and leave events and their outbound deliveries are written in that same transaction, so they
exist exactly when the interaction counts as processed; no full refresh is involved. Segments that
read another segment's membership are evaluated after it, so a change flows through in one pass.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from crm.columns import utcnow
from crm.extensions import db
from crm.profiles.locks import lock_customer
from crm.profiles.models import Customer
from crm.segments.documents import ROOT, fields_for
from crm.segments.evaluate import matches
from crm.segments.membership import enter, leave
from crm.segments.models import Segment, SegmentMember
from crm.segments.rules import lower, referenced_segments


def dependency_order(segments: list[Segment]) -> list[Segment]:
    """Segments ordered so that each comes after those whose membership it reads (cycles broken by id)."""
    by_id = {s.id: s for s in segments}
    done: set[int] = set()
    out: list[Segment] = []

    def visit(sid: int, seen: frozenset) -> None:
        if sid in done or sid in seen or sid not in by_id:
            return
        for dep in sorted(referenced_segments(by_id[sid].rule)):
            visit(dep, seen | {sid})
        done.add(sid)
        out.append(by_id[sid])

    for sid in sorted(by_id):
        visit(sid, frozenset())
    return out


def evaluate_customer(customer: Customer, interaction_id: int | None = None, now: datetime | None = None) -> list:
    """Re-evaluate one customer against every dynamic segment; returns [(segment id, 'enter'|'leave')]."""
    segments = list(db.session.scalars(select(Segment).where(Segment.kind == "dynamic")))
    if not segments:
        return []
    lock_customer(customer.id)
    db.session.flush()
    now = now or utcnow()
    current = set(db.session.scalars(select(SegmentMember.segment_id).where(SegmentMember.customer_id == customer.id)))
    fields = None
    if customer.status == "active":
        fields = (fields_for([customer.id]).get(customer.id) or {}).get(ROOT)
    changes = []
    for segment in dependency_order(segments):
        wanted = fields is not None and matches(lower(segment.rule, now), fields)
        if wanted == (segment.id in current):
            continue
        if wanted:
            enter(segment, customer.id, at=now, interaction_id=interaction_id)
            current.add(segment.id)
        else:
            leave(segment, customer.id, at=now, interaction_id=interaction_id)
            current.discard(segment.id)
        if fields is not None:
            # Later segments may read this one's membership: they see the change at once.
            fields["segments"] = sorted(current)
        changes.append((segment.id, "enter" if wanted else "leave"))
    return changes
