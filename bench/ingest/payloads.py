"""Deterministic canonical interactions for the ingest benchmark: four channels, a pool of people.

The same generator feeds the webhook phases and the raw PostgreSQL baseline, so both store the same
rows. External ids carry a phase prefix, so phases never replay each other.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

CHANNELS = ("email", "chat", "phone", "store")
FIRST = ("Ann", "Ben", "Chloé", "Dev", "Eva", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi", "Lars", "Mei", "Noor")
LAST = ("Lee", "Okafor", "Müller", "Rossi", "Tanaka", "Silva", "Novak", "Haddad", "Kowalski", "Dubois", "Nguyen")
PRODUCTS = (("MUG-BLUE", "Stoneware mug", "kitchen", "12.95"), ("TEA-SENCHA", "Sencha green tea", "tea", "11.00"),
            ("POT-CAST", "Cast iron teapot", "kitchen", "48.00"), ("CUP-SET", "Espresso cups", "kitchen", "24.50"))  # fmt: skip
BASE = datetime(2026, 11, 1, tzinfo=UTC)


def person(rng: random.Random, people: int) -> dict:
    n = rng.randrange(people)
    first, last = FIRST[n % len(FIRST)], LAST[n % len(LAST)]
    customer = {"email": f"{first.lower()}.{last.lower()}.{n}@example.com", "name": f"{first} {last}"}
    if n % 3 == 0:
        customer["phone"] = f"+1415555{n % 10000:04d}"
    customer["attributes"] = {"first_name": first, "last_name": last, "address": {"city": "London", "country": "GB"}}
    return customer


def interaction(rng: random.Random, channel: str, external_id: str, people: int) -> dict:
    """One canonical interaction of `channel`, a few hundred bytes to a few KB, like real traffic."""
    item = {
        "external_id": external_id,
        "occurred_at": (BASE + timedelta(seconds=rng.randrange(30 * 86400))).isoformat(),
        "type": "message",
        "direction": "inbound",
        "customer": person(rng, people),
    }
    if channel == "email":
        item.update(
            subject=f"Order question {rng.randrange(10_000)}", text="Hello,\n" + "My order has not arrived. " * 8
        )
        item["data"] = {
            "message_id": f"<{external_id}@mail.example.com>",
            "thread_id": f"<{external_id}@mail.example.com>",
        }
    elif channel == "chat":
        messages = [
            {"author": "customer" if i % 2 == 0 else "agent", "text": f"line {i} of the chat"} for i in range(6)
        ]
        item.update(
            text="\n".join(m["text"] for m in messages), data={"conversation_id": external_id, "messages": messages}
        )
    elif channel == "phone":
        item.update(
            type="call", subject="Inbound call", data={"duration_s": rng.randrange(20, 900), "outcome": "answered"}
        )
    else:
        lines = [
            dict(zip(("sku", "name", "category", "unit_price"), p, strict=True), quantity=1)
            for p in rng.sample(PRODUCTS, 2)
        ]
        total = sum(float(line["unit_price"]) for line in lines)
        item.update(
            type="purchase", data={"store_id": "soho", "currency": "GBP", "items": lines, "total": f"{total:.2f}"}
        )
    return item


def batches(
    phase: str, requests: int, per_request: int, *, seed: int = 7, people: int = 2000
) -> list[tuple[str, list[dict]]]:
    """[(channel, [interaction, ...])] for `requests` requests of `per_request` interactions each."""
    rng = random.Random(f"{seed}-{phase}")
    out = []
    for r in range(requests):
        channel = CHANNELS[r % len(CHANNELS)]
        out.append((channel, [interaction(rng, channel, f"{phase}-{r}-{i}", people) for i in range(per_request)]))
    return out
