"""A small, hand-made population for the search tests, delivered through real signed webhooks.

Each person is reachable by something an agent might type; decoys share a part of it (a phone ending,
a surname, the start of an email) so that a backend finding too much, or too little, shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from crm.extensions import db
from crm.profiles.models import Identifier
from tests.factories import interaction, make_source, post_generic

NOW = datetime.now(UTC).replace(microsecond=0)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


@dataclass
class Population:
    sources: dict
    ids: dict[str, int]  # person key -> customer id


def _post(client, source, items) -> None:
    response = post_generic(client, source, {"interactions": items})
    assert response.status_code == 202, response.json


def deliver(client) -> dict:
    """Post the population's interactions; returns the sources."""
    sources = {ch: make_source(channel=ch) for ch in ("email", "chat", "phone", "store")}
    _post(
        client,
        sources["email"],
        [
            interaction(
                "zoe-1",
                customer={"email": "zoe.unal@example.com", "name": "Zoë Ünal", "phone": "+1 415 555 0132"},
                occurred_at=ago(3),
                subject="Refund not received",
                text="My refund has not been received yet, order #10023.",
            ),
            interaction(
                "zoe-decoy-1",
                customer={"email": "xzoe.unal@example.net", "name": "Zora Unwin", "phone": "+1 212 555 0199"},
                occurred_at=ago(40),
                subject="Opening hours",
                text="When do you open on Sundays?",
            ),
            interaction(
                "sam-a",
                customer={"email": "sam.taylor@example.com", "name": "Sam Taylor"},
                occurred_at=ago(10),
                subject="Question",
                text="Do you ship to Canada?",
            ),
            interaction(
                "sam-b",
                customer={"email": "sam.t@example.net", "name": "Sam Taylor"},
                occurred_at=ago(1),
                subject="Question",
                text="Do you ship to Mexico?",
            ),
        ],
    )
    _post(
        client,
        sources["chat"],
        [
            interaction(
                "ann-chat",
                customer={"email": "ann.lee@example.org", "chat_handle": "@AnnLee", "name": "Ann Lee"},
                occurred_at=ago(2),
                subject="Parcel",
                data={
                    "conversation_id": "c-1",
                    "messages": [{"author": "customer", "text": "My refund was never received"}],
                },
            )
        ],
    )
    _post(
        client,
        sources["phone"],
        [
            interaction(
                "bob-call",
                type_="call",
                customer={"phone": "+44 20 7946 0958"},
                occurred_at=ago(6),
                text="Called about a broken kettle",
                data={"duration_s": 120, "outcome": "answered"},
            )
        ],
    )
    _post(
        client,
        sources["store"],
        [
            interaction(
                "zoe-order",
                type_="purchase",
                customer={"email": "zoe.unal@example.com", "loyalty_id": "L-1234"},
                occurred_at=ago(20),
                data={
                    "order_number": "#10023",
                    "currency": "USD",
                    "total": "18.00",
                    "items": [{"sku": "MUG-RED", "name": "Red mug", "category": "Kitchen", "unit_price": "18.00"}],
                },
            ),
            interaction(
                "bob-order",
                type_="purchase",
                customer={
                    "phone": "0044 20 7946 0958",
                    "email": "bob@obrien.example",
                    "external_id": "cus_AbC1",
                    "attributes": {
                        "first_name": "Bob",
                        "last_name": "O'Brien-Smith",
                        "address": {"city": "London", "country": "GB"},
                    },
                },
                occurred_at=ago(5),
                data={"order_number": "SO-77", "currency": "GBP", "total": "40.00"},
            ),
        ],
    )
    return sources


def customer_of(kind: str, value: str) -> int:
    return db.session.scalar(select(Identifier.customer_id).where(Identifier.kind == kind, Identifier.value == value))


def build(client, run_jobs) -> Population:
    sources = deliver(client)
    run_jobs()
    db.session.expire_all()
    ids = {
        "zoe": customer_of("email", "zoe.unal@example.com"),
        "zora": customer_of("email", "xzoe.unal@example.net"),
        "sam_a": customer_of("email", "sam.taylor@example.com"),
        "sam_b": customer_of("email", "sam.t@example.net"),
        "ann": customer_of("email", "ann.lee@example.org"),
        "bob": customer_of("email", "bob@obrien.example"),
    }
    assert all(ids.values()), ids
    return Population(sources, ids)
