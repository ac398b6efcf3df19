"""Experiments at scale: assignment throughput, the pipeline hook's cost per interaction, treatments for
the agent view, and the results computation — each against the raw PostgreSQL statements that do the
same reads and writes with nothing else, on the same data in the same run.

    .venv/bin/python -m bench.experiments.run                                  # 50k customers, ~500k interactions
    .venv/bin/python -m bench.experiments.run --customers 5000 --per-customer 6 --samples 200   # a quick look

It makes its own database (crm_bench_experiments) on the server of DATABASE_URL (.services/env), one
segment holding every customer, a 50/50 experiment on it; assigns them all; spreads the assignments
over 31-61 days ago and writes each customer's history around it with a known +8-point conversion
effect; then times. The last line checks the results found the effect, with the truth in the interval.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from bench.experiments.load import CONVERSION, backdate_assignments, create_database, load_customers, load_history

ROOT = Path(__file__).resolve().parents[2]


def services_env() -> None:
    env_file = ROOT / ".services" / "env"
    if env_file.exists():
        for line in env_file.read_text().splitlines():
            if line.startswith("export ") and "=" in line:
                key, _, value = line[len("export ") :].partition("=")
                os.environ.setdefault(key, value)


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "mean": statistics.fmean(ordered) * 1000}


def timed(fn: Callable, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def report(name: str, samples: list[float], raw: list[float], unit: str, per_run: int = 1) -> None:
    p, r = percentiles(samples), percentiles(raw)
    rate = per_run * 1000 / p["mean"]
    print(
        f"{name:30} p50 {p['p50']:9.2f} ms  p95 {p['p95']:9.2f} ms  p99 {p['p99']:9.2f} ms  {rate:10,.0f} {unit}/s"
        f"   raw p50 {r['p50']:8.2f} ms p95 {r['p95']:8.2f} ms  ratio {p['p50'] / r['p50']:5.1f}x / {p['p95'] / r['p95']:5.1f}x"
    )


def build_app(url: str):
    os.environ.setdefault("CRM_INSTANCE_PATH", tempfile.mkdtemp(prefix="crm-bench-exp-"))
    from flask_migrate import upgrade

    from crm import create_app

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "REDIS_URL": None, "ELASTICSEARCH_URL": None}
    )
    with app.app_context():
        upgrade()
    return app


def setup(customers: int):
    """The segment (all customers) and a started 50/50 experiment; returns (experiment id, segment id, source id)."""
    from crm.channels.cli import create_source
    from crm.experiments import lifecycle
    from crm.experiments.schemas import ExperimentIn
    from crm.extensions import db
    from crm.segments.definitions import create_segment

    source = create_source("bench-store", "store", "generic", "bench-store-secret-0123456789")
    rule = {"condition": "profile", "field": "orders_count", "op": "gt", "value": 1_000_000}
    segment = create_segment(name="Bench: everyone", rule=rule, kind="static", actor="bench")
    db.session.commit()
    # A connection of its own, outside the app's pool: the raw side of every comparison.
    raw = psycopg.connect(db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False))
    load_customers(raw, customers, segment.id, datetime.now(UTC))
    payload = {
        "name": "Bench winback", "hypothesis": "A discount brings lapsed buyers back", "segment_id": segment.id,
        "variants": [{"name": "control", "share": 50}, {"name": "treatment", "share": 50, "action": "Offer 10 % off"}],
        "ends_at": (datetime.now(UTC) + timedelta(days=90)).isoformat(), "primary_metric": "conversion",
        "guardrail_metrics": ["csat", "contact_rate"], "window_days": 30, "min_sample": 100,
    }  # fmt: skip
    experiment, _ = lifecycle.create_experiment(ExperimentIn().load(payload), "bench")
    lifecycle.start_experiment(experiment, "bench")
    db.session.commit()
    return experiment.id, segment.id, source.id, raw


def raw_assign(raw, experiment_id: int, rows: list[tuple]) -> float:
    """The same rows inserted the same way (multi-row INSERT ... ON CONFLICT DO NOTHING, 1000 a batch)."""
    with raw.cursor() as cur:
        cur.execute("CREATE TEMP TABLE raw_assignments (LIKE experiment_assignments INCLUDING ALL)")
        started = time.perf_counter()
        for start in range(0, len(rows), 1000):
            batch = rows[start : start + 1000]
            values = ",".join(["(%s, %s, %s, %s, now(), 'sweep')"] * len(batch))
            cur.execute(
                "INSERT INTO raw_assignments (experiment_id, customer_id, variant, bucket, assigned_at, cause) VALUES "
                + values
                + " ON CONFLICT DO NOTHING RETURNING id",
                [x for row in batch for x in (experiment_id, *row)],
            )
            cur.fetchall()
            raw.commit()
        return time.perf_counter() - started


def bench_assignment(app, raw, experiment_id: int, customers: int) -> None:
    from sqlalchemy import select

    from crm.experiments.assignment import assign_members
    from crm.experiments.models import ExperimentAssignment
    from crm.extensions import db

    started = time.perf_counter()
    made = assign_members(experiment_id)
    took = time.perf_counter() - started
    rows = db.session.execute(
        select(ExperimentAssignment.customer_id, ExperimentAssignment.variant, ExperimentAssignment.bucket).where(
            ExperimentAssignment.experiment_id == experiment_id
        )
    ).all()
    db.session.rollback()
    baseline = raw_assign(raw, experiment_id, [tuple(r) for r in rows])
    counts = {v: sum(1 for r in rows if r.variant == v) for v in ("control", "treatment")}
    split = ", ".join(f"{v} {100 * n / made:.2f} %" for v, n in counts.items())
    print(
        f"{'assign_members (all members)':30} {took:9.2f} s for {made:,} customers  {made / took:10,.0f} customers/s"
        f"   raw {baseline:6.2f} s  ratio {took / baseline:5.1f}x   split: {split}"
    )


RAW_ON_ENTRY = """
SELECT e.id, e.key, e.variants FROM experiments e
JOIN segment_members m ON m.segment_id = e.segment_id
WHERE m.customer_id = %(c)s AND e.status = 'running' AND e.segment_id IS NOT NULL
  AND (e.starts_at IS NULL OR e.starts_at <= now()) AND e.ends_at > now()
  AND (e.assign_existing OR m.entered_at >= e.starts_at)
  AND NOT EXISTS (SELECT 1 FROM experiment_assignments a WHERE a.experiment_id = e.id AND a.customer_id = %(c)s)
"""
RAW_TREATMENTS = """
SELECT a.customer_id, a.variant, e.name, e.variants FROM experiment_assignments a
JOIN experiments e ON e.id = a.experiment_id
WHERE a.customer_id = ANY(%(ids)s) AND e.status = 'running' AND (e.starts_at IS NULL OR e.starts_at <= now())
  AND e.ends_at > now() ORDER BY e.name, a.assigned_at, a.id
"""


def bench_per_customer(app, raw, customers: int, samples: int, seed: int) -> None:
    """The pipeline hook (on every processed interaction) and the agent view's treatments, per customer."""
    from crm.experiments.assignment import assign_on_entry, treatments_for
    from crm.extensions import db
    from crm.profiles.models import Customer, Merge

    rng = random.Random(seed)
    picked = [rng.randint(1, customers) for _ in range(samples)]
    rows = {c.id: c for c in db.session.query(Customer).filter(Customer.id.in_(picked))}
    hook = [timed(lambda c=rows[cid]: assign_on_entry(c), 1)[0] for cid in picked]
    db.session.rollback()
    with raw.cursor() as cur:
        hook_raw = [
            timed(lambda cid=cid: cur.execute(RAW_ON_ENTRY, {"c": cid}) or cur.fetchall(), 1)[0] for cid in picked
        ]
    report("assign_on_entry (per interaction)", hook, hook_raw, "calls")
    shown = [timed(lambda cid=cid: treatments_for(cid), 1)[0] for cid in picked]
    db.session.rollback()
    merges = f"SELECT merged_id, survivor_id FROM {Merge.__tablename__} WHERE survivor_id = ANY(%(ids)s) AND undone_at IS NULL"
    with raw.cursor() as cur:

        def raw_treatments(cid: int) -> None:
            cur.execute(merges, {"ids": [cid]})
            cur.fetchall()
            cur.execute(RAW_TREATMENTS, {"ids": [cid]})
            cur.fetchall()

        shown_raw = [timed(lambda cid=cid: raw_treatments(cid), 1)[0] for cid in picked]
    report("treatments_for (agent view)", shown, shown_raw, "calls")


RAW_WINDOW = """
EXISTS (SELECT 1 FROM experiment_assignments a WHERE a.experiment_id = %(e)s AND a.customer_id = {t}.customer_id
        AND a.assigned_at < {t}.{at} AND {t}.{at} <= a.assigned_at + %(w)s * interval '1 day')
"""


def raw_results_reads(raw, experiment_id: int, window_days: int) -> None:
    """What load_observations reads, with plain statements: the assignments, the merged among them, and
    the interactions and cases inside each customer's window (the same semi-join, rows and columns)."""
    args = {"e": experiment_id, "w": window_days}
    with raw.cursor() as cur:
        cur.execute(
            "SELECT customer_id, variant, assigned_at FROM experiment_assignments WHERE experiment_id = %(e)s "
            "ORDER BY assigned_at, id",
            args,
        )
        cur.fetchall()
        cur.execute(
            "SELECT c.id, c.merged_into_id FROM customers c JOIN experiment_assignments a ON a.customer_id = c.id "
            "WHERE a.experiment_id = %(e)s AND c.status = 'merged' AND c.merged_into_id IS NOT NULL",
            args,
        )
        cur.fetchall()
        cur.execute(
            "SELECT i.customer_id, i.id, i.channel, i.type, i.direction, i.occurred_at, "
            "CASE WHEN i.type IN ('purchase', 'survey', 'call') THEN i.data END FROM interactions i WHERE "
            + RAW_WINDOW.format(t="i", at="occurred_at")
            + " AND (i.type IN ('purchase', 'survey', 'visit', 'call') OR i.direction = 'inbound') AND i.occurred_at <= now()",
            args,
        )
        cur.fetchall()
        cur.execute(
            "SELECT c.customer_id, c.id, c.status, c.channel, c.opened_at, c.first_response_at, c.resolved_at, "
            "c.reopen_count, c.resolution_seconds FROM cases c WHERE " + RAW_WINDOW.format(t="c", at="opened_at"),
            args,
        )
        cur.fetchall()
    raw.commit()


def bench_results(app, raw, experiment_id: int, runs: int) -> dict:
    from crm.experiments.models import Experiment
    from crm.experiments.observations import results_for
    from crm.extensions import db

    experiment = db.session.get(Experiment, experiment_id)
    body: dict = {}

    def compute() -> None:
        nonlocal body
        body = results_for(experiment, "USD")

    samples = timed(compute, runs)
    assigned = sum(v["assigned"] for v in body["variants"])
    baseline = timed(lambda: raw_results_reads(raw, experiment_id, experiment.window_days), runs)
    report("results_for (whole experiment)", samples, baseline, "customers", per_run=assigned)
    return body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--per-customer", type=int, default=10, help="interactions per customer, on average")
    parser.add_argument("--samples", type=int, default=500, help="customers timed one by one")
    parser.add_argument("--runs", type=int, default=5, help="timed results computations")
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    services_env()
    url = create_database(os.environ["DATABASE_URL"])
    app = build_app(url)
    with app.app_context():
        experiment_id, _, source_id, raw = setup(args.customers)
        print(f"experiments bench: {args.customers:,} customers in the segment, {os.cpu_count()} cores, PostgreSQL")
        bench_assignment(app, raw, experiment_id, args.customers)
        assigned = backdate_assignments(raw, experiment_id, args.seed)
        count = load_history(raw, assigned, source_id, args.per_customer, args.seed)
        print(f"history: {count:,} interactions around the assignments (conversion truth {CONVERSION})")
        bench_per_customer(app, raw, args.customers, args.samples, args.seed)
        body = bench_results(app, raw, experiment_id, args.runs)
        c = body["metrics"][0]["comparisons"][0]
        truth = CONVERSION["treatment"] - CONVERSION["control"]
        print(f"verdict: {body['verdict']['text']}")
        print(
            f"truth {truth:+.3f} inside the 95 % interval [{c['ci_low']:+.4f}, {c['ci_high']:+.4f}]: {c['ci_low'] <= truth <= c['ci_high']}"
        )
        raw.close()


if __name__ == "__main__":
    main()
