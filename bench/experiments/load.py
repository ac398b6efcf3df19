"""The experiments bench's data: a dedicated PostgreSQL database, customers in one segment, and (once
they are assigned) each customer's history around their assignment, with a known treatment effect.

    from bench.experiments.load import create_database, load_customers, load_history

Rows are streamed with COPY: what the pipeline would have written, without pushing every interaction
through it (hours on two cores). The history is generated relative to each customer's assignment:
interactions from 10 days before it to 40 days after, so the 30-day windows see some and miss some.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

DB_NAME = "crm_bench_experiments"
# Purchase probability in the window per variant: the truth the results must find (+8 points).
CONVERSION = {"control": 0.20, "treatment": 0.28}
KINDS = (("message", "email", 0.45), ("call", "phone", 0.15), ("visit", "store", 0.15), ("survey", "email", 0.10))


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


def _copy(raw, table: str, columns: tuple[str, ...], rows) -> None:
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def load_customers(raw, n: int, segment_id: int, now: datetime) -> None:
    """n customers, all members of the segment."""
    created = now - timedelta(days=400)
    _copy(
        raw,
        "customers",
        ("id", "status", "display_name", "created_at", "updated_at", "version", "interaction_count", "counts",
         "lifetime_value", "ltv_amount", "orders_count", "open_cases"),
        ((i, "active", f"Customer {i}", created, created, 1, 0, "{}", "{}", 0, 0, 0) for i in range(1, n + 1)),
    )  # fmt: skip
    _copy(
        raw,
        "segment_members",
        ("segment_id", "customer_id", "entered_at"),
        ((segment_id, i, now - timedelta(days=90)) for i in range(1, n + 1)),
    )
    with raw.cursor() as cur:
        cur.execute("SELECT setval('customers_id_seq', %s)", (n,))
    raw.commit()


def backdate_assignments(raw, experiment_id: int, seed: int) -> dict[int, tuple[str, datetime]]:
    """Spread the assignments over 31 to 61 days ago (so every window has passed); customer -> (variant, at)."""
    with raw.cursor() as cur:
        cur.execute("SELECT setseed(%s)", (seed / 1000,))
        cur.execute(
            "UPDATE experiment_assignments SET assigned_at = now() - (31 + random() * 30) * interval '1 day' "
            "WHERE experiment_id = %s",
            (experiment_id,),
        )
        cur.execute(
            "SELECT customer_id, variant, assigned_at FROM experiment_assignments WHERE experiment_id = %s",
            (experiment_id,),
        )
        out = {cid: (variant, at) for cid, variant, at in cur.fetchall()}
    raw.commit()
    return out


def _history(rng: random.Random, customer_id: int, variant: str, at: datetime, per_customer: int):
    """(interactions, cases) of one customer around their assignment."""
    interactions, cases = [], []
    if rng.random() < CONVERSION.get(variant, 0.2):
        interactions.append(("purchase", "store", "inbound", at + timedelta(days=rng.uniform(0.1, 29.9)),
                             {"total": f"{rng.uniform(10, 200):.2f}", "currency": "USD"}))  # fmt: skip
    for _ in range(max(0, rng.randint(per_customer // 2, per_customer * 3 // 2) - len(interactions))):
        when = at + timedelta(days=rng.uniform(-10, 40))
        kind, channel, _ = rng.choices(KINDS, weights=[k[2] for k in KINDS])[0]
        data = {}
        if kind == "survey":
            survey = rng.choice(("csat", "nps"))
            data = {"kind": survey, "score": rng.randint(1, 5) if survey == "csat" else rng.randint(0, 10)}
        direction = "outbound" if kind == "message" and rng.random() < 0.3 else "inbound"
        interactions.append((kind, channel, direction, when, data))
    if rng.random() < 0.15:
        opened = at + timedelta(days=rng.uniform(0, 29))
        hours = rng.expovariate(1 / 20)
        cases.append((customer_id, "email", f"bench-{customer_id}", "resolved", opened, opened + timedelta(hours=hours),
                      int(rng.random() < 0.1), hours * 3600))  # fmt: skip
    return interactions, cases


def load_history(raw, assigned: dict[int, tuple[str, datetime]], source_id: int, per_customer: int, seed: int) -> int:
    """Interactions and cases for every assigned customer; returns how many interactions."""
    rng = random.Random(seed)
    received = datetime.now(UTC)
    interaction_rows, case_rows, seq = [], [], 0
    for customer_id in sorted(assigned):
        variant, at = assigned[customer_id]
        interactions, cases = _history(rng, customer_id, variant, at, per_customer)
        case_rows.extend(cases)
        for kind, channel, direction, when, data in interactions:
            seq += 1
            interaction_rows.append((source_id, f"bench-{seq}", customer_id, channel, kind, direction, when, received,
                                     received, 0, json.dumps(data), "{}", "[]"))  # fmt: skip
    _copy(
        raw,
        "interactions",
        ("source_id", "external_id", "customer_id", "channel", "type", "direction", "occurred_at", "received_at",
         "processed_at", "process_attempts", "data", "customer_in", "identifiers"),
        interaction_rows,
    )  # fmt: skip
    _copy(
        raw,
        "cases",
        ("customer_id", "channel", "thread_key", "status", "opened_at", "resolved_at", "reopen_count",
         "resolution_seconds"),
        case_rows,
    )  # fmt: skip
    with raw.cursor() as cur:
        cur.execute("ANALYZE")
    raw.commit()
    return len(interaction_rows)
