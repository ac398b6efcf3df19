"""Load the segments bench data set: a dedicated PostgreSQL database filled with COPY, and its customers
indexed into Elasticsearch in bulk through the search package's own documents (segment_fields included).

    .venv/bin/python -m bench.segments.load [--customers 100000] [--interactions 1000000] [--seed 5]

The database (default crm_bench_segments on the DATABASE_URL server) is dropped, made again and migrated;
the index prefix (default crmbench-seg) is deleted and rebuilt. Settings come from .services/env.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from tqdm import tqdm

from bench.data.services import database_url, libpq, recreate_database, services_env
from bench.segments.generate import generate

ROOT = Path(__file__).resolve().parents[2]
ANCHOR = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
DATABASE, PREFIX = "crm_bench_segments", "crmbench-seg"
SOURCES = {"email": "bench-email", "chat": "bench-chat", "phone": "bench-phone", "store": "bench-store"}


def bench_app(name: str, prefix: str):
    """The app on the bench database and index prefix (no Redis: nothing is queued)."""
    os.environ.setdefault("CRM_INSTANCE_PATH", str(ROOT / "instance" / "bench"))
    from crm import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url(name),
            "ELASTICSEARCH_URL": os.environ["ELASTICSEARCH_URL"],
            "SEARCH_INDEX_PREFIX": prefix,
            "REDIS_URL": None,
            "RATELIMIT_STORAGE_URI": "memory://",
            "SECRET_KEY": "bench",
        }
    )


def _copy(conn, table: str, columns: str, rows, total: int) -> None:
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in tqdm(rows, total=total, desc=f"copy {table}", unit="row", mininterval=2):
            copy.write_row(row)


def _customer_rows(customers):
    for cid, name, created, anchor, agg, stage, churn, open_case in customers:
        nps, nps_at = agg.get("nps", (None, None))
        csat, csat_at = agg.get("csat", (None, None))
        ltv = agg["ltv"].quantize(agg["ltv"].__class__("0.01"))
        yield (
            cid, "active", name, created, anchor, 1, agg["first"], agg["last"], agg.get("last_channel"), agg["count"],
            json.dumps(agg["counts"]), json.dumps({"USD": str(ltv)} if agg["orders"] else {}), ltv, agg["orders"],
            agg["last_buy"], nps, nps_at, csat, csat_at, int(open_case), stage, churn,
        )  # fmt: skip


def _interaction_rows(interactions, anchor):
    for iid, source_id, external_id, cid, channel, type_, direction, at, data in interactions:
        yield (
            iid,
            source_id,
            external_id,
            cid,
            channel,
            type_,
            direction,
            at,
            anchor,
            anchor,
            0,
            json.dumps(data),
            "{}",
            "[]",
        )


def copy_rows(name: str, rows, anchor: datetime) -> None:
    with psycopg.connect(libpq(database_url(name))) as conn:
        _copy(
            conn,
            "customers",
            "id, status, display_name, created_at, updated_at, version, first_seen_at, last_seen_at, last_channel, "
            "interaction_count, counts, lifetime_value, ltv_amount, orders_count, last_purchase_at, nps_score, nps_at, "
            "csat_score, csat_at, open_cases, journey_stage, churn_risk",
            _customer_rows(rows.customers),
            len(rows.customers),
        )
        _copy(conn, "identifiers", "id, customer_id, kind, value, created_at", rows.identifiers, len(rows.identifiers))
        _copy(
            conn,
            "customer_attributes",
            "id, customer_id, key, origin, value, observed_at, updated_at",
            rows.attributes,
            len(rows.attributes),
        )
        _copy(
            conn,
            "interactions",
            "id, source_id, external_id, customer_id, channel, type, direction, occurred_at, received_at, processed_at, "
            "process_attempts, data, customer_in, identifiers",
            _interaction_rows(rows.interactions, anchor),
            len(rows.interactions),
        )
        for table in ("customers", "identifiers", "customer_attributes", "interactions"):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")


def index_customers(batch: int = 1000) -> int:
    """Every customer document (built by crm.search.documents, with segment_fields) into the write alias."""
    from elasticsearch import helpers
    from sqlalchemy import func, select

    from crm.extensions import db
    from crm.profiles.models import Customer
    from crm.search.documents import customer_docs
    from crm.search.elastic import alias, client, ensure_indices

    es = client().options(request_timeout=120)
    ensure_indices()
    target = alias("customer", "write")
    es.indices.put_settings(index=target, settings={"refresh_interval": "-1"})
    total = db.session.scalar(select(func.count()).select_from(Customer))
    sent = 0
    with tqdm(total=total, desc="index customers", unit="doc", mininterval=2) as bar:
        for start in range(0, total, batch):
            ids = list(db.session.scalars(select(Customer.id).order_by(Customer.id).offset(start).limit(batch)))
            docs = customer_docs(ids)
            db.session.rollback()
            actions = ({"_index": target, "_id": str(cid), "_source": doc} for cid, doc in docs.items() if doc)
            for ok, item in helpers.streaming_bulk(es, actions, chunk_size=500, raise_on_error=False):
                if not ok:
                    raise RuntimeError(f"indexing failed: {str(item)[:500]}")
                sent += 1
            bar.update(len(ids))
    es.indices.put_settings(index=target, settings={"refresh_interval": "1s"})
    es.indices.refresh(index=target)
    es.indices.forcemerge(index=target, max_num_segments=1)
    return sent


def load(customers: int, interactions: int, seed: int, name: str = DATABASE, prefix: str = PREFIX) -> dict:
    started = time.perf_counter()
    recreate_database(name)
    app = bench_app(name, prefix)
    with app.app_context():
        from flask_migrate import upgrade

        from crm.auth import tokens
        from crm.channels.cli import create_source
        from crm.extensions import db
        from crm.search.elastic import client

        upgrade()
        client().indices.delete(index=f"{prefix}-*", ignore_unavailable=True, allow_no_indices=True)
        source_ids = {
            ch: create_source(slug, ch, "generic", f"{slug}-secret-xxxxxxxx").id for ch, slug in SOURCES.items()
        }
        tokens.create_user("marketer@bench.example", "marketer", "bench-password")
        db.session.commit()
        t = time.perf_counter()
        rows = generate(customers, interactions, seed=seed, anchor=ANCHOR, source_ids=source_ids)
        generated = time.perf_counter() - t
        t = time.perf_counter()
        copy_rows(name, rows, ANCHOR)
        copied = time.perf_counter() - t
        t = time.perf_counter()
        indexed = index_customers()
        index_s = time.perf_counter() - t
    return {
        "customers": customers,
        "interactions": len(rows.interactions),
        "indexed": indexed,
        "generate_s": round(generated, 1),
        "copy_s": round(copied, 1),
        "index_s": round(index_s, 1),
        "total_s": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--database", default=DATABASE)
    parser.add_argument("--prefix", default=PREFIX)
    args = parser.parse_args()
    services_env()
    print(json.dumps(load(args.customers, args.interactions, args.seed, args.database, args.prefix)))


if __name__ == "__main__":
    main()
