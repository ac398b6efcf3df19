"""What the customer page shows, gathered from the domain in one call: profile, timeline page,
personalization, cases, segments, duplicate suggestions and merge history.

Each part comes from the package that owns it; a part whose backend is unavailable (or failing) is
shown as unavailable with the reason, and the rest of the page still renders.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import select

from crm.errors import DomainError, NotFound
from crm.extensions import db
from crm.profiles import attributes
from crm.profiles.merge import merges_of
from crm.profiles.models import Case, Customer, Interaction, Merge
from crm.profiles.timeline import TimelinePage, timeline
from crm.segments.models import Segment, SegmentMember

log = logging.getLogger(__name__)

TIMELINE_PAGE = 20
FILTER_CHANNELS = ("email", "chat", "phone", "store", "internal")
FILTER_TYPES = ("message", "call", "visit", "purchase", "survey", "note")


@dataclass
class TimelineFilters:
    channels: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    cursor: str | None = None

    @classmethod
    def from_args(cls, args) -> TimelineFilters:
        """Unknown channel or type names are dropped: a hand-edited URL still gets a page."""
        return cls(
            channels=[c for c in args.getlist("channel") if c in FILTER_CHANNELS],
            types=[t for t in args.getlist("type") if t in FILTER_TYPES],
            cursor=args.get("cursor") or None,
        )

    def query(self, **extra) -> dict:
        out = {"channel": self.channels or None, "type": self.types or None}
        out.update(extra)
        return {k: v for k, v in out.items() if v}


@dataclass
class Part:
    """One panel's data, or why it is not there."""

    data: object = None
    unavailable: str | None = None


@dataclass
class CustomerView:
    customer: Customer
    attributes: dict
    timeline: TimelinePage
    filters: TimelineFilters
    open_cases: list[Case]
    segments: list[Segment]
    personalization: Part
    suggestions: Part
    merges: list[Merge]
    related: dict[int, Customer]
    pending: Interaction | None = None


def get_customer(customer_id: int) -> Customer:
    customer = db.session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"no customer {customer_id}")
    return customer


def customer_view(customer: Customer, filters: TimelineFilters, pending_id: int | None = None) -> CustomerView:
    page = timeline(
        customer.id,
        limit=TIMELINE_PAGE,
        cursor=filters.cursor,
        channels=filters.channels or None,
        types=filters.types or None,
    )
    merges, _ = merges_of(customer.id, limit=20)
    suggestions = _suggestions(customer.id)
    return CustomerView(
        customer=customer,
        attributes=attributes.effective(customer.id),
        timeline=page,
        filters=filters,
        open_cases=open_cases(customer.id),
        segments=segments_of(customer.id),
        personalization=_personalization(customer),
        suggestions=suggestions,
        merges=merges,
        related=_related(customer.id, merges, suggestions.data or []),
        pending=pending_entry(customer.id, pending_id),
    )


def pending_entry(customer_id: int, interaction_id: int | None) -> Interaction | None:
    """A note or call just written for this customer that the worker has not attached yet."""
    if not interaction_id:
        return None
    row = db.session.get(Interaction, interaction_id)
    if row is None or row.processed_at is not None or (row.data or {}).get("customer_id") != customer_id:
        return None
    return row


def open_cases(customer_id: int) -> list[Case]:
    return list(
        db.session.scalars(
            select(Case).where(Case.customer_id == customer_id, Case.status == "open").order_by(Case.opened_at.desc())
        )
    )


def segments_of(customer_id: int) -> list[Segment]:
    return list(
        db.session.scalars(
            select(Segment)
            .join(SegmentMember, SegmentMember.segment_id == Segment.id)
            .where(SegmentMember.customer_id == customer_id)
            .order_by(Segment.name)
        )
    )


def _personalization(customer: Customer) -> Part:
    try:
        from crm.personalization.agent_view import personalize
    except ImportError:
        return Part(unavailable="Personalization is not installed in this version.")
    try:
        return Part(personalize(customer))
    except DomainError as exc:
        return Part(unavailable=exc.detail)
    except Exception:
        # The agent still needs the rest of the page; the failure is logged with its traceback.
        db.session.rollback()
        log.exception("personalization failed for customer %s", customer.id)
        return Part(unavailable="Personalization failed for this customer; the error is logged.")


def _suggestions(customer_id: int) -> Part:
    try:
        from crm.profiles.suggestions import list_suggestions
    except ImportError:
        return Part([], unavailable="Duplicate suggestions are not available in this version.")
    rows, _ = list_suggestions(customer_id=customer_id, status="open", limit=10)
    return Part(rows)


def _related(customer_id: int, merges: list[Merge], suggestions: list) -> dict[int, Customer]:
    """The other customers named in merges and suggestions, by id, for their names and links."""
    ids = {m.survivor_id for m in merges} | {m.merged_id for m in merges}
    ids |= {s.customer_a_id for s in suggestions} | {s.customer_b_id for s in suggestions}
    ids.discard(customer_id)
    if not ids:
        return {}
    return {c.id: c for c in db.session.scalars(select(Customer).where(Customer.id.in_(ids)))}
