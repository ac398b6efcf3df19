"""The benchmark's query mix, drawn deterministically from the loaded rows: what agents type.

Names with one typo, partial names, partial emails (the start or the end), phones in other formats than
stored, order numbers with and without their #, phrases from messages, and a few filtered searches.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from sqlalchemy import select

from bench.search.load import SENTENCES
from crm.extensions import db
from crm.profiles.models import Customer, Identifier, Interaction

MIX = (("name with a typo", 25), ("partial name", 10), ("partial email", 15), ("phone, other format", 15),
       ("order number", 10), ("phrase", 15), ("filtered name", 5), ("exact name", 5))  # fmt: skip


@dataclass(frozen=True)
class Query:
    kind: str
    q: str
    params: tuple = ()  # extra (key, value) filters


def one_typo(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    edit = rng.choice(("swap", "drop", "change"))
    if edit == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if edit == "drop":
        return word[:i] + word[i + 1 :]
    return word[:i] + ("x" if word[i] != "x" else "y") + word[i + 1 :]


def phone_format(e164: str, rng: random.Random) -> str:
    area, exchange, line = e164[2:5], e164[5:8], e164[8:]
    return rng.choice((f"({area}) {exchange}-{line}", f"{area}.{exchange}.{line}", f"+1 {area} {exchange} {line}",
                       f"1-{area}-{exchange}-{line}", f"{exchange}-{line}"))  # fmt: skip


def _phrase(rng: random.Random) -> str:
    words = re.findall(r"[A-Za-z']+", rng.choice(SENTENCES))
    size = rng.randint(2, min(4, len(words)))
    start = rng.randrange(0, len(words) - size + 1)
    return " ".join(words[start : start + size]).lower()


def _people(sample: list[int]) -> dict[int, dict]:
    out = {
        cid: {"name": name, "email": None, "phone": None, "order": None}
        for cid, name in db.session.execute(select(Customer.id, Customer.display_name).where(Customer.id.in_(sample)))
    }
    for cid, kind, value in db.session.execute(
        select(Identifier.customer_id, Identifier.kind, Identifier.value).where(Identifier.customer_id.in_(sample))
    ):
        if kind in ("email", "phone"):
            out[cid][kind] = value
    orders = select(Interaction.customer_id, Interaction.data["order_number"].as_string()).where(
        Interaction.customer_id.in_(sample), Interaction.type == "purchase"
    )
    for cid, order in db.session.execute(orders):
        out[cid]["order"] = order
    return out


def make_queries(count: int, customers: int, seed: int = 11) -> list[Query]:
    rng = random.Random(seed)
    people = _people(rng.sample(range(1, customers + 1), min(customers, count)))
    kinds = [k for k, weight in MIX for _ in range(weight)]
    out: list[Query] = []
    pool = [p for _, p in sorted(people.items())]
    while len(out) < count:
        kind, person = rng.choice(kinds), rng.choice(pool)
        query = _query(kind, person, rng)
        if query:
            out.append(query)
    return out


def _query(kind: str, p: dict, rng: random.Random) -> Query | None:
    first, _, last = (p["name"] or "").partition(" ")
    if kind == "name with a typo":
        return Query(kind, f"{first} {one_typo(last, rng)}" if rng.random() < 0.7 else f"{one_typo(first, rng)} {last}")
    if kind == "partial name":
        return Query(kind, f"{first} {last[: rng.randint(2, 3)]}")
    if kind == "exact name":
        return Query(kind, p["name"])
    if kind == "filtered name":
        return Query(kind, p["name"], (("channel", "store"),) if rng.random() < 0.5 else (("segment", 1),))
    if kind == "partial email" and p["email"]:
        local, _, domain = p["email"].partition("@")
        return Query(kind, f"{local}@" if rng.random() < 0.5 else f"{local.split('.')[-1]}@{domain}")
    if kind == "phone, other format" and p["phone"]:
        return Query(kind, phone_format(p["phone"], rng))
    if kind == "order number" and p["order"]:
        return Query(kind, p["order"] if rng.random() < 0.5 else p["order"].lstrip("#"))
    if kind == "phrase":
        return Query(kind, _phrase(rng))
    return None
