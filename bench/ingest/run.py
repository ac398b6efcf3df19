"""Sustained webhook ingest under gunicorn: accepted interactions per second and latency, single and
batch, without and with a running rq worker, against a raw PostgreSQL insert of the same rows.

    .venv/bin/python -m bench.ingest.run                       # the full size (bench/ingest/README.md)
    .venv/bin/python -m bench.ingest.run --single 300 --batches 20   # a quick look

Needs the services of `bash scripts/services.sh`. The bench makes a database, queue and index prefix of
its own, starts gunicorn (and, for the worker phases, `flask worker`) on them, and removes it all after.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import date

import psycopg

from bench.ingest import load, payloads, raw
from bench.ingest.stack import SECRET, Stack, bench_stack, reset_backlog, start_gunicorn, start_worker, stop


def processed(stack: Stack) -> int:
    with psycopg.connect(stack.libpq_url) as conn:
        return conn.execute("SELECT count(*) FROM interactions WHERE processed_at IS NOT NULL").fetchone()[0]


def webhook_phase(stack: Stack, name: str, requests_: int, size: int, concurrency: int) -> load.Phase:
    prepared = load.signed(stack.base_url, stack.slugs, SECRET, payloads.batches(name, requests_, size))
    return load.drive(name, prepared, concurrency)


def worker_phases(stack: Stack, args) -> list[load.Phase]:
    """The same load with a worker processing what arrives, on the same two cores."""
    reset_backlog(stack)
    worker = start_worker(stack)
    time.sleep(3)  # the worker's imports, so its start-up is not charged to the first requests
    phases = []
    for kind, count, size in (("single", args.single, 1), ("batch", args.batches, args.batch_size)):
        before, started = processed(stack), time.perf_counter()
        phase = webhook_phase(stack, f"{kind}+worker", count, size, args.concurrency)
        done = processed(stack) - before
        phase.note = f"worker processed {done} meanwhile ({done / (time.perf_counter() - started):.1f}/s)"
        phases.append(phase)
    # Then the worker alone on the backlog, no requests arriving: its own rate on this machine.
    before, started = processed(stack), time.perf_counter()
    time.sleep(args.drain_s)
    done = processed(stack) - before
    phases[-1].note += f"; then alone for {args.drain_s} s: {done} ({done / (time.perf_counter() - started):.1f}/s)"
    stop(worker)
    stack.processes.remove(worker)
    return phases


def raw_phases(stack: Stack, args) -> list[load.Phase]:
    outbox = bool(stack.env.get("ELASTICSEARCH_URL"))
    phases = []
    for kind, count, size in (("single", args.single, 1), ("batch", args.batches, args.batch_size)):
        prepared = raw.prepare(stack.sources, payloads.batches(f"raw-{kind}", count, size))
        phases.append(raw.drive(f"raw INSERT, {kind}", stack.libpq_url, prepared, args.concurrency, outbox))
    return phases


def raw_light_phase(stack: Stack, requests_: int) -> load.Phase:
    """The raw inserts of single interactions from one connection, beside the one-client webhook phase."""
    prepared = raw.prepare(stack.sources, payloads.batches("raw-light", requests_, 1))
    outbox = bool(stack.env.get("ELASTICSEARCH_URL"))
    return raw.drive("raw INSERT, single, 1 client", stack.libpq_url, prepared, 1, outbox)


def report(phases: list[load.Phase], args) -> None:
    print(
        f"\n{date.today()}, {platform.machine()} {args.cores} cores, gunicorn -w {args.workers}, "
        f"{args.concurrency} client threads; single: {args.single} requests, batch: {args.batches} x {args.batch_size}; "
        f"load average {args.load_before:.1f} before, {os.getloadavg()[0]:.1f} after (the machine is shared)\n"
    )
    print("| phase | requests | interactions | s | interactions/s | p50 ms | p95 ms | p99 ms | answers | note |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |")
    for p in phases:
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(p.statuses.items(), key=str))
        print(
            f"| {p.name} | {p.requests} | {p.interactions} | {p.seconds:.1f} | {p.per_second:.0f} | "
            f"{p.percentile(50):.1f} | {p.percentile(95):.1f} | {p.percentile(99):.1f} | {answers} | {p.note} |"
        )
    by_name = {p.name: p for p in phases}
    for kind in ("single", "batch", "single, 1 client"):
        app, base = by_name[kind], by_name[f"raw INSERT, {kind}"]
        print(f"\n{kind}: webhook / raw INSERT throughput = {app.per_second / base.per_second:.2f}", end="")
        print(f" (p50 {app.percentile(50) / base.percentile(50):.1f}x the raw latency)", end="")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--single", type=int, default=3000, help="requests of one interaction per phase")
    parser.add_argument("--batches", type=int, default=200, help="batch requests per phase")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--light", type=int, default=300, help="requests from one client, for the unqueued latency")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads")
    parser.add_argument("--cores", type=int, default=2, help="for the report: the machine's cores")
    parser.add_argument("--drain-s", type=int, default=60, help="seconds the worker runs alone after the load")
    args = parser.parse_args()
    args.load_before = os.getloadavg()[0]
    with bench_stack() as stack:
        start_gunicorn(stack, args.workers)
        webhook_phase(stack, "warm-up", 50, 1, args.concurrency)
        phases = [
            webhook_phase(stack, "single", args.single, 1, args.concurrency),
            webhook_phase(stack, "batch", args.batches, args.batch_size, args.concurrency),
            # One client: the latency of a request on its own, without waiting behind others.
            webhook_phase(stack, "single, 1 client", args.light, 1, 1),
        ]
        phases += worker_phases(stack, args)
        phases += [*raw_phases(stack, args), raw_light_phase(stack, args.light)]
    report(phases, args)


if __name__ == "__main__":
    main()
