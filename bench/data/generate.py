"""The shared deterministic generator: N customers and M interactions across the four channels, one
person at a time (memory stays flat at any size). The same seed and size give the same rows, ids included.

Distributions: interactions per customer are long-tailed (most have a handful, a few have hundreds);
how active, how much of a buyer and how happy a person is are drawn per person, so repeat buyers,
detractors and lapsed customers arise from the mix rather than being painted on; episodes (episodes.py)
carry survey response rates, call outcomes and email threads.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bench.data.episodes import Episodes
from crm.demo import catalog, people

ANCHOR = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
MAX_PER_CUSTOMER = 2000
DOMAINS = ("example.com", "mail.example", "example.org", "post.example", "inbox.example")
TIERS = ("gold", "silver", "bronze")
# Base shares of episode kinds; a person's buyer propensity scales purchases and visits.
EPISODES = (("email_thread", 0.28), ("chat", 0.16), ("call", 0.14), ("visit", 0.12), ("purchase", 0.30))


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace("'", "")


@dataclass
class Person:
    id: int
    first: str
    last: str
    email: str
    phone_raw: str | None
    loyalty: str | None
    chat: str | None
    city: tuple[str, str, str, str]
    birth: str | None
    custom: dict
    consent: bool | None
    buyer: float  # 0..1: how likely an episode is a purchase (a few are repeat buyers, most are not)
    mood: float  # -1 unhappy .. 1 happy
    favourite: str  # the sku they come back for

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"

    def topic(self, rng: random.Random) -> tuple[str, str]:
        """(subject, body) of something they write: complaints from the unhappy, questions from the rest."""
        if self.mood < -0.2 or rng.random() < 0.25:
            return rng.choice(people.COMPLAINTS)
        return rng.choice(people.QUESTIONS) if rng.random() < 0.7 else ("Thank you", rng.choice(people.PRAISE))

    def store_block(self, *, with_attributes: bool) -> dict:
        block = {"email": self.email, "loyalty_id": self.loyalty} if self.loyalty else {"email": self.email}
        if with_attributes:
            block["name"] = self.name
            block["attributes"] = self.attributes()
        return block

    def attributes(self) -> dict:
        city, postcode, region, country = self.city
        values: dict[str, object] = {
            "first_name": self.first,
            "last_name": self.last,
            "address": {"line1": f"{self.id % 300 + 1} Main Street", "city": city, "postcode": postcode,
                        "region": region, "country": country},
        }  # fmt: skip
        if self.birth:
            values["birth_date"] = self.birth
        if self.consent is not None:
            values["consent.email"] = self.consent
        values.update({f"custom.{k}": v for k, v in self.custom.items()})
        return values


def make_person(pid: int, rng: random.Random) -> Person:
    first, last = rng.choice(people.FIRST), rng.choice(people.LAST)
    area = rng.choice(people.AREA)
    line = (pid * 7919) % 10_000_000
    phone = f"({area}) {200 + line // 10_000 % 800:03d}-{line % 10_000:04d}" if rng.random() < 0.75 else None
    custom = {k: v for k, v in (("tier", rng.choice(TIERS)), ("shoe_size", rng.choice((7, 8, 8.5, 9, 10, 11))),
                                ("vip", rng.random() < 0.1)) if rng.random() < 0.35}  # fmt: skip
    return Person(
        id=pid, first=first, last=last,
        email=f"{_ascii(first)}.{_ascii(last)}{pid}@{rng.choice(DOMAINS)}",
        phone_raw=phone,
        loyalty=f"L{100000 + pid}" if rng.random() < 0.45 else None,
        chat=f"@{_ascii(first)}{pid}" if rng.random() < 0.25 else None,
        city=rng.choice(people.CITIES),
        birth=f"{rng.randint(1945, 2006)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}" if rng.random() < 0.3 else None,
        custom=custom,
        consent=(rng.random() < 0.8) if rng.random() < 0.6 else None,
        buyer=rng.betavariate(0.9, 2.2),
        mood=max(-1.0, min(1.0, rng.gauss(0.15, 0.5))),
        favourite=rng.choice(catalog.PRODUCTS)[0],
    )  # fmt: skip


def interaction_counts(rng: random.Random, customers: int, total: int) -> list[int]:
    """Long-tailed counts (Pareto), each at least 1 and at most MAX_PER_CUSTOMER, summing to `total`."""
    raw = [rng.paretovariate(1.4) for _ in range(customers)]
    scale = (total - customers) / sum(raw)
    counts = [1 + min(MAX_PER_CUSTOMER - 1, int(r * scale)) for r in raw]
    n = 0
    while (gap := total - sum(counts)) != 0:  # rounding and the cap, spread over customers one at a time
        i = n % customers
        if gap > 0 and counts[i] < MAX_PER_CUSTOMER:
            counts[i] += 1
        elif gap < 0 and counts[i] > 1:
            counts[i] -= 1
        n += 1
    return counts


def episode_times(rng: random.Random, count: int) -> list[datetime]:
    """When a person's episodes start: a span of activity ending a while before the anchor (lapsed or not)."""
    quiet_days = min(rng.expovariate(1 / 45), 500)
    span_days = rng.uniform(3, 400)
    end = ANCHOR - timedelta(days=quiet_days)
    return sorted(end - timedelta(days=rng.uniform(0, span_days), seconds=rng.randint(0, 86_399)) for _ in range(count))


def person_history(rng: random.Random, p: Person, count: int, ids: dict[str, int]) -> Episodes:
    """Exactly `count` interactions (and their cases) for one person, in time order."""
    weights = [w * (0.2 + 2.5 * p.buyer if kind in ("purchase", "visit") else 1.0) for kind, w in EPISODES]
    kinds = [k for k, _ in EPISODES]
    made = Episodes(rng, p, ids)
    for at in episode_times(rng, count):
        kind = rng.choices(kinds, weights)[0]
        if kind == "call" and not p.phone_raw:
            kind = "email_thread"
        getattr(made, kind)(at)
        if len(made.rows) >= count:
            break
    _trim(made, count, ids)
    made.rows.sort(key=lambda r: (r["occurred_at"], r["id"]))
    return made


def _trim(made: Episodes, count: int, ids: dict[str, int]) -> None:
    """An episode may overshoot by a reply or a survey: drop the newest rows so the total is exact. The
    dropped ids are the last ones given out, so they go back to the counter, as do cases left empty."""
    extra = made.rows[count:]
    del made.rows[count:]
    if extra:
        ids["interaction"] -= len(extra)
        kept = {r["case_id"] for r in made.rows}
        empty = [c for c in made.cases if c["id"] not in kept]
        made.cases = [c for c in made.cases if c["id"] in kept]
        ids["case"] -= len(empty)


def people_and_histories(customers: int, interactions: int, seed: int) -> Iterator[tuple[Person, Episodes]]:
    """Every person with their history, one at a time, in id order."""
    rng = random.Random(seed)
    counts = interaction_counts(rng, customers, interactions)
    ids = {"interaction": 0, "case": 0}
    for pid in range(1, customers + 1):
        person = make_person(pid, rng)
        yield person, person_history(rng, person, counts[pid - 1], ids)
