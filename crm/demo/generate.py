"""The demo data set: people who write, chat, call, visit and buy, deterministic from a seed and an anchor day.

Chats carry only an email, calls only a phone, purchases both and a loyalty id: identity resolution
has to join them into one customer per person, as it must in production.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from crm.demo import catalog, people

SOURCES = {
    "demo-email": ("email", "generic"),
    "demo-chat": ("chat", "generic"),
    "demo-phone": ("phone", "generic"),
    "demo-store": ("store", "generic"),
}
OWN_ADDRESS = "support@demo-shop.example"


@dataclass
class Person:
    index: int
    first: str
    last: str
    email: str
    phone: str
    loyalty: str
    city: tuple[str, str, str, str]
    activity: float  # how much they interact
    buyer: float  # how likely a visit ends in a purchase
    mood: float  # -1 unhappy .. 1 happy


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace("'", "")


def make_people(count: int, rng: random.Random) -> list[Person]:
    out = []
    for i in range(count):
        first, last = rng.choice(people.FIRST), rng.choice(people.LAST)
        email = f"{_ascii(first)}.{_ascii(last)}{i}@{rng.choice(['example.com', 'mail.example', 'example.org'])}"
        phone = f"+1{rng.choice(people.AREA)}555{1000 + i:04d}"
        out.append(
            Person(
                i,
                first,
                last,
                email,
                phone,
                f"L{100000 + i}",
                rng.choice(people.CITIES),
                activity=rng.betavariate(2, 3),
                buyer=rng.betavariate(2, 2),
                mood=rng.uniform(-1, 1),
            )
        )
    return out


class Builder:
    def __init__(self, rng: random.Random, anchor: datetime):
        self.rng, self.anchor, self.items = rng, anchor, []

    def when(self, days_back: float) -> datetime:
        return self.anchor - timedelta(days=days_back, minutes=self.rng.randint(0, 600))

    def add(
        self,
        slug: str,
        external_id: str,
        at: datetime,
        type_: str,
        direction: str,
        customer: dict,
        subject=None,
        text=None,
        data=None,
    ) -> None:
        item = {
            "external_id": external_id,
            "occurred_at": at.isoformat(),
            "type": type_,
            "direction": direction,
            "customer": customer,
            "data": data or {},
        }
        if subject:
            item["subject"] = subject
        if text:
            item["text"] = text
        self.items.append((slug, item))


def _attributes(p: Person) -> dict:
    city, postcode, region, country = p.city
    return {
        "first_name": p.first,
        "last_name": p.last,
        "address": {
            "line1": f"{10 + p.index} Market Street",
            "city": city,
            "postcode": postcode,
            "region": region,
            "country": country,
        },
    }


def _email_thread(b: Builder, p: Person, n: int) -> None:
    topic = b.rng.choice(people.COMPLAINTS if p.mood < 0.2 else people.QUESTIONS)
    start = b.rng.uniform(1, 300)
    root = f"<demo-{p.index}-{n}@mail.example>"
    customer = {"email": p.email, "name": f"{p.first} {p.last}"}
    b.add(
        "demo-email",
        root,
        b.when(start),
        "message",
        "inbound",
        customer,
        topic[0],
        topic[1],
        {"message_id": root, "thread_id": root, "from": p.email, "to": [OWN_ADDRESS]},
    )
    if b.rng.random() < 0.85:
        reply = f"<demo-{p.index}-{n}-r@demo-shop.example>"
        b.add(
            "demo-email",
            reply,
            b.when(max(start - b.rng.uniform(0.05, 2), 0.01)),
            "message",
            "outbound",
            {"email": p.email},
            "Re: " + topic[0],
            b.rng.choice(people.AGENT_REPLIES),
            {
                "message_id": reply,
                "in_reply_to": root,
                "references": [root],
                "thread_id": root,
                "from": OWN_ADDRESS,
                "to": [p.email],
            },
        )


def _chat(b: Builder, p: Person, n: int) -> None:
    at = b.when(b.rng.uniform(1, 300))
    question = b.rng.choice(people.QUESTIONS + people.COMPLAINTS)
    messages = [
        {"author": "customer", "at": at.isoformat(), "text": question[1]},
        {"author": "agent", "at": (at + timedelta(minutes=2)).isoformat(), "text": b.rng.choice(people.AGENT_REPLIES)},
    ]
    if p.mood > 0:
        messages.append(
            {"author": "customer", "at": (at + timedelta(minutes=4)).isoformat(), "text": b.rng.choice(people.PRAISE)}
        )
    b.add(
        "demo-chat",
        f"chat-{p.index}-{n}",
        at,
        "message",
        "inbound",
        {"email": p.email, "name": p.first},
        question[0],
        None,
        {"conversation_id": f"conv-{p.index}-{n}", "messages": messages},
    )


def _call(b: Builder, p: Person, n: int) -> None:
    outcome = b.rng.choices(["answered", "missed", "voicemail"], [0.7, 0.2, 0.1])[0]
    direction = "inbound" if b.rng.random() < 0.8 else "outbound"
    b.add(
        "demo-phone",
        f"call-{p.index}-{n}",
        b.when(b.rng.uniform(1, 300)),
        "call",
        direction,
        {"phone": p.phone[:2] + " (" + p.phone[2:5] + ") " + p.phone[5:8] + "-" + p.phone[8:]},
        None,
        "Customer called about their order." if outcome == "answered" else None,
        {"duration_s": b.rng.randint(30, 900) if outcome == "answered" else 0, "outcome": outcome},
    )


def _store_visit(b: Builder, p: Person, n: int) -> None:
    store_id, store_name = b.rng.choice(catalog.STORES)
    at = b.when(b.rng.uniform(1, 360))
    customer = {
        "email": p.email,
        "phone": p.phone,
        "loyalty_id": p.loyalty,
        "name": f"{p.first} {p.last}",
        "attributes": _attributes(p),
    }
    if b.rng.random() > p.buyer:
        b.add(
            "demo-store",
            f"visit-{p.index}-{n}",
            at,
            "visit",
            "inbound",
            {"loyalty_id": p.loyalty},
            None,
            None,
            {"store_id": store_id, "store_name": store_name},
        )
        return
    first = b.rng.choice(catalog.PRODUCTS)
    basket = [first]
    partners = [pair[1] for pair in catalog.PAIRS if pair[0] == first[0]]
    if partners and b.rng.random() < 0.6:
        partner = b.rng.choice(partners)
        basket.append(next(prod for prod in catalog.PRODUCTS if prod[0] == partner))
    items = [
        {"sku": sku, "name": name, "category": cat, "quantity": 1, "unit_price": price}
        for sku, name, cat, price in basket
    ]
    total = sum(float(i["unit_price"]) for i in items)
    b.add(
        "demo-store",
        f"order-{p.index}-{n}",
        at,
        "purchase",
        "inbound",
        customer,
        None,
        None,
        {
            "store_id": store_id,
            "store_name": store_name,
            "currency": "USD",
            "items": items,
            "total": f"{total:.2f}",
            "order_number": f"#{10000 + p.index * 10 + n}",
        },
    )


def _survey(b: Builder, p: Person, n: int) -> None:
    kind = b.rng.choice(["nps", "csat", "ces"])
    good = p.mood + b.rng.uniform(-0.4, 0.4) > 0
    score = {
        "nps": b.rng.randint(9, 10) if good else b.rng.randint(0, 6),
        "csat": b.rng.randint(4, 5) if good else b.rng.randint(1, 3),
        "ces": b.rng.randint(1, 3) if good else b.rng.randint(5, 7),
    }[kind]
    comment = b.rng.choice(people.SURVEY_COMMENTS["good" if good else "bad"])
    b.add(
        "demo-email",
        f"survey-{p.index}-{n}",
        b.when(b.rng.uniform(1, 200)),
        "survey",
        "inbound",
        {"email": p.email},
        None,
        comment,
        {"kind": kind, "score": score, "comment": comment},
    )


def generate(count: int = 300, seed: int = 7, anchor: datetime | None = None) -> list[tuple[str, dict]]:
    """(source slug, canonical interaction) pairs, oldest first; the same for the same seed and anchor."""
    rng = random.Random(seed)
    anchor = anchor or datetime.now().astimezone().replace(hour=12, minute=0, second=0, microsecond=0)
    b = Builder(rng, anchor)
    for p in make_people(count, rng):
        scale = 1 + int(p.activity * 8)
        for n in range(rng.randint(0, scale)):
            _email_thread(b, p, n)
        for n in range(rng.randint(0, max(1, scale // 2))):
            _chat(b, p, n)
        for n in range(rng.randint(0, max(1, scale // 2))):
            _call(b, p, n)
        for n in range(rng.randint(1, scale)):
            _store_visit(b, p, n)
        if rng.random() < 0.5:
            _survey(b, p, 0)
    b.items.sort(key=lambda pair: pair[1]["occurred_at"])
    return b.items
