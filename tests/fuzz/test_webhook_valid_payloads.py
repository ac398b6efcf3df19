"""Property: a valid canonical interaction, whatever its content — any type, unicode names and text,
odd but valid phones, big baskets, refunds, survey scores — is accepted once (a replay stores nothing)
and processed by the pipeline without an error, so nothing accepted is left behind.

tests/channels/test_webhook_fuzz.py holds the other side: invalid and garbled bodies never get a 5xx and
store nothing. This one reaches past the 202 into the worker. FUZZ_EXAMPLES sets the depth.
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from crm.extensions import db
from crm.profiles.models import Customer, Interaction
from tests.factories import make_source, post_generic

FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TEXT = st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=80)
NAME = st.text(st.characters(categories=("L", "M", "Zs", "Pd")), min_size=1, max_size=40).filter(str.strip)
PHONES = st.sampled_from(["+1 415 555 0134", "(212) 555-0199", "+44 20 7946 0958", "0044 20 7946 0958", "555-0123"])
MONEY = st.decimals(min_value=Decimal("0"), max_value=Decimal("99999999.99"), places=2)
WHEN = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2026, 11, 1))


def item_lines():
    return st.lists(
        st.fixed_dictionaries(
            {
                "sku": st.text("ABCDEFGHIJ0123456789-", min_size=1, max_size=12),
                "name": TEXT,
                "quantity": st.integers(0, 50),
                "unit_price": MONEY.map(str),
            }
        ),  # fmt: skip
        max_size=12,
    )


def data_for(type_: str):
    if type_ == "purchase":
        return st.fixed_dictionaries(
            {"currency": st.sampled_from(["USD", "EUR", "GBP", "JPY"]), "items": item_lines(), "total": MONEY.map(str)},
            optional={"refund": st.booleans(), "order_number": TEXT},  # fmt: skip
        )
    if type_ == "survey":
        return st.sampled_from(["nps", "csat", "ces"]).flatmap(
            lambda kind: st.fixed_dictionaries(
                {"kind": st.just(kind), "score": st.integers(*{"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}[kind])},
                optional={"comment": TEXT},
            )
        )
    if type_ == "call":
        return st.fixed_dictionaries(
            {
                "outcome": st.sampled_from(["answered", "missed", "voicemail", "busy", "failed"]),
                "duration_s": st.floats(0, 36_000, allow_nan=False),
            }  # fmt: skip
        )
    if type_ == "message":
        messages = st.lists(st.fixed_dictionaries({"author": st.sampled_from(["customer", "agent", "bot"]), "text": TEXT}),
                            max_size=6)  # fmt: skip
        return st.fixed_dictionaries({}, optional={"messages": messages, "thread_id": TEXT.filter(str.strip)})
    return st.just({})


@st.composite
def canonical_interactions(draw) -> dict:
    type_ = draw(st.sampled_from(["message", "call", "visit", "purchase", "survey"]))
    customer = {"email": f"p{uuid.uuid4().hex[:12]}@example.com"}  # one identifier that surely matches
    extras = draw(st.fixed_dictionaries({}, optional={"phone": PHONES, "name": NAME, "loyalty_id": NAME}))
    customer.update(extras)
    if draw(st.booleans()):
        customer["attributes"] = draw(st.fixed_dictionaries({}, optional={
            "first_name": NAME, "last_name": NAME, "address": st.fixed_dictionaries({"city": NAME}),
            "custom": st.dictionaries(st.sampled_from(["tier", "size", "vip"]), st.integers(-5, 5) | NAME, max_size=3)}))  # fmt: skip
    return {
        "external_id": f"valid-{uuid.uuid4().hex}",
        "occurred_at": draw(WHEN).isoformat() + "Z",
        "type": type_,
        "direction": draw(st.sampled_from(["inbound", "outbound"])),
        "customer": customer,
        "subject": draw(TEXT),
        "text": draw(TEXT),
        "data": draw(data_for(type_)),
    }


@FUZZ
@given(item=canonical_interactions())
def test_any_valid_interaction_is_accepted_once_and_processed_without_error(client, app, run_jobs, item):
    source = make_source(channel={"call": "phone", "visit": "store", "purchase": "store"}.get(item["type"], "email"))
    first = post_generic(client, source, item)
    assert first.status_code == 202, first.get_data(as_text=True)[:1000]
    replay = post_generic(client, source, item)
    assert replay.status_code == 200 and replay.json["ids"] == first.json["ids"]
    run_jobs()
    db.session.expire_all()
    row = db.session.get(Interaction, first.json["ids"][0])
    assert row.processed_at is not None and row.last_error is None, row.last_error
    customer = db.session.get(Customer, row.customer_id)
    assert customer.status == "active" and customer.interaction_count >= 1
    assert db.session.scalar(select(Interaction.id).where(Interaction.external_id == item["external_id"])) == row.id
    db.session.rollback()
