"""The evaluator, the Elasticsearch query and the SQL query agree, on generated rule trees over a pool of
generated customers (property test).

The pool is written once for the module as database rows — customers, identifiers, channel and agent
attribute values of every type, interactions on every channel at times that sit on both sides of each
window, purchases with refunds and another currency, memberships — and indexed through the outbox like
production data. Hypothesis then draws trees from the same small domains, so conditions land on their
boundaries, and every tree is checked against every customer of the pool.
"""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from crm.extensions import db
from crm.profiles.models import Customer, CustomerAttribute, Identifier, Interaction
from crm.search import record_change
from crm.segments import elastic
from crm.segments.documents import ROOT, fields_for
from crm.segments.evaluate import matches
from crm.segments.models import Segment, SegmentMember
from crm.segments.preview import sql_matching_ids
from crm.segments.rules import lower, validate_rule
from tests.conftest import MODE
from tests.factories import make_source
from tests.segments.conftest import index_everything, module_data

POOL = 150
EXAMPLES = 150
NOW = datetime.now(UTC).replace(microsecond=654321)
DAYS = [0.2, 6.9, 7, 7.1, 29.9, 30, 30.1, 89.9, 90.1, 200, 364, 400]
WINDOWS = [7, 30, 90, 365]
CHANNELS = ["email", "chat", "phone", "store"]
TYPES = ["message", "call", "visit", "purchase", "survey"]
NAMES = ["Ann Lee", "ÉLODIE Brun", "ann_lee", "100% Real", "Star*Man", "Bob", None]
CITIES = ["London", "LONDON", "Paris", "SÃO PAULO", "são paulo"]
STAGES = ["new", "loyal", "at risk", None]
TOTALS = ["0.01", "9.99", "10.00", "25.50", "50", "99.99", "100.00", None]
SKUS, CATEGORIES = ["A-1", "B-2", "C-3"], ["shoes", "bags", "Hats"]
AMOUNTS = [0, 0.01, 10, 25.5, 60, 100, 150]
NUMBERS = {
    "ltv_amount": [0, 9.99, 50, 100, 250.5],
    "orders_count": [0, 1, 2, 5],
    "nps_score": [0, 6, 7, 8, 9, 10],
    "csat_score": [1, 2.5, 3, 5],
    "open_cases": [0, 1, 3],
    "interaction_count": [0, 2, 10],
}
_ids = itertools.count(1)


def when(rng: random.Random) -> datetime:
    return NOW - timedelta(days=rng.choice(DAYS))


def _customer(rng: random.Random) -> Customer:
    numbers = {name: rng.choice(values + [None]) for name, values in NUMBERS.items()}
    for name in ("orders_count", "open_cases", "interaction_count"):
        numbers[name] = numbers[name] or 0
    return Customer(
        display_name=rng.choice(NAMES),
        journey_stage=rng.choice(STAGES),
        last_channel=rng.choice(CHANNELS + [None]),
        ltv_amount=numbers["ltv_amount"] or 0,
        orders_count=numbers["orders_count"],
        nps_score=numbers["nps_score"],
        csat_score=numbers["csat_score"],
        open_cases=numbers["open_cases"],
        interaction_count=numbers["interaction_count"],
        created_at=when(rng),
        last_seen_at=rng.choice([when(rng), None]),
        last_purchase_at=rng.choice([when(rng), None]),
    )


def _attribute_values(rng: random.Random) -> dict[str, object]:
    values = {
        "address": {"city": rng.choice(CITIES), "postcode": rng.choice(["N1 9GU", "75001"])},
        "first_name": rng.choice(["Ann", "ann", "Zoë"]),
        "custom.tier": rng.choice(["gold", "Gold", "silver"]),
        "custom.code": rng.choice([3, 3.5, "3", "x"]),  # a number for some, a string for others
        "custom.vip": rng.choice([True, False]),
        "custom.member_since": rng.choice(["2019-05-01", "2024-01-31", (NOW - timedelta(days=20)).date().isoformat()]),
        "consent.email": {"granted": rng.choice([True, False]), "at": None},
    }
    return {k: v for k, v in values.items() if rng.random() < 0.7}


def _attributes(rng: random.Random, cid: int, source_id: int) -> list[CustomerAttribute]:
    rows = [
        CustomerAttribute(customer_id=cid, key=k, origin="channel", value=v, source_id=source_id, observed_at=NOW)
        for k, v in _attribute_values(rng).items()
    ]
    for key, value in _attribute_values(rng).items():
        if rng.random() < 0.3:  # an agent's edit, pinned over the channel's value
            rows.append(CustomerAttribute(customer_id=cid, key=key, origin="agent", value=value, observed_at=NOW))
    return rows


def _interaction(rng: random.Random, cid: int, source_id: int) -> Interaction:
    type_ = rng.choice(TYPES)
    data: dict = {}
    if type_ == "purchase":
        items = [{"sku": s, "category": rng.choice(CATEGORIES)} for s in rng.sample(SKUS, rng.randint(0, 2))]
        data = {"items": items, "total": rng.choice(TOTALS), "currency": rng.choice(["USD", "USD", "EUR", None])}
        if rng.random() < 0.2:
            data["refund"] = True
    return Interaction(
        source_id=source_id,
        external_id=f"pool-{next(_ids)}",
        customer_id=cid,
        channel=rng.choice(CHANNELS),
        type=type_,
        direction=rng.choice(["inbound", "outbound"]),
        occurred_at=when(rng),
        processed_at=NOW,
        data=data,
    )


def write_pool(seed: int = 11) -> list[int]:
    rng = random.Random(seed)
    source = make_source(channel="store")
    segments = [
        Segment(name=f"pool {n}", kind="static", rule={"condition": "nps", "category": "promoter"}) for n in (1, 2)
    ]
    db.session.add_all(segments)
    customers = [_customer(rng) for _ in range(POOL)]
    db.session.add_all(customers)
    db.session.flush()
    for c in customers:
        for kind in rng.sample(["email", "phone", "chat", "loyalty"], rng.randint(0, 3)):
            db.session.add(Identifier(customer_id=c.id, kind=kind, value=f"{kind}-{c.id}"))
        db.session.add_all(_attributes(rng, c.id, source.id))
        db.session.add_all(_interaction(rng, c.id, source.id) for _ in range(rng.randint(0, 10)))
        for segment in segments:
            if rng.random() < 0.4:
                db.session.add(SegmentMember(segment_id=segment.id, customer_id=c.id, entered_at=NOW))
        record_change("customer", c.id)
    db.session.commit()
    return [s.id for s in segments]


@pytest.fixture(scope="module")
def pool(_app):
    with module_data(_app):
        segment_ids = write_pool()
        index_everything()
        ids = list(db.session.scalars(select(Customer.id)))
        fields = {cid: doc[ROOT] for cid, doc in fields_for(ids).items()}
        yield {"segments": segment_ids, "fields": fields}


# --- rule trees drawn from the pool's domains -----------------------------------------------------

days = st.sampled_from(WINDOWS)
instants = st.sampled_from(DAYS).map(lambda d: (NOW - timedelta(days=d)).isoformat())


@st.composite
def counted(draw, values):
    op = draw(st.sampled_from(["eq", "ne", "lt", "lte", "gt", "gte", "between"]))
    if op == "between":
        return op, sorted(draw(st.lists(values, min_size=2, max_size=2)))
    return op, draw(values)


def _maybe(draw, key: str, strategy) -> dict:
    return {key: draw(strategy)} if draw(st.booleans()) else {}


@st.composite
def profile_condition(draw):
    kind = draw(st.sampled_from(["number", "datetime", "string"]))
    if kind == "number":
        field = draw(st.sampled_from(sorted(NUMBERS)))
        op = draw(st.sampled_from(["eq", "ne", "in", "lt", "lte", "gt", "gte", "between", "exists"]))
        value = {
            "in": st.lists(st.sampled_from(NUMBERS[field]), min_size=1, max_size=3),
            "between": st.lists(st.sampled_from(NUMBERS[field]), min_size=2, max_size=2).map(sorted),
            "exists": st.just(None),
        }.get(op, st.sampled_from(NUMBERS[field]))
        return {"condition": "profile", "field": field, "op": op, "value": draw(value)}
    if kind == "datetime":
        field = draw(st.sampled_from(["created_at", "last_seen_at", "last_purchase_at"]))
        return {"condition": "profile", "field": field, **draw(time_comparison())}
    op = draw(st.sampled_from(["eq", "ne", "in", "contains", "exists"]))
    words = st.sampled_from(["ann lee", "Ann", "_", "%", "*", "élodie", "bob", "real"])
    value = {"in": st.lists(words, min_size=1, max_size=2), "exists": st.just(None)}.get(op, words)
    return {
        "condition": "profile",
        "field": draw(st.sampled_from(["display_name", "last_channel"])),
        "op": op,
        "value": draw(value),
    }


@st.composite
def time_comparison(draw):
    op = draw(st.sampled_from(["before", "after", "between", "within_last_days", "exists"]))
    value = {
        "between": st.lists(st.sampled_from(DAYS), min_size=2, max_size=2).map(
            lambda ds: [(NOW - timedelta(days=d)).isoformat() for d in sorted(ds, reverse=True)]
        ),
        "within_last_days": days,
        "exists": st.just(None),
    }.get(op, instants)
    return {"op": op, "value": draw(value)}


@st.composite
def attribute_condition(draw):
    key = draw(
        st.sampled_from(
            [
                "address.city",
                "first_name",
                "custom.tier",
                "custom.code",
                "custom.vip",
                "custom.member_since",
                "consent.email",
                "custom.nothing",
            ]
        )
    )
    if key in ("custom.vip", "consent.email"):
        op = draw(st.sampled_from(["eq", "ne", "exists"]))
        return {
            "condition": "attribute",
            "key": key,
            "op": op,
            **({} if op == "exists" else {"value": draw(st.booleans())}),
        }
    if key == "custom.member_since":
        op = draw(st.sampled_from(["before", "after", "within_last_days", "exists"]))
        value = {"within_last_days": st.sampled_from([10, 30]), "exists": st.just(None)}.get(
            op, st.sampled_from(["2019-05-01", "2020-01-01", "2024-01-31"])
        )
        return {"condition": "attribute", "key": key, "type": "date", "op": op, "value": draw(value)}
    if key == "custom.code" and draw(st.booleans()):
        op, value = draw(counted(st.sampled_from([3, 3.5, 4])))
        return {"condition": "attribute", "key": key, "type": "number", "op": op, "value": value}
    op = draw(st.sampled_from(["eq", "ne", "in", "contains", "exists"]))
    words = st.sampled_from(["london", "São Paulo", "paris", "ann", "zoë", "gold", "3", "x", "o"])
    value = {"in": st.lists(words, min_size=1, max_size=3), "exists": st.just(None)}.get(op, words)
    return {"condition": "attribute", "key": key, "type": "string", "op": op, "value": draw(value)}


@st.composite
def interactions_condition(draw):
    op, value = draw(counted(st.integers(0, 4)))
    rule = {"condition": "interactions", "op": op, "value": value}
    rule.update(
        _maybe(
            draw,
            "channel",
            st.sampled_from(CHANNELS) | st.lists(st.sampled_from(CHANNELS), min_size=1, max_size=2, unique=True),
        )
    )
    rule.update(_maybe(draw, "type", st.sampled_from(TYPES)))
    rule.update(_maybe(draw, "direction", st.sampled_from(["inbound", "outbound"])))
    rule.update(_maybe(draw, "within_days", days))
    return rule


@st.composite
def behaviour_condition(draw):
    kind = draw(st.sampled_from(["interactions", "last_interaction", "bought", "spend"]))
    if kind == "interactions":
        return draw(interactions_condition())
    if kind == "last_interaction":
        return {
            "condition": "last_interaction",
            **_maybe(draw, "channel", st.sampled_from(CHANNELS)),
            **draw(time_comparison()),
        }
    if kind == "bought":
        what = draw(st.sampled_from([("sku", SKUS), ("category", CATEGORIES)]))
        return {"condition": "bought", what[0]: draw(st.sampled_from(what[1])), **_maybe(draw, "within_days", days)}
    op, value = draw(counted(st.sampled_from(AMOUNTS)))
    rule = {"condition": "spend", "op": op, "value": value}
    return {**rule, **_maybe(draw, "within_days", days), **_maybe(draw, "currency", st.sampled_from(["USD", "EUR"]))}


def other_conditions(segment_ids: list[int]):
    return st.one_of(
        st.sampled_from(["email", "phone", "chat", "loyalty", "external"]).map(
            lambda k: {"condition": "identifier", "kind": k}
        ),
        st.sampled_from(["promoter", "passive", "detractor"]).map(lambda c: {"condition": "nps", "category": c}),
        st.sampled_from([1, 2.5, 3, 5]).map(lambda n: {"condition": "csat", "at_most": n}),
        counted(st.integers(0, 3)).map(lambda ov: {"condition": "open_cases", "op": ov[0], "value": ov[1]}),
        st.sampled_from([("eq", "loyal"), ("ne", "new"), ("in", ["at risk", "NEW"]), ("exists", None)]).map(
            lambda ov: {"condition": "journey_stage", "op": ov[0], **({"value": ov[1]} if ov[1] is not None else {})}
        ),
        st.sampled_from(segment_ids).map(lambda s: {"condition": "segment", "segment_id": s}),
    )


def trees(segment_ids: list[int]):
    leaves = st.one_of(profile_condition(), attribute_condition(), behaviour_condition(), other_conditions(segment_ids))
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, min_size=1, max_size=3).map(lambda c: {"all": c}),
            st.lists(children, min_size=1, max_size=3).map(lambda c: {"any": c}),
            children.map(lambda c: {"not": c}),
        ),
        max_leaves=5,
    )


def test_evaluator_index_and_database_agree_on_generated_trees(pool):
    cases = {"trees": 0, "pairs": 0, "split": 0}
    fields = pool["fields"]

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
    @given(rule=trees(pool["segments"]))
    def agree(rule):
        node = lower(validate_rule(rule), NOW)
        expected = {cid for cid, doc in fields.items() if matches(node, doc)}
        assert set(sql_matching_ids(node)) == expected, "database"
        if MODE == "full":
            assert set(elastic.matching_ids(node)) == expected, "index"
        cases["trees"] += 1
        cases["pairs"] += len(fields)
        cases["split"] += 0 < len(expected) < len(fields)  # trees that tell members from non-members

    agree()
    assert cases["trees"] >= 100 and cases["pairs"] >= 500 * 10, cases
    assert cases["split"] >= cases["trees"] // 2, cases
