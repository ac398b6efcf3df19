"""A deterministic bulk loader for the search benchmark: customers, identifiers, attributes, interactions and
segment memberships written straight into a dedicated PostgreSQL database with COPY, in the shape the
pipeline produces (normalised identifiers, attribute rows with provenance, recomputed aggregates).

    .venv/bin/python -m bench.search.load [--customers 100000] [--interactions 1000000] [--seed 7]

Going through the webhooks would take hours at this size; the rows are the same. The same seed gives
the same rows, ids included. The database is dropped and made again, then migrated with Alembic.
"""

from __future__ import annotations

import argparse
import json
import random
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg
from tqdm import tqdm

ANCHOR = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SOURCES = {"email": 1, "chat": 2, "phone": 3, "store": 4}
FIRST = ("Ann Zoë José Léa Mohammed Sam Priya Chen Olga Björn Amélie Kofi Aiko Mateo Sofia Liam Noah Emma Olivia Ava "
         "Isabella Lucas Mia Amara Yusuf Ines Hugo Clara Elif Ravi Tomás Nadia Ivan Greta Malik Chloé Jonas Freya Omar "
         "Rosa Diego Hana Luca Zara Felix Maya Arjun Nora Kai Lena Aleksander Siobhán Dmitri Fatima Beatriz Ömer Jakub "
         "Agnieszka Ngozi").split()  # fmt: skip
LAST = ("Lee Ünal García Smith Müller Nguyen Kowalski O'Brien Rossi Dubois Jensen Silva Novak Tanaka Kim Patel Cohen "
        "Andersson Fernández Schmidt Ivanova Brown Taylor Martin Moreau Haddad Okafor Costa Yilmaz Horvat Nakamura "
        "Johansson Petrov Walsh Murphy Byrne Romero Weber Fischer Bauer Lopez Gonzalez Wilson Davies Evans Thomas "
        "Roberts Khan Ali Singh Das Sato Suzuki Watanabe Park Choi Zhang Wang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun "
        "Ma Zhu Hu Guo Lin He Gao Luo Zheng Liang Tremblay Gagnon Roy Côté Bouchard").split()  # fmt: skip
DOMAINS = ("example.com", "mail.example", "example.org", "post.example", "inbox.example")
AREAS = ("212", "415", "646", "312", "617", "206", "303", "512", "702", "808")
CITIES = (("London", "N1 9GU", "GB"), ("Paris", "75011", "FR"), ("Berlin", "10115", "DE"), ("New York", "10001", "US"),
          ("Madrid", "28013", "ES"), ("Málaga", "29001", "ES"), ("Kraków", "31-001", "PL"), ("Lisbon", "1100-148", "PT"),
          ("Toronto", "M5H 2N2", "CA"), ("Osaka", "530-0001", "JP"), ("Lagos", "100001", "NG"), ("Dublin", "D02 X285", "IE"))  # fmt: skip
CATALOG = (("MUG-RED", "Kitchen", "18.00"), ("KETTLE-2", "Kitchen", "45.00"), ("TENT-3P", "Camping", "220.00"),
           ("HEADTORCH", "Camping", "25.00"), ("SHOE-RUN", "Running", "120.00"), ("SOCKS-3", "Running", "15.00"),
           ("LAMP-DESK", "Office", "60.00"), ("PEN-FTN", "Office", "35.00"), ("BED-DOG", "Pets", "70.00"),
           ("SPEAKER-BT", "Audio", "90.00"))  # fmt: skip
SENTENCES = (
    "My refund has not been received yet.", "The parcel arrived damaged and the box was open.",
    "Where is my order, it was due last week?", "I would like to change my delivery address.",
    "The kettle stopped working after two days.", "Can I return the running shoes in store?",
    "Thank you for the quick reply, that solved it.", "The tracking link does not work for me.",
    "I was charged twice for the same order.", "Do you ship to Canada and Mexico?",
    "The size was too small, I need an exchange.", "Please cancel my subscription from next month.",
    "The discount code was not applied at checkout.", "I love the new headphones, great sound.",
    "Nobody answered the phone when I called yesterday.", "The store staff in Madrid were very helpful.",
    "My loyalty points are missing from my account.", "The invoice shows the wrong billing address.",
    "Is the red mug back in stock soon?", "The tent poles were missing from the package.",
)  # fmt: skip
REPLIES = ("We are sorry about this and have issued a refund.", "Thanks for reaching out, we are looking into it.",
           "Your replacement ships today.", "We have updated your address.")  # fmt: skip
STAGES = ("prospect", "new", "active", "loyal", "at_risk", "lapsed")


def ascii_of(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace("'", "")


@dataclass
class Person:
    id: int
    first: str
    last: str
    email: str
    phone: str | None
    loyalty: str | None
    chat: str | None
    city: tuple[str, str, str]
    birth: str | None
    custom: dict
    events: list = field(default_factory=list)  # (occurred_at, channel, type, data) for the aggregates
    first_at: datetime | None = None
    last_at: datetime | None = None


def make_person(i: int, rng: random.Random) -> Person:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return Person(
        id=i,
        first=first,
        last=last,
        email=f"{ascii_of(first)}.{ascii_of(last)}{i}@{rng.choice(DOMAINS)}",
        phone=f"+1{AREAS[i % len(AREAS)]}{2_000_000 + (i * 7919) % 8_000_000:07d}" if rng.random() < 0.8 else None,
        loyalty=f"L{100000 + i}" if rng.random() < 0.5 else None,
        chat=f"bench-chat:{ascii_of(first)}{i}" if rng.random() < 0.2 else None,
        city=rng.choice(CITIES),
        birth=f"{rng.randint(1940, 2006)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        if rng.random() < 0.7
        else None,
        custom={
            k: v
            for k, v in (
                ("tier", rng.choice(("gold", "silver", "bronze"))),
                ("vip", rng.random() < 0.1),
                ("shoe_size", rng.choice((6, 7.5, 9, 10.5))),
            )
            if rng.random() < 0.4
        },  # fmt: skip
    )


def interaction_counts(customers: int, total: int, rng: random.Random) -> list[int]:
    """A long tail: most customers have a few interactions, some have hundreds; every one has at least one."""
    weights = [rng.paretovariate(1.3) for _ in range(customers)]
    scale = (total - customers) / sum(weights)
    counts = [1 + int(w * scale) for w in weights]
    for n in range(total - sum(counts)):
        counts[n % customers] += 1
    return counts


def interaction_row(iid: int, p: Person, rng: random.Random, order_seq: list[int]) -> tuple:
    at = ANCHOR - timedelta(days=rng.uniform(0, 365), seconds=rng.randint(0, 86_400))
    roll = rng.random()
    subject = text = None
    if roll < 0.35:
        channel, type_, direction = "email", "message", "inbound" if rng.random() < 0.7 else "outbound"
        subject = rng.choice(SENTENCES).rstrip(".?!")
        text = " ".join(rng.sample(SENTENCES, 2))
        data = {"message_id": f"<b{iid}@mail.example>", "thread_id": f"<b{iid}@mail.example>"}
        customer_in = {"email": p.email, "name": f"{p.first} {p.last}"}
    elif roll < 0.55:
        channel, type_, direction = "chat", "message", "inbound"
        subject = "Chat"
        data = {"conversation_id": f"conv-{iid}", "messages": [
            {"author": "customer", "at": at.isoformat(), "text": rng.choice(SENTENCES)},
            {"author": "agent", "at": (at + timedelta(minutes=2)).isoformat(), "text": rng.choice(REPLIES)}]}  # fmt: skip
        customer_in = {"email": p.email, "chat_handle": (p.chat or "").partition(":")[2] or None}
    elif roll < 0.70:
        channel, type_, direction = "phone", "call", "inbound" if rng.random() < 0.8 else "outbound"
        text = "Customer called about " + rng.choice(SENTENCES).lower()
        data = {"duration_s": rng.randint(30, 900), "outcome": rng.choice(("answered", "answered", "missed"))}
        customer_in = {"phone": p.phone or "+12125550100"}
    elif roll < 0.90:
        channel, type_, direction = "store", "purchase", "inbound"
        order_seq[0] += 1
        items = [
            dict(zip(("sku", "category", "unit_price"), rng.choice(CATALOG), strict=True))
            for _ in range(rng.randint(1, 3))
        ]
        data = {"order_number": f"#{order_seq[0]}", "currency": "USD", "items": items,
                "total": f"{sum(float(i['unit_price']) for i in items):.2f}", "store_id": "S1"}  # fmt: skip
        customer_in = {"email": p.email, "loyalty_id": p.loyalty}
    elif roll < 0.95:
        channel, type_, direction = "email", "survey", "inbound"
        kind = rng.choice(("nps", "csat", "ces"))
        score = {"nps": rng.randint(0, 10), "csat": rng.randint(1, 5), "ces": rng.randint(1, 7)}[kind]
        text = rng.choice(SENTENCES)
        data = {"kind": kind, "score": score, "comment": text}
        customer_in = {"email": p.email}
    else:
        channel, type_, direction = "store", "visit", "inbound"
        data = {"store_id": "S1", "store_name": "Main street"}
        customer_in = {"loyalty_id": p.loyalty or f"L{100000 + p.id}"}
    p.events.append((at, channel, type_, data))
    idents = [{"kind": k, "value": v, "raw": v, "valid": True, "error": None} for k, v in customer_in.items() if v]
    sentiment = round(rng.uniform(-1, 1), 4) if type_ == "message" and direction == "inbound" else None
    return (iid, SOURCES[channel], f"b-{iid}", p.id, channel, type_, direction, at, at, at, 0, subject, text,
            json.dumps(data), json.dumps({k: v for k, v in customer_in.items() if v}), json.dumps(idents), sentiment)  # fmt: skip


INTERACTION_COLS = ("id, source_id, external_id, customer_id, channel, type, direction, occurred_at, received_at, "
                    "processed_at, process_attempts, subject, text, data, customer_in, identifiers, sentiment")  # fmt: skip
CUSTOMER_COLS = ("id, status, display_name, created_at, updated_at, version, first_seen_at, last_seen_at, last_channel, "
                 "interaction_count, counts, lifetime_value, ltv_amount, orders_count, last_purchase_at, nps_score, "
                 "open_cases, journey_stage, churn_risk")  # fmt: skip


def customer_row(p: Person, rng: random.Random) -> tuple:
    events = sorted(p.events, key=lambda e: e[0])
    by_channel: dict[str, int] = {}
    by_type: dict[str, int] = {}
    for _, channel, type_, _ in events:
        by_channel[channel] = by_channel.get(channel, 0) + 1
        by_type[type_] = by_type.get(type_, 0) + 1
    purchases = [(at, data) for at, _, type_, data in events if type_ == "purchase"]
    ltv = sum(float(d["total"]) for _, d in purchases)
    nps = next((d["score"] for _, _, t, d in reversed(events) if t == "survey" and d["kind"] == "nps"), None)
    first_at, last_at = events[0][0], events[-1][0]
    return (p.id, "active", f"{p.first} {p.last}", first_at, last_at, 1, first_at, last_at, events[-1][1], len(events),
            json.dumps({"channel": by_channel, "type": by_type}), json.dumps({"USD": f"{ltv:.2f}"} if purchases else {}),
            round(ltv, 2), len(purchases), purchases[-1][0] if purchases else None, nps, 0, rng.choice(STAGES),
            round(rng.random(), 3))  # fmt: skip


def identifier_rows(p: Person, next_id: list[int]) -> list[tuple]:
    rows = []
    for kind, value in (("email", p.email), ("phone", p.phone), ("loyalty", p.loyalty), ("chat", p.chat)):
        if value:
            next_id[0] += 1
            rows.append((next_id[0], p.id, kind, value, value, SOURCES["email"], p.first_at))
    return rows


def attribute_rows(p: Person, next_id: list[int]) -> list[tuple]:
    city, postcode, country = p.city
    values = {"first_name": p.first, "last_name": p.last, "name": f"{p.first} {p.last}",
              "address": {"line1": f"{p.id % 200 + 1} High Street", "city": city, "postcode": postcode, "country": country}}  # fmt: skip
    if p.birth:
        values["birth_date"] = p.birth
    values.update({f"custom.{k}": v for k, v in p.custom.items()})
    observed = p.last_at
    rows = []
    for key, value in values.items():
        next_id[0] += 1
        rows.append((next_id[0], p.id, key, "channel", json.dumps(value), SOURCES["store"], observed, observed))
    return rows


def recreate_database(server_url: str, name: str) -> str:
    with psycopg.connect(server_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    base = server_url.rsplit("/", 1)[0]
    return f"{base}/{name}"


def migrate_and_add_sources(app) -> None:
    from flask_migrate import upgrade

    from crm.channels.cli import create_source
    from crm.extensions import db

    with app.app_context():
        upgrade()
        for channel, source_id in SOURCES.items():
            source = create_source(f"bench-{channel}", channel, "generic", "bench-secret-bench-secret")
            assert source.id == source_id, "the bench database must be fresh"
        db.session.commit()


def _copy(conn, table: str, cols: str, rows) -> None:
    with conn.cursor().copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def load(dsn: str, customers: int, interactions: int, seed: int, segments: int = 3) -> dict:
    rng = random.Random(seed)
    people = [make_person(i + 1, rng) for i in range(customers)]
    counts = interaction_counts(customers, interactions, rng)
    started = time.perf_counter()
    order_seq, ident_id, attr_id, iid = [100000], [0], [0], 0
    customer_rows = []
    with psycopg.connect(dsn.replace("postgresql+psycopg://", "postgresql://")) as conn:
        # The rows are consistent by construction; without the foreign-key triggers they can go in the
        # order they are made (a customer's aggregates need its interactions first).
        conn.execute("SET session_replication_role = replica")
        with conn.cursor().copy(f"COPY interactions ({INTERACTION_COLS}) FROM STDIN") as copy:
            for p, n in tqdm(list(zip(people, counts, strict=True)), desc="interactions", unit="customer"):
                for _ in range(n):
                    iid += 1
                    copy.write_row(interaction_row(iid, p, rng, order_seq))
                customer_rows.append(customer_row(p, rng))
                p.first_at, p.last_at = min(e[0] for e in p.events), max(e[0] for e in p.events)
                p.events = []  # the aggregates are made: free the details
        _copy(conn, "customers", CUSTOMER_COLS, customer_rows)
        _copy(conn, "identifiers", "id, customer_id, kind, value, raw, source_id, created_at",
              (r for p in people for r in identifier_rows(p, ident_id)))  # fmt: skip
        _copy(conn, "customer_attributes", "id, customer_id, key, origin, value, source_id, observed_at, updated_at",
              (r for p in people for r in attribute_rows(p, attr_id)))  # fmt: skip
        _segments(conn, customers, segments, rng)
        for table in ("customers", "interactions", "identifiers", "customer_attributes"):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    with psycopg.connect(dsn.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return {"customers": customers, "interactions": iid, "identifiers": ident_id[0], "attributes": attr_id[0],
            "seconds": round(time.perf_counter() - started, 1)}  # fmt: skip


def _segments(conn, customers: int, segments: int, rng: random.Random) -> None:
    for sid in range(1, segments + 1):
        conn.execute(
            "INSERT INTO segments (id, name, kind, rule, created_at, updated_at, member_count) "
            "VALUES (%s, %s, 'static', '{}', now(), now(), 0)",
            (sid, f"bench segment {sid}"),
        )
        members = sorted(rng.sample(range(1, customers + 1), max(1, customers // (10 * sid))))
        _copy(conn, "segment_members", "segment_id, customer_id, entered_at", ((sid, m, ANCHOR) for m in members))
    conn.execute("SELECT setval(pg_get_serial_sequence('segments', 'id'), %s)", (segments,))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database", default="crm_bench_search")
    args = parser.parse_args()
    from bench.search.setup import bench_app, server_url

    dsn = recreate_database(server_url(), args.database)
    migrate_and_add_sources(bench_app(dsn))
    print(json.dumps(load(dsn, args.customers, args.interactions, args.seed)))


if __name__ == "__main__":
    main()
