"""Load a large, deterministic customer base straight into a dedicated PostgreSQL database with COPY.

    .venv/bin/python -m bench.agent_view.load --customers 100000 --interactions 1000000

The rows are what the pipeline would have written (customers with their aggregates, identifiers,
attributes, interactions with sentiment and cases, segment memberships), generated in Python and
streamed with COPY, because pushing a million interactions through the pipeline would take hours on
two cores. Interaction counts per customer are long-tailed (most have a handful, a few have thousands),
so the agent view is measured on heavy customers as well as typical ones. Purchases follow the
bench/recommend generator (categories, complements, tastes), so bought-together has structure to find.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from tqdm import tqdm

from bench.recommend.run import complements, customer_sequence, popularity

DB_NAME = "crm_bench_agent_view"
CHANNELS = {"email": 1, "chat": 2, "phone": 3, "store": 4}
SEGMENTS = ["VIP", "Outdoor", "Home", "Family", "Newsletter", "North", "South", "Lapsed"]
MESSAGES = [
    ("Where is my order? It has been two weeks and the tracking number does not work", "inbound"),
    ("The tent arrived broken and the poles are cracked, this is awful", "inbound"),
    ("Could you tell me whether the running shoes come in size 11?", "inbound"),
    ("Thank you so much, the kettle is lovely and arrived early", "inbound"),
    ("I was charged twice for the same order, please refund me", "inbound"),
    ("Do you have the headphones in stock at the Brooklyn store?", "inbound"),
    ("Thanks for getting in touch, we have sent a replacement", "outbound"),
    ("Our summer sale starts today: 20% off camping gear", "outbound"),
]


def server_url(url: str, database: str) -> str:
    return make_url(url).set(drivername="postgresql+psycopg", database=database).render_as_string(hide_password=False)


def create_database(url: str, name: str = DB_NAME) -> str:
    """Drop and create the bench database; returns its URL."""
    admin = create_engine(server_url(url, "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server_url(url, name)


def interaction_counts(rng: random.Random, customers: int, total: int) -> list[int]:
    """Long-tailed counts (Pareto) summing to `total`, each at least 1, the heaviest capped at 5,000."""
    raw = [rng.paretovariate(1.3) for _ in range(customers)]
    scale = (total - customers) / sum(raw)
    counts = [1 + min(4999, int(r * scale)) for r in raw]
    shortfall = total - sum(counts)
    for position in range(abs(shortfall)):  # spread the rounding over customers, one each
        counts[position % customers] += 1 if shortfall > 0 else (-1 if counts[position % customers] > 1 else 0)
    return counts


class Generator:
    """Rows for one customer at a time: the interactions, cases and the aggregates they imply."""

    def __init__(self, seed: int, now: datetime):
        self.rng, self.now = random.Random(seed), now
        self.weights, self.pairs = popularity(self.rng), complements()
        from crm.personalization.sentiment import score_text

        self.sentiment = {m: round(score_text(m), 4) for m, _ in MESSAGES}
        self.interaction_id = self.case_id = 0

    def customer(self, cid: int, count: int) -> dict:
        rng = self.rng
        sequence, _, _ = customer_sequence(rng, self.weights, self.pairs)
        span = rng.uniform(5, 700)
        times = sorted(self.now - timedelta(days=rng.uniform(0, span)) for _ in range(count))
        rows, cases, bought = [], [], list(sequence)
        case = None
        for at in times:
            self.interaction_id += 1
            kind = rng.choices(("message", "call", "visit", "purchase", "survey", "note"), (45, 15, 10, 20, 5, 5))[0]
            row = self._interaction(cid, at, kind, bought)
            if row["type"] in ("message", "call") and row["direction"] == "inbound":
                if case is None or rng.random() < 0.3:
                    case = self._case(cid, row)
                    cases.append(case)
                row["case_id"], row["thread_key"] = case["id"], case["thread_key"]
            rows.append(row)
        return {"interactions": rows, "cases": cases, "profile": self._aggregates(cid, rows, cases)}

    def _interaction(self, cid: int, at: datetime, kind: str, bought: list[str]) -> dict:
        rng = self.rng
        channel = {"purchase": "store", "visit": "store", "call": "phone", "survey": "email", "note": "email"}.get(
            kind, rng.choice(("email", "chat"))
        )
        row = {"id": self.interaction_id, "customer_id": cid, "channel": channel, "type": kind, "occurred_at": at}
        row.update(direction="inbound", subject=None, text=None, data={}, sentiment=None)
        if kind == "message":
            body, direction = rng.choice(MESSAGES)
            row.update(direction=direction, subject=body[:40], text=body)
            row["sentiment"] = self.sentiment[body] if direction == "inbound" else None
        elif kind == "call":
            row["data"] = {
                "outcome": rng.choice(("answered", "answered", "missed")),
                "duration_s": rng.randint(30, 900),
            }
        elif kind == "purchase":
            skus = [bought[rng.randrange(len(bought))] for _ in range(rng.choice((1, 1, 2)))]
            items = [{"sku": s, "name": s.replace("-", " ").title(), "category": "gear", "quantity": 1,
                      "unit_price": f"{rng.choice((9, 19, 49, 99))}.00"} for s in dict.fromkeys(skus)]  # fmt: skip
            total = sum(Decimal(i["unit_price"]) for i in items)
            row["data"] = {"currency": "USD", "items": items, "total": str(total), "order_number": f"#{row['id']}"}
        elif kind == "survey":
            survey_kind = rng.choice(("nps", "csat", "ces"))
            score = {"nps": rng.randint(0, 10), "csat": rng.randint(1, 5), "ces": rng.randint(1, 7)}[survey_kind]
            row["data"] = {"kind": survey_kind, "score": score}
        elif kind == "note":
            row.update(direction="outbound", text="Customer asked us to call back after 5pm")
        return row

    def _case(self, cid: int, opening: dict) -> dict:
        self.case_id += 1
        opened = opening["occurred_at"]
        # As in a working support team: old cases are nearly all resolved, recent ones often still open.
        recent = (self.now - opened).days < 30
        resolved = self.rng.random() < (0.6 if recent else 0.98)
        resolved_at = opened + timedelta(hours=self.rng.uniform(1, 96)) if resolved else None
        return {
            "id": self.case_id,
            "customer_id": cid,
            "channel": opening["channel"],
            "thread_key": f"{opening['channel']}:bench-{self.case_id}",
            "subject": opening["subject"],
            "status": "resolved" if resolved else "open",
            "opened_at": opened,
            "first_response_at": opened + timedelta(minutes=self.rng.uniform(5, 600)),
            "resolved_at": resolved_at,
            "reopen_count": 0,
            "last_inbound_at": opened,
            "last_activity_at": resolved_at or opened,
            "resolution_seconds": (resolved_at - opened).total_seconds() if resolved_at else None,
        }

    def _aggregates(self, cid: int, rows: list[dict], cases: list[dict]) -> dict:
        purchases = [r for r in rows if r["type"] == "purchase"]
        ltv = sum((Decimal(p["data"]["total"]) for p in purchases), Decimal(0))
        nps = [r["data"]["score"] for r in rows if r["type"] == "survey" and r["data"]["kind"] == "nps"]
        scores = [r["sentiment"] for r in rows if r["sentiment"] is not None][-20:]
        return {
            "id": cid,
            "first_seen_at": rows[0]["occurred_at"],
            "last_seen_at": rows[-1]["occurred_at"],
            "last_channel": rows[-1]["channel"],
            "interaction_count": len(rows),
            "counts": {"channel": dict(Counter(r["channel"] for r in rows)), "type": dict(Counter(r["type"] for r in rows))},
            "lifetime_value": {"USD": str(ltv)} if purchases else {},
            "ltv_amount": ltv,
            "orders_count": len(purchases),
            "last_purchase_at": purchases[-1]["occurred_at"] if purchases else None,
            "nps_score": nps[-1] if nps else None,
            "open_cases": sum(1 for c in cases if c["status"] == "open"),
            "sentiment_avg": round(sum(scores) / len(scores), 4) if scores else None,
        }  # fmt: skip


CUSTOMER_COLUMNS = (
    "id", "status", "display_name", "created_at", "updated_at", "version", "first_seen_at", "last_seen_at",
    "last_channel", "interaction_count", "counts", "lifetime_value", "ltv_amount", "orders_count",
    "last_purchase_at", "nps_score", "open_cases", "sentiment_avg",
)  # fmt: skip
INTERACTION_COLUMNS = (
    "id", "source_id", "external_id", "customer_id", "channel", "type", "direction", "occurred_at", "received_at",
    "processed_at", "process_attempts", "subject", "text", "data", "customer_in", "identifiers", "thread_key",
    "case_id", "sentiment",
)  # fmt: skip
CASE_COLUMNS = (
    "id", "customer_id", "channel", "thread_key", "subject", "status", "opened_at", "first_response_at",
    "resolved_at", "reopen_count", "last_inbound_at", "last_activity_at", "resolution_seconds",
)  # fmt: skip


def _customer_row(profile: dict, name: str, now: datetime) -> tuple:
    values = {**profile, "status": "active", "display_name": name, "created_at": profile["first_seen_at"]}
    values.update(updated_at=now, version=2, counts=json.dumps(profile["counts"]))
    values["lifetime_value"] = json.dumps(profile["lifetime_value"])
    return tuple(values[c] for c in CUSTOMER_COLUMNS)


def _interaction_row(row: dict) -> tuple:
    values = {**row, "source_id": CHANNELS[row["channel"]], "external_id": f"bench-{row['id']}"}
    values.update(received_at=row["occurred_at"], processed_at=row["occurred_at"], process_attempts=0)
    values.update(data=json.dumps(row["data"]), customer_in="{}", identifiers="[]")
    values.setdefault("thread_key", None)
    values.setdefault("case_id", None)
    return tuple(values[c] for c in INTERACTION_COLUMNS)


def load(url: str, customers: int, interactions: int, seed: int = 7) -> dict:
    """Create, migrate and fill the bench database; returns its URL and the row counts."""
    from bench.agent_view.app import bench_app

    db_url = create_database(url)
    app = bench_app(db_url, migrate=True)
    now = datetime.now(UTC).replace(microsecond=0)
    started = time.perf_counter()
    with app.app_context():
        from crm.extensions import db

        counts = _copy_all(db, customers, interactions, seed, now)
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    return {"url": db_url, "seconds": round(time.perf_counter() - started, 1), **counts}


CHUNK = 2000  # customers generated and copied at a time, so memory stays flat whatever the size


def _copy_all(db, customers: int, interactions: int, seed: int, now: datetime) -> dict:
    from bench.agent_view.app import ensure_sources

    ensure_sources()
    db.session.commit()
    gen = Generator(seed, now)
    plan = interaction_counts(random.Random(seed), customers, interactions)
    connection = db.session.connection().connection.dbapi_connection
    totals: Counter = Counter()
    with connection.cursor() as cur, tqdm(total=interactions, desc="copying", unit="interaction") as bar:
        for start in range(0, customers, CHUNK):
            made = [gen.customer(cid, plan[cid - 1]) for cid in range(start + 1, min(start + CHUNK, customers) + 1)]
            _copy_chunk(cur, made, now, totals)
            bar.update(sum(len(m["interactions"]) for m in made))
        _copy_segments(cur, customers, seed, totals)
    connection.commit()
    _reset_sequences(db)
    return dict(totals)


def _copy_chunk(cur, made: list[dict], now: datetime, totals: Counter) -> None:
    with cur.copy(f"COPY customers ({', '.join(CUSTOMER_COLUMNS)}) FROM STDIN") as copy:
        for customer in made:
            profile = customer["profile"]
            copy.write_row(_customer_row(profile, f"Customer {profile['id']}", now))
            totals["customers"] += 1
    with cur.copy(f"COPY cases ({', '.join(CASE_COLUMNS)}) FROM STDIN") as copy:
        for customer in made:
            for case in customer["cases"]:
                copy.write_row(tuple(case[c] for c in CASE_COLUMNS))
                totals["cases"] += 1
    with cur.copy(f"COPY interactions ({', '.join(INTERACTION_COLUMNS)}) FROM STDIN") as copy:
        for customer in made:
            for row in customer["interactions"]:
                copy.write_row(_interaction_row(row))
                totals["interactions"] += 1
    with cur.copy("COPY identifiers (customer_id, kind, value, raw, created_at) FROM STDIN") as copy:
        for customer in made:
            cid, at = customer["profile"]["id"], customer["profile"]["first_seen_at"]
            copy.write_row((cid, "email", f"customer{cid}@bench.example", None, at))
    attribute_copy = "COPY customer_attributes (customer_id, key, origin, value, observed_at, updated_at) FROM STDIN"
    with cur.copy(attribute_copy) as copy:
        for customer in made:
            cid, at = customer["profile"]["id"], customer["profile"]["first_seen_at"]
            copy.write_row((cid, "first_name", "channel", json.dumps("Customer"), at, at))
            copy.write_row((cid, "last_name", "channel", json.dumps(str(cid)), at, at))


def _copy_segments(cur, customers: int, seed: int, totals: Counter) -> None:
    rng = random.Random(seed + 1)
    now = datetime.now(UTC)
    for sid, name in enumerate(SEGMENTS, start=1):
        cur.execute(
            "INSERT INTO segments (id, name, kind, rule, created_at, updated_at, member_count) "
            "VALUES (%s, %s, 'static', '{}', %s, %s, 0)",
            (sid, name, now, now),
        )
    with cur.copy("COPY segment_members (segment_id, customer_id, entered_at) FROM STDIN") as copy:
        for cid in range(1, customers + 1):
            for sid in range(1, len(SEGMENTS) + 1):
                if rng.random() < 0.15:
                    copy.write_row((sid, cid, now))
                    totals["segment_members"] += 1


def _reset_sequences(db) -> None:
    for table in ("customers", "interactions", "cases", "identifiers", "customer_attributes", "segments"):
        db.session.execute(
            text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT coalesce(max(id), 1) FROM {table}))")
        )
    db.session.commit()


def main() -> None:
    import os

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    from bench.agent_view.app import services_env

    services_env()
    result = load(os.environ["DATABASE_URL"], args.customers, args.interactions, args.seed)
    print(json.dumps({k: v for k, v in result.items() if k != "url"}))


if __name__ == "__main__":
    main()
