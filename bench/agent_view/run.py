"""The agent view's latency at scale: p50/p95/p99 and throughput, cold (computed) and warm (cached),
against the raw PostgreSQL reads the view needs, on the same data in the same run.

    .venv/bin/python -m bench.agent_view.run --load                      # 100k customers, 1M interactions
    .venv/bin/python -m bench.agent_view.run --load --customers 10000 --interactions 100000 --sample 300
    .venv/bin/python -m bench.agent_view.run --search sql                 # recommendations from the product model

Each sampled customer's view is requested through the real HTTP stack (the Flask test client: token
auth, routing, the operation decorator, JSON) on PostgreSQL, with Redis for the cache and, with
--search es (the default, full mode), Elasticsearch for the co-purchase counts. "Raw" is the same
rows read with plain psycopg statements and nothing else: the floor the view's own work sits on.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time

from sqlalchemy import func, select

from bench.agent_view.app import BENCH_PREFIX, bench_app, services_env
from bench.agent_view.load import DB_NAME, load, server_url

HEAVY = 20  # the customers with the most interactions are always measured too


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "mean": statistics.fmean(ordered) * 1000}


def line(name: str, samples: list[float], raw: dict[str, float] | None = None) -> str:
    p = percentiles(samples)
    out = f"{name:34} p50 {p['p50']:7.2f} ms  p95 {p['p95']:7.2f} ms  p99 {p['p99']:7.2f} ms"
    out += f"  {1000 / p['mean']:7.1f} views/s"
    if raw:
        out += f"  ({p['p50'] / raw['p50']:.1f}x / {p['p95'] / raw['p95']:.1f}x raw p50/p95)"
    return out


def index_customers(app) -> float:
    """Every customer document into a fresh bench index (customers only: the view reads no interaction doc)."""
    from crm.search import elastic, reindex

    started = time.perf_counter()
    with app.app_context():
        es = elastic.client()
        es.indices.delete(index=f"{BENCH_PREFIX}-*", ignore_unavailable=True, allow_no_indices=True)
        elastic.forget_indices()
        elastic.ensure_indices()
        (index,) = es.indices.get_alias(name=elastic.alias("customer")).body
        reindex.load(es, "customer", index, batch=2000)
        es.indices.refresh(index=index)
    return time.perf_counter() - started


def indexed(app) -> bool:
    """True when the bench index holds one document per active customer already."""
    from crm.extensions import db
    from crm.profiles.models import Customer
    from crm.search import elastic

    with app.app_context():
        customers = db.session.scalar(select(func.count()).select_from(Customer).where(Customer.status == "active"))
        try:
            return elastic.client().count(index=elastic.alias("customer"))["count"] == customers
        except elastic.ES_ERRORS:
            return False


def sample_ids(app, size: int, seed: int) -> list[int]:
    from crm.extensions import db
    from crm.profiles.models import Customer

    with app.app_context():
        total = db.session.scalar(select(func.max(Customer.id)))
        heavy = list(db.session.scalars(select(Customer.id).order_by(Customer.interaction_count.desc()).limit(HEAVY)))
    rng = random.Random(seed)
    return rng.sample(range(1, total + 1), min(size, total)) + heavy


def time_views(client, token: str, ids: list[int]) -> list[float]:
    headers = {"Authorization": f"Bearer {token}"}
    samples = []
    for cid in ids:
        started = time.perf_counter()
        response = client.get(f"/api/v1/customers/{cid}/agent-view", headers=headers)
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return samples


RAW_READS = (
    "SELECT * FROM customers WHERE id = %(id)s",
    "SELECT * FROM identifiers WHERE customer_id = %(id)s",
    "SELECT * FROM customer_attributes WHERE customer_id = %(id)s",
    "SELECT * FROM cases WHERE customer_id = %(id)s",
    "SELECT s.id, s.name FROM segment_members m JOIN segments s ON s.id = m.segment_id WHERE m.customer_id = %(id)s",
    "SELECT action_key FROM action_feedback WHERE customer_id = %(id)s",
    "SELECT * FROM interactions WHERE customer_id = %(id)s ORDER BY occurred_at DESC, id DESC LIMIT 26",
    "SELECT id, customers, built_at FROM product_builds ORDER BY id DESC LIMIT 1",
)
RAW_HISTORY = (
    "SELECT id, channel, type, direction, occurred_at, subject, text, data, sentiment, case_id FROM interactions"
    " WHERE customer_id = %(id)s ORDER BY occurred_at DESC, id DESC LIMIT 500"
)
RAW_PAIRS = "SELECT sku_a, sku_b, customers FROM product_pairs WHERE sku_a = ANY(%(skus)s)"
RAW_SEGMENT_TOP = (
    "SELECT segment_id, sku FROM (SELECT segment_id, sku, row_number() OVER (PARTITION BY segment_id"
    " ORDER BY customers DESC, sku) AS rank FROM segment_products WHERE segment_id = ANY(%(segments)s)) ranked"
    " WHERE rank <= 20"
)


def raw_reads(conn, cid: int, search: bool) -> list[str]:
    """The rows the view reads, with nothing around them; the skus owned, for the raw ES query.

    With Elasticsearch the pairs come from the search, so the pairs read is left out."""
    with conn.cursor() as cur:
        for statement in RAW_READS:
            cur.execute(statement, {"id": cid})
            rows = cur.fetchall()
            if statement.startswith("SELECT s.id"):
                segments = [r[0] for r in rows]
        cur.execute(RAW_HISTORY, {"id": cid})
        skus = list(
            dict.fromkeys(i["sku"] for r in cur.fetchall() if r[2] == "purchase" for i in r[7].get("items", ()))
        )
        if not search:
            cur.execute(RAW_PAIRS, {"skus": skus[:50]})
            cur.fetchall()
        cur.execute(RAW_SEGMENT_TOP, {"segments": segments})
        cur.fetchall()
    return skus[:15]


def time_raw(app, database_url: str, ids: list[int], search: bool) -> tuple[list[float], list[float]]:
    """(PostgreSQL reads per view, the same plus the Elasticsearch aggregation) in seconds."""
    import psycopg

    from crm.personalization.recommend_es import query_body

    pg, both = [], []
    with psycopg.connect(database_url.replace("postgresql+psycopg", "postgresql")) as conn, app.app_context():
        conn.autocommit = True
        if search:
            from crm.search.elastic import alias, client

            es, index = client(), alias("customer")
        for cid in ids:
            started = time.perf_counter()
            skus = raw_reads(conn, cid, search)
            pg.append(time.perf_counter() - started)
            if search:
                if skus:  # as the view: no search for a customer who bought nothing
                    es.search(index=index, **query_body(skus))
                both.append(time.perf_counter() - started)
    return pg, both


def run(args) -> None:
    services_env()
    database_url = server_url(os.environ["DATABASE_URL"], DB_NAME)
    if args.load:
        loaded = load(os.environ["DATABASE_URL"], args.customers, args.interactions, args.seed)
        print(f"loaded with COPY in {loaded['seconds']} s: " + ", ".join(f"{k} {v:,}" for k, v in loaded.items()
                                                                        if k not in ("url", "seconds")))  # fmt: skip
    search = args.search == "es"
    app = bench_app(database_url, redis=True, search=search)
    with app.app_context():
        from crm.auth import tokens
        from crm.extensions import db
        from crm.personalization.catalog_db import build_product_model

        build = build_product_model()
        print(f"product model built in {build.seconds:.1f} s: {build.products} products, {build.pairs} pairs")
        user = tokens.create_user(f"bench{time.time_ns()}@bench.example", "agent", "bench-password")
        _, token = tokens.issue_token(user, "bench")
        db.session.commit()
    if search and (args.load or not indexed(app)):
        print(f"customers indexed into Elasticsearch in {index_customers(app):.1f} s")
    ids = sample_ids(app, args.sample, args.seed)
    typical, heavy = ids[:-HEAVY], ids[-HEAVY:]
    client = app.test_client()
    app.config["AGENT_VIEW_CACHE_S"] = 0
    time_views(client, token, ids[:20])  # warm the connection pool, the lexicon and the product table
    cold = time_views(client, token, typical)
    cold_heavy = time_views(client, token, heavy)
    app.config["AGENT_VIEW_CACHE_S"] = 300
    time_views(client, token, typical)
    warm = time_views(client, token, typical)
    raw_pg, raw_both = time_raw(app, database_url, typical, search)
    print(f"agent view, {len(typical)} random customers and the {HEAVY} heaviest; search {args.search}, cache Redis")
    print(line("raw PostgreSQL reads", raw_pg))
    if search:
        print(line("raw PostgreSQL + ES aggregation", raw_both))
    floor = percentiles(raw_both or raw_pg)
    print(line("agent view, cold (computed)", cold, floor))
    print(line(f"agent view, cold, {HEAVY} heaviest", cold_heavy, floor))
    print(line("agent view, warm (Redis cache hit)", warm))
    p95 = percentiles(cold)["p95"]
    print(f"target p95 <= 50 ms (cold): {'met' if p95 <= 50 else 'NOT met'} ({p95:.1f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load", action="store_true", help="(Re)create and fill the bench database first.")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=1000, help="Random customers measured.")
    parser.add_argument("--search", choices=("es", "sql"), default="es")
    parser.add_argument("--seed", type=int, default=7)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
