"""Helpers for the identity tests: post interactions and let the worker run, and full snapshots of a
customer (what an agent would see: identifiers, interactions, cases, attributes, aggregates)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from crm.extensions import db
from crm.profiles.models import Case, Customer, CustomerAttribute, Identifier, Interaction
from crm.segments.models import SegmentMember
from tests.factories import interaction, post_generic

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
AGGREGATES = (
    "status",
    "merged_into_id",
    "display_name",
    "first_seen_at",
    "last_seen_at",
    "last_channel",
    "interaction_count",
    "counts",
    "lifetime_value",
    "ltv_amount",
    "orders_count",
    "last_purchase_at",
    "nps_score",
    "csat_score",
    "ces_score",
    "open_cases",
    "sentiment_avg",
)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def deliver(client, run_jobs, source, *items) -> list[int]:
    """POST the items to a generic source and run the worker; returns the accepted interaction ids."""
    response = post_generic(client, source, {"interactions": list(items)} if len(items) > 1 else items[0])
    assert response.status_code == 202, response.json
    run_jobs()
    db.session.expire_all()
    return response.json["accepted"]


def item(external_id: str, minutes: float, customer: dict, **fields) -> dict:
    return interaction(external_id, customer=customer, occurred_at=at(minutes), **fields)


def store_population(identifiers: list[dict], values: dict[int, dict]) -> list:
    """Insert customers' identifier rows and attribute values ({customer id: {key: value}}), then store
    their match records as `flask identity suggest` does; returns the records."""
    from sqlalchemy import insert

    from crm.profiles.suggestions import load_records, store_everyone

    attrs = [
        {"customer_id": cid, "key": k, "value": v, "observed_at": T0}
        for cid, kv in values.items()
        for k, v in kv.items()
    ]
    db.session.execute(insert(Identifier), identifiers)
    db.session.execute(insert(CustomerAttribute), attrs)
    records = load_records()
    store_everyone(records)
    db.session.commit()
    return records


def customer_of(interaction_id: int) -> Customer:
    db.session.expire_all()
    row = db.session.get(Interaction, interaction_id)
    assert row.processed_at is not None, f"interaction {interaction_id} not processed: {row.last_error}"
    return db.session.get(Customer, row.customer_id)


def active_customers() -> list[Customer]:
    db.session.expire_all()
    return list(db.session.scalars(select(Customer).where(Customer.status == "active").order_by(Customer.id)))


def snapshot(customer_id: int) -> dict:
    """Everything a person can see of a customer, in a comparable form (row ids of moved rows included)."""
    db.session.expire_all()
    customer = db.session.get(Customer, customer_id)
    idents = db.session.scalars(select(Identifier).where(Identifier.customer_id == customer_id))
    interactions = db.session.scalars(select(Interaction).where(Interaction.customer_id == customer_id))
    cases = db.session.scalars(select(Case).where(Case.customer_id == customer_id))
    attrs = db.session.scalars(select(CustomerAttribute).where(CustomerAttribute.customer_id == customer_id))
    return {
        "identifiers": sorted((i.id, i.kind, i.value, i.raw, i.source_id, i.interaction_id) for i in idents),
        "interactions": sorted((i.id, i.case_id, i.thread_key) for i in interactions),
        "cases": sorted(
            (c.id, c.status, c.thread_key, c.opened_at, c.first_response_at, c.reopen_count) for c in cases
        ),
        "attributes": sorted(
            (a.key, a.origin, repr(a.value), a.source_id, a.interaction_id, a.observed_at, a.updated_by) for a in attrs
        ),
        "memberships": sorted(
            db.session.scalars(select(SegmentMember.segment_id).where(SegmentMember.customer_id == customer_id))
        ),
        "aggregates": {name: _plain(getattr(customer, name)) for name in AGGREGATES},
    }


def _plain(value):
    return str(value) if value is not None and not isinstance(value, (int, float, str, dict, list)) else value
