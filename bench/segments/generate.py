"""Deterministic bench data for segments: customers with identifiers, attributes and interactions on every
channel (purchases from the demo catalogue), as plain tuples ready for PostgreSQL COPY.

Pure: a seed and an anchor time in, rows out. Aggregates on the customer rows (counts, value, last seen,
latest NPS and CSAT) are computed from the interactions generated, as the pipeline would.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from crm.demo import catalog, people

CHANNEL_TYPES = {
    "email": [("message", 0.9), ("survey", 0.1)],
    "chat": [("message", 1.0)],
    "phone": [("call", 1.0)],
    "store": [("visit", 0.45), ("purchase", 0.55)],
}
CHANNEL_WEIGHTS = {"email": 0.35, "chat": 0.2, "phone": 0.15, "store": 0.3}
STAGES = ["awareness", "consideration", "first purchase", "repeat", "advocate", "at risk", "lapsed"]
TIERS = ["gold", "silver", "bronze"]


@dataclass
class Rows:
    customers: list[tuple] = field(default_factory=list)
    identifiers: list[tuple] = field(default_factory=list)
    attributes: list[tuple] = field(default_factory=list)
    interactions: list[tuple] = field(default_factory=list)


def interaction_counts(rng: random.Random, customers: int, interactions: int) -> list[int]:
    """Per-customer interaction counts, skewed (most have a few, some many), summing exactly to `interactions`."""
    mean = interactions / customers
    counts = [min(int(rng.expovariate(1 / mean)), 150) for _ in range(customers)]
    diff = interactions - sum(counts)
    while diff:
        i = rng.randrange(customers)
        step = 1 if diff > 0 else -1
        if counts[i] + step < 0 or counts[i] + step > 150:
            continue
        counts[i] += step
        diff -= step
    return counts


def _choose(rng: random.Random, weighted: list[tuple[str, float]]) -> str:
    return rng.choices([w[0] for w in weighted], [w[1] for w in weighted])[0]


def _purchase(rng: random.Random) -> dict:
    first = rng.choice(catalog.PRODUCTS)
    basket = [first] + ([rng.choice(catalog.PRODUCTS)] if rng.random() < 0.4 else [])
    items = [{"sku": s, "name": n, "category": c, "quantity": 1, "unit_price": p} for s, n, c, p in basket]
    total = sum(Decimal(i["unit_price"]) for i in items)
    data = {"currency": "USD", "items": items, "total": f"{total:.2f}", "store_id": rng.choice(catalog.STORES)[0]}
    if rng.random() < 0.03:
        data["refund"] = True
    return data


def _interactions(rng, cid: int, count: int, anchor: datetime, next_id, source_ids: dict[str, int]) -> list[tuple]:
    rows = []
    for n in range(count):
        channel = rng.choices(list(CHANNEL_WEIGHTS), list(CHANNEL_WEIGHTS.values()))[0]
        type_ = _choose(rng, CHANNEL_TYPES[channel])
        at = anchor - timedelta(days=rng.uniform(0, 365), seconds=rng.randint(0, 86_400))
        direction = "outbound" if type_ == "message" and rng.random() < 0.4 else "inbound"
        data: dict = {}
        if type_ == "purchase":
            data = _purchase(rng)
        elif type_ == "survey":
            kind = rng.choice(["nps", "csat"])
            data = {"kind": kind, "score": rng.randint(0, 10) if kind == "nps" else rng.randint(1, 5)}
        rows.append((next(next_id), source_ids[channel], f"b-{cid}-{n}", cid, channel, type_, direction, at, data))
    return rows


def _aggregates(rows: list[tuple]) -> dict:
    if not rows:
        return {"first": None, "last": None, "count": 0, "counts": {}, "ltv": Decimal(0), "orders": 0, "last_buy": None}
    by_channel, by_type = Counter(r[4] for r in rows), Counter(r[5] for r in rows)
    buys = [r for r in rows if r[5] == "purchase" and not r[8].get("refund")]
    refunds = [r for r in rows if r[5] == "purchase" and r[8].get("refund")]
    ltv = sum((Decimal(r[8]["total"]) for r in buys), Decimal(0)) - sum(
        (Decimal(r[8]["total"]) for r in refunds), Decimal(0)
    )
    latest = max(rows, key=lambda r: r[7])
    surveys = sorted((r for r in rows if r[5] == "survey"), key=lambda r: r[7], reverse=True)
    nps = next((r for r in surveys if r[8]["kind"] == "nps"), None)
    csat = next((r for r in surveys if r[8]["kind"] == "csat"), None)
    return {
        "first": min(r[7] for r in rows),
        "last": latest[7],
        "last_channel": latest[4],
        "count": len(rows),
        "counts": {"channel": dict(by_channel), "type": dict(by_type)},
        "ltv": ltv,
        "orders": len(buys),
        "last_buy": max((r[7] for r in buys), default=None),
        "nps": (nps[8]["score"], nps[7]) if nps else (None, None),
        "csat": (float(csat[8]["score"]), csat[7]) if csat else (None, None),
    }


def _identity(rng: random.Random, cid: int, anchor: datetime, next_ident, rows: Rows) -> tuple[str, str]:
    first, last = rng.choice(people.FIRST), rng.choice(people.LAST)
    kinds = [("email", f"c{cid}@bench.example", 0.92), ("phone", f"+1415{cid:07d}", 0.6), ("loyalty", f"L{cid}", 0.3)]
    for kind, value, share in kinds:
        if rng.random() < share:
            rows.identifiers.append((next(next_ident), cid, kind, value, anchor))
    return first, last


def _attributes(rng: random.Random, cid: int, first: str, last: str, anchor: datetime, next_attr, rows: Rows) -> None:
    city = rng.choice(people.CITIES)
    values: dict[str, object] = {"first_name": first, "last_name": last}
    if rng.random() < 0.7:
        values["address"] = {"city": city[0], "postcode": city[1], "region": city[2], "country": city[3]}
    if rng.random() < 0.3:
        values["custom.tier"] = rng.choice(TIERS)
    if rng.random() < 0.2:
        values["custom.shoe_size"] = rng.choice([7, 7.5, 8, 8.5, 9, 9.5, 10, 11])
    if rng.random() < 0.5:
        values["consent.email"] = {"granted": rng.random() < 0.8, "at": None}
    for key, value in values.items():
        rows.attributes.append((next(next_attr), cid, key, "channel", json.dumps(value), anchor, anchor))


def generate(customers: int, interactions: int, *, seed: int, anchor: datetime, source_ids: dict[str, int]) -> Rows:
    """All bench rows; the same seed and anchor give the same rows."""
    import itertools

    rng = random.Random(seed)
    counts = interaction_counts(rng, customers, interactions)
    next_id, next_ident, next_attr = itertools.count(1), itertools.count(1), itertools.count(1)
    rows = Rows()
    for cid in range(1, customers + 1):
        first, last = _identity(rng, cid, anchor, next_ident, rows)
        _attributes(rng, cid, first, last, anchor, next_attr, rows)
        mine = _interactions(rng, cid, counts[cid - 1], anchor, next_id, source_ids)
        rows.interactions.extend(mine)
        agg = _aggregates(mine)
        created = (agg["first"] or anchor) - timedelta(days=rng.uniform(0, 30))
        rows.customers.append(
            (
                cid,
                f"{first} {last}",
                created,
                anchor,
                agg,
                rng.choice(STAGES),
                round(rng.random(), 3),
                rng.random() < 0.08,
            )
        )
    return rows
