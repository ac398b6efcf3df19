"""Customer facts from the database: the one place personalization reads profiles' rows.

The brain (facts, journey, churn, actions...) is pure; this module turns one customer's rows into the
frozen `CustomerFacts` it reads, in a handful of queries whatever the customer's history: the
profile, effective attributes, the last 500 interactions newest first, cases (every open one and the
latest 200 others), segment names and the action keys agents have closed. `load_many` does the same for a batch of customers (the rescore
backfill) with one query per table, not one per customer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal

from sqlalchemy import func, or_, select

from crm.experiments.assignment import treatments_for_many
from crm.extensions import db
from crm.personalization.facts import CaseFact, CustomerFacts, InteractionFact, to_decimal
from crm.personalization.models import ActionFeedback
from crm.profiles import attributes
from crm.profiles.models import Case, Customer, Interaction
from crm.segments.models import Segment, SegmentMember

INTERACTION_LIMIT = 500

# Only what the rules read: never the customer block, identifiers or raw payload of each row.
_INTERACTION_COLUMNS = (
    Interaction.id,
    Interaction.channel,
    Interaction.type,
    Interaction.direction,
    Interaction.occurred_at,
    Interaction.subject,
    Interaction.text,
    Interaction.data,
    Interaction.sentiment,
    Interaction.case_id,
)


@dataclass(frozen=True)
class LoadedCustomer:
    """The facts, plus what the database knows that the pure facts do not carry (segment ids)."""

    customer: Customer
    facts: CustomerFacts
    segment_ids: tuple[int, ...] = ()
    attributes: dict[str, dict] = field(default_factory=dict)


def load_facts(customer: Customer | int, *, scores_only: bool = False) -> CustomerFacts:
    """The facts of one customer. scores_only: skip attributes, segments and feedback (journey and churn)."""
    return load_customer(customer, scores_only=scores_only).facts


def load_customer(customer: Customer | int, *, scores_only: bool = False) -> LoadedCustomer:
    row = customer if isinstance(customer, Customer) else db.session.get(Customer, customer)
    if row is None:
        raise LookupError(f"no customer {customer}")
    loaded = load_many([row], scores_only=scores_only)
    return loaded[row.id]


def load_many(customers: Iterable[Customer], *, scores_only: bool = False) -> dict[int, LoadedCustomer]:
    """customer id -> LoadedCustomer for a batch, with one query per table."""
    by_id = {c.id: c for c in customers}
    if not by_id:
        return {}
    ids = list(by_id)
    interactions = _interactions(ids)
    cases = _cases(ids)
    if scores_only:
        values: dict[int, dict] = {}
        segments: dict[int, list[tuple[int, str]]] = {}
        done: dict[int, set[str]] = {}
        treatments: dict[int, tuple] = {}
    else:
        values = {cid: attributes.effective(cid) for cid in ids} if len(ids) == 1 else _attributes_many(ids)
        segments = _segments(ids)
        done = _done_actions(ids)
        treatments = treatments_for_many(ids)  # running experiments: the treated see their action
    out = {}
    for cid, customer in by_id.items():
        effective = values.get(cid, {})
        facts = _facts(
            customer,
            interactions.get(cid, ()),
            cases.get(cid, ()),
            segments=tuple(name for _, name in segments.get(cid, ())),
            effective=effective,
            done=frozenset(done.get(cid, ())),
        )
        if cid in treatments:
            facts = replace(facts, experiments=treatments[cid])
        ids_of_segments = tuple(sid for sid, _ in segments.get(cid, ()))
        out[cid] = LoadedCustomer(customer, facts, ids_of_segments, effective)
    return out


def _facts(
    customer: Customer,
    interactions: Iterable[InteractionFact],
    cases: Iterable[CaseFact],
    *,
    segments: tuple[str, ...],
    effective: dict[str, dict],
    done: frozenset[str],
) -> CustomerFacts:
    plain = {key: entry["value"] for key, entry in effective.items()}
    first_name = plain.get("first_name")
    return CustomerFacts(
        customer_id=customer.id,
        display_name=customer.display_name,
        first_name=first_name if isinstance(first_name, str) else None,
        created_at=customer.created_at,
        first_seen_at=customer.first_seen_at,
        last_seen_at=customer.last_seen_at,
        lifetime_value=_amounts(customer.lifetime_value),
        ltv_amount=Decimal(str(customer.ltv_amount or 0)),
        orders_count=customer.orders_count or 0,
        nps_score=customer.nps_score,
        csat_score=customer.csat_score,
        ces_score=customer.ces_score,
        open_cases=customer.open_cases or 0,
        interactions=tuple(interactions),
        cases=tuple(cases),
        segments=segments,
        attributes=plain,
        done_actions=done,
    )


def _amounts(per_currency: dict | None) -> dict[str, Decimal]:
    """{"USD": "12.30"} as stored on the profile -> {"USD": Decimal("12.30")}, unreadable amounts left out."""
    out = {}
    for currency, raw in (per_currency or {}).items():
        amount = to_decimal(raw)
        if amount is not None:
            out[currency] = amount
    return out


def _interaction_fact(row) -> InteractionFact:
    return InteractionFact(
        id=row.id,
        channel=row.channel,
        type=row.type,
        direction=row.direction,
        occurred_at=row.occurred_at,
        subject=row.subject,
        text=row.text,
        data=row.data if isinstance(row.data, dict) else {},
        sentiment=row.sentiment,
        case_id=row.case_id,
    )


def _interactions(ids: list[int]) -> dict[int, list[InteractionFact]]:
    """The last INTERACTION_LIMIT interactions of each customer, newest first."""
    newest_first = (Interaction.occurred_at.desc(), Interaction.id.desc())
    if len(ids) == 1:
        # One customer: the (customer_id, occurred_at) index walks backwards and stops at the limit.
        stmt = (
            select(Interaction.customer_id, *_INTERACTION_COLUMNS)
            .where(Interaction.customer_id == ids[0])
            .order_by(*newest_first)
            .limit(INTERACTION_LIMIT)
        )
    else:
        rank = func.row_number().over(partition_by=Interaction.customer_id, order_by=newest_first).label("rank")
        inner = select(Interaction.customer_id, *_INTERACTION_COLUMNS, rank).where(Interaction.customer_id.in_(ids))
        ranked = inner.subquery()
        stmt = (
            select(*[c for c in ranked.c if c.name != "rank"])
            .where(ranked.c.rank <= INTERACTION_LIMIT)
            .order_by(ranked.c.customer_id, ranked.c.occurred_at.desc(), ranked.c.id.desc())
        )
    out: dict[int, list[InteractionFact]] = defaultdict(list)
    for row in db.session.execute(stmt):
        out[row.customer_id].append(_interaction_fact(row))
    return out


CASE_LIMIT = 200  # resolved cases kept per customer (open ones are always all kept)
_CASE_COLUMNS = (
    Case.customer_id,
    Case.id,
    Case.status,
    Case.channel,
    Case.subject,
    Case.opened_at,
    Case.first_response_at,
    Case.resolved_at,
    Case.reopen_count,
    Case.last_inbound_at,
    Case.resolution_seconds,
)


def _cases(ids: list[int]) -> dict[int, list[CaseFact]]:
    """Every open case and the latest CASE_LIMIT others per customer, newest first, as plain rows."""
    newest_first = (Case.opened_at.desc(), Case.id.desc())
    rank = func.row_number().over(partition_by=Case.customer_id, order_by=newest_first).label("rank")
    ranked = select(*_CASE_COLUMNS, rank).where(Case.customer_id.in_(ids)).subquery()
    stmt = (
        select(*[c for c in ranked.c if c.name != "rank"])
        .where(or_(ranked.c.status == "open", ranked.c.rank <= CASE_LIMIT))
        .order_by(ranked.c.customer_id, ranked.c.opened_at.desc(), ranked.c.id.desc())
    )
    out: dict[int, list[CaseFact]] = defaultdict(list)
    for row in db.session.execute(stmt):
        out[row.customer_id].append(
            CaseFact(
                id=row.id,
                status=row.status,
                channel=row.channel,
                subject=row.subject,
                opened_at=row.opened_at,
                first_response_at=row.first_response_at,
                resolved_at=row.resolved_at,
                reopen_count=row.reopen_count or 0,
                last_inbound_at=row.last_inbound_at,
                resolution_seconds=row.resolution_seconds,
            )
        )
    return out


def _attributes_many(ids: list[int]) -> dict[int, dict]:
    """Effective attribute values for many customers: the pinned agent value over the channel one."""
    from crm.profiles.models import CustomerAttribute

    out: dict[int, dict] = defaultdict(dict)
    rows = db.session.scalars(select(CustomerAttribute).where(CustomerAttribute.customer_id.in_(ids)))
    for row in sorted(rows, key=lambda r: r.origin != "agent"):
        out[row.customer_id].setdefault(row.key, {"value": row.value, "origin": row.origin})
    return out


def _segments(ids: list[int]) -> dict[int, list[tuple[int, str]]]:
    stmt = (
        select(SegmentMember.customer_id, Segment.id, Segment.name)
        .join(Segment, Segment.id == SegmentMember.segment_id)
        .where(SegmentMember.customer_id.in_(ids))
        .order_by(Segment.name)
    )
    out: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for customer_id, segment_id, name in db.session.execute(stmt):
        out[customer_id].append((segment_id, name))
    return out


def _done_actions(ids: list[int]) -> dict[int, set[str]]:
    out: dict[int, set[str]] = defaultdict(set)
    stmt = select(ActionFeedback.customer_id, ActionFeedback.action_key).where(ActionFeedback.customer_id.in_(ids))
    for customer_id, key in db.session.execute(stmt):
        out[customer_id].add(key)
    return out
