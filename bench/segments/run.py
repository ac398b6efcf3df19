"""Segment preview latency on the bench data set (bench/segments/load.py), against the raw Elasticsearch count.

    .venv/bin/python -m bench.segments.run [--iterations 30]

For each of a set of marketer-like rule trees: `POST /api/v1/segments/preview` through the app (auth,
validation, compile, one search with count + 20 members + breakdown, the members read back from
PostgreSQL) and, in the same round, the raw `_count` of the same compiled query. Prints p50/p95/p99 per
tree and overall, throughput (one client, sequential), and the ratio of preview to raw count.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from bench.segments.load import DATABASE, PREFIX, bench_app, services_env

TREES = {
    "engaged by email": {
        "condition": "interactions",
        "channel": "email",
        "direction": "inbound",
        "within_days": 30,
        "op": "gte",
        "value": 2,
    },
    "big spenders": {"condition": "spend", "within_days": 365, "op": "gte", "value": 500},
    "footwear, 90 days": {"condition": "bought", "category": "footwear", "within_days": 90},
    "Boston gold tier": {
        "all": [
            {"condition": "attribute", "key": "address.city", "op": "eq", "value": "Boston"},
            {"condition": "attribute", "key": "custom.tier", "op": "eq", "value": "gold"},
        ]
    },
    "unhappy": {
        "any": [
            {"condition": "nps", "category": "detractor"},
            {"condition": "csat", "at_most": 2},
            {"condition": "open_cases", "op": "gte", "value": 1},
        ]
    },
    "valuable, going quiet": {
        "all": [
            {"condition": "profile", "field": "ltv_amount", "op": "gt", "value": 200},
            {"not": {"condition": "last_interaction", "op": "within_last_days", "value": 60}},
        ]
    },
    "complex": {
        "all": [
            {
                "any": [
                    {"condition": "bought", "sku": "TRL-SHOE-01"},
                    {"condition": "spend", "within_days": 90, "op": "gte", "value": 100},
                ]
            },
            {"not": {"condition": "identifier", "kind": "phone"}},
            {"condition": "journey_stage", "op": "in", "value": ["repeat", "advocate", "at risk"]},
            {"condition": "interactions", "channel": "chat", "op": "lt", "value": 3},
        ]
    },
    "no email consent": {"condition": "attribute", "key": "consent.email", "op": "eq", "value": False},
}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def summary(values: list[float]) -> dict:
    return {f"p{p}": round(percentile(values, p), 1) for p in (50, 95, 99)}


def run(iterations: int, name: str, prefix: str) -> dict:
    app = bench_app(name, prefix)
    with app.app_context():
        from crm.auth import tokens
        from crm.auth.models import User
        from crm.columns import utcnow
        from crm.extensions import db
        from crm.search.elastic import alias, client
        from crm.segments.elastic import filtered
        from crm.segments.rules import lower, validate_rule

        user = db.session.query(User).filter_by(email="marketer@bench.example").one()
        _, token = tokens.issue_token(user, "bench")
        db.session.commit()
        es, read = client(), alias("customer")
        headers = {"Authorization": f"Bearer {token}"}
        http = app.test_client()
        preview_ms: dict[str, list[float]] = {t: [] for t in TREES}
        count_ms: dict[str, list[float]] = {t: [] for t in TREES}
        counts: dict[str, int] = {}
        for round_ in range(iterations + 1):  # round 0 warms caches and connections
            for tree, rule in TREES.items():
                t = time.perf_counter()
                response = http.post("/api/v1/segments/preview", json={"rule": rule}, headers=headers)
                elapsed = (time.perf_counter() - t) * 1000
                assert response.status_code == 200 and response.json["backend"] == "elasticsearch", response.json
                query = filtered(lower(validate_rule(rule), utcnow()))
                t = time.perf_counter()
                raw = es.count(index=read, query=query)["count"]
                raw_elapsed = (time.perf_counter() - t) * 1000
                if round_:
                    preview_ms[tree].append(elapsed)
                    count_ms[tree].append(raw_elapsed)
                counts[tree] = response.json["count"]
                assert abs(raw - counts[tree]) <= 0, (tree, raw, counts[tree])
    every_preview = [v for vs in preview_ms.values() for v in vs]
    every_count = [v for vs in count_ms.values() for v in vs]
    return {
        "trees": {
            t: {"members": counts[t], "preview_ms": summary(preview_ms[t]), "raw_count_ms": summary(count_ms[t])}
            for t in TREES
        },
        "preview_ms": summary(every_preview),
        "raw_count_ms": summary(every_count),
        "previews_per_s": round(1000 * len(every_preview) / sum(every_preview), 1),
        "ratio_p50": round(percentile(every_preview, 50) / percentile(every_count, 50), 2),
        "ratio_p95": round(percentile(every_preview, 95) / percentile(every_count, 95), 2),
        "mean_preview_ms": round(statistics.fmean(every_preview), 1),
        "samples": len(every_preview),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--database", default=DATABASE)
    parser.add_argument("--prefix", default=PREFIX)
    args = parser.parse_args()
    services_env()
    result = run(args.iterations, args.database, args.prefix)
    print(f"{'tree':24} {'members':>8} {'preview p50/p95/p99 ms':>24} {'raw count p50/p95/p99 ms':>26}")
    for tree, row in result["trees"].items():
        p, c = row["preview_ms"], row["raw_count_ms"]
        print(
            f"{tree:24} {row['members']:>8} {p['p50']:>8}/{p['p95']}/{p['p99']:<8} {c['p50']:>10}/{c['p95']}/{c['p99']}"
        )
    p, c = result["preview_ms"], result["raw_count_ms"]
    print(
        f"\nall {result['samples']} previews: p50 {p['p50']} ms, p95 {p['p95']} ms, p99 {p['p99']} ms; "
        f"{result['previews_per_s']} previews/s (one client)\n"
        f"raw _count of the same queries: p50 {c['p50']} ms, p95 {c['p95']} ms, p99 {c['p99']} ms\n"
        f"preview / raw count: {result['ratio_p50']}x at p50, {result['ratio_p95']}x at p95"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
