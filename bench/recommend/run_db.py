"""Hit rate@5 end to end: the generated purchases loaded into PostgreSQL, recommended through the
database path (the product model) and the Elasticsearch path (significant_terms), against the
popularity baseline read from the same database, and the pure recommender on the same histories.

    .venv/bin/python -m bench.recommend.run_db                        # 5,000 customers, seed 7
    .venv/bin/python -m bench.recommend.run_db --customers 1000 --no-es

The histories are bench/recommend/run.py's (categories, complements, tastes, segments). Each
customer's last purchase is held out; every purchase before it is an interaction row (type purchase,
data.items) of a real customer row, and every segment a real segment with members, so the counts come
from the same SQL and the same index an agent view reads.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from tqdm import tqdm

from bench.agent_view.app import bench_app, services_env
from bench.agent_view.load import create_database
from bench.recommend.run import generate, wilson

DB_NAME = "crm_bench_recommend"
K = 5


def load_histories(db, train: dict[int, list[str]], segments: dict[int, tuple[str, ...]]) -> None:
    """Customers, one purchase interaction per sku bought (oldest first), segments and members, by COPY."""
    from bench.agent_view.app import ensure_sources

    ensure_sources()
    db.session.commit()
    now = datetime.now(UTC)
    names = sorted({name for seg in segments.values() for name in seg})
    seg_ids = {name: n for n, name in enumerate(names, start=1)}
    conn = db.session.connection().connection.dbapi_connection
    with conn.cursor() as cur:
        with cur.copy("COPY customers (id, status, created_at, updated_at, version, interaction_count, counts,"
                      " lifetime_value, ltv_amount, orders_count, open_cases) FROM STDIN") as copy:  # fmt: skip
            for cid, skus in train.items():
                copy.write_row((cid + 1, "active", now, now, 1, len(skus), "{}", "{}", 0, len(skus), 0))
        columns = "id, source_id, external_id, customer_id, channel, type, direction, occurred_at, received_at," \
                  " processed_at, process_attempts, data, customer_in, identifiers"  # fmt: skip
        iid = 0
        with cur.copy(f"COPY interactions ({columns}) FROM STDIN") as copy:
            for cid, skus in train.items():
                for position, sku in enumerate(skus):
                    iid += 1
                    at = now - timedelta(days=len(skus) - position)
                    data = json.dumps(
                        {"currency": "USD", "total": "10.00", "items": [{"sku": sku, "name": sku.title()}]}
                    )
                    copy.write_row((iid, 4, f"r-{iid}", cid + 1, "store", "purchase", "inbound", at, at, at, 0, data,
                                    "{}", "[]"))  # fmt: skip
        for name, sid in seg_ids.items():
            cur.execute("INSERT INTO segments (id, name, kind, rule, created_at, updated_at, member_count)"
                        " VALUES (%s, %s, 'static', '{}', %s, %s, 0)", (sid, name, now, now))  # fmt: skip
        with cur.copy("COPY segment_members (segment_id, customer_id, entered_at) FROM STDIN") as copy:
            for cid, names_of in segments.items():
                for name in names_of:
                    copy.write_row((seg_ids[name], cid + 1, now))
    conn.commit()
    db.session.execute(text("ANALYZE"))
    db.session.commit()


def raw_counts(db, skus: list[str], segment_ids: list[int], search: bool) -> float:
    """Seconds for the bare read the recommender's counts come from: the pairs and segment rows, or the search."""
    started = time.perf_counter()
    if search:
        from crm.personalization.recommend_es import query_body
        from crm.search.elastic import alias, client

        client().search(index=alias("customer"), **query_body(skus[:15]))
    else:
        from bench.agent_view.run import RAW_PAIRS, RAW_SEGMENT_TOP

        with db.session.connection().connection.dbapi_connection.cursor() as cur:
            cur.execute(RAW_PAIRS, {"skus": skus[:50]})
            cur.fetchall()
            cur.execute(RAW_SEGMENT_TOP, {"segments": segment_ids})
            cur.fetchall()
    return time.perf_counter() - started


def evaluate(app, held_out: dict[int, str], search: bool) -> tuple[Counter, list[float], list[float]]:
    """Hits of the database recommender and the baseline, seconds per recommendation and per bare read."""
    from crm.extensions import db
    from crm.personalization.catalog_db import product_table
    from crm.personalization.loader import load_many
    from crm.personalization.recommend_db import owned_skus, recommend
    from crm.profiles.models import Customer

    # The database path is the one embedded mode and an Elasticsearch outage take.
    app.config["ELASTICSEARCH_URL"] = os.environ.get("ELASTICSEARCH_URL") if search else None
    hits, seconds, raw = Counter(), [], []
    ids = sorted(held_out)
    with app.app_context():
        table = product_table()
        bar = tqdm(total=len(ids), desc=f"recommending ({'Elasticsearch' if search else 'database'})")
        for start in range(0, len(ids), 500):
            rows = list(
                db.session.scalars(
                    db.select(Customer).where(Customer.id.in_([i + 1 for i in ids[start : start + 500]]))
                )
            )
            for loaded in load_many(rows).values():
                target = held_out[loaded.customer.id - 1]
                started = time.perf_counter()
                picks = [p["sku"] for p in recommend(loaded, limit=K, table=table)]
                seconds.append(time.perf_counter() - started)
                raw.append(raw_counts(db, owned_skus(loaded.facts), list(loaded.segment_ids), search))
                owned = set(owned_skus(loaded.facts))
                baseline = [s for s in table.popular if s not in owned][:K]
                hits["recommender"] += target in picks
                hits["baseline"] += target in baseline
            bar.update(len(rows))
            db.session.rollback()
        bar.close()
    app.config["ELASTICSEARCH_URL"] = os.environ.get("ELASTICSEARCH_URL")
    return hits, seconds, raw


def index_customers(app) -> float:
    from bench.agent_view.run import index_customers as index

    return index(app)


def _p50_p95(seconds: list[float]) -> tuple[float, float]:
    ms = sorted(x * 1000 for x in seconds)
    return statistics.median(ms), ms[int(0.95 * (len(ms) - 1))]


def _rate(hits: int, n: int) -> str:
    low, high = wilson(hits, n)
    return f"{hits / n:.3f} ({low:.3f}-{high:.3f})"


def main() -> None:
    from bench.recommend.run import evaluate as pure_evaluate

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-es", action="store_true", help="Only the database path.")
    args = parser.parse_args()
    services_env()
    sequences, segments, _ = generate(args.customers, args.seed)
    held_out = {c: s[-1] for c, s in sequences.items() if len(s) >= 2}
    train = {c: s[:-1] if c in held_out else s for c, s in sequences.items()}
    started = time.perf_counter()
    app = bench_app(create_database(os.environ["DATABASE_URL"], DB_NAME), migrate=True, search=not args.no_es)
    with app.app_context():
        from crm.extensions import db
        from crm.personalization.catalog_db import build_product_model

        load_histories(db, train, segments)
        build = build_product_model()
    print(f"loaded {len(train):,} customers, {sum(map(len, train.values())):,} purchases in "
          f"{time.perf_counter() - started:.1f} s; product model {build.seconds:.2f} s ({build.pairs} pairs)")  # fmt: skip
    results = {"database (product model)": evaluate(app, held_out, search=False)}
    if not args.no_es:
        print(f"customers indexed into Elasticsearch in {index_customers(app):.1f} s")
        results["Elasticsearch (significant_terms)"] = evaluate(app, held_out, search=True)
    pure_hits, _ = pure_evaluate(args.customers, args.seed)
    n = len(held_out)
    print(f"hit rate@{K} on the held-out last purchase of {n:,} customers (95% interval)")
    print(
        f"{'pure bought together (cosine), in memory':50} {_rate(sum(pure_hits['bought together (cosine)'].values()), n)}"
    )
    for name, (hits, seconds, raw) in results.items():
        p50, p95, raw50, raw95 = *_p50_p95(seconds), *_p50_p95(raw)
        print(
            f"{'recommender via ' + name:50} {_rate(hits['recommender'], n)}  p50 {p50:.2f} ms p95 {p95:.2f} ms,"
            f" {1 / statistics.fmean(seconds):.0f} /s; bare read p50 {raw50:.2f} ms p95 {raw95:.2f} ms"
            f" ({p50 / raw50:.1f}x / {p95 / raw95:.1f}x)"
        )
    baseline = results["database (product model)"][0]["baseline"]
    print(f"{'popularity baseline (from the database)':50} {_rate(baseline, n)}")
    for name, (hits, _, _) in results.items():
        verdict = "beats" if hits["recommender"] > hits["baseline"] else "does NOT beat"
        print(f"{name}: the recommender {verdict} the baseline ({hits['recommender']} vs {hits['baseline']} hits)")


if __name__ == "__main__":
    main()
