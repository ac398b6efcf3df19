"""The ingest rows of the one table, on bench/ingest's stack (a fresh database, gunicorn with several
workers): single and batch webhooks against a raw INSERT of the same rows, then, with a real worker,
webhook → searchable latency against a raw index-and-refresh."""

from __future__ import annotations

import argparse
import time

from bench.ingest.run import raw_phases, webhook_phase
from bench.ingest.stack import SECRET, _flask, bench_stack, reset_backlog, start_gunicorn, start_worker
from bench.load import searchable
from bench.table import Row, millis

GUNICORN_WORKERS, CONCURRENCY, BATCH = 4, 8, 100


def agent_token(stack) -> str:
    _flask(stack, "users", "create", "probe@bench.example", "--role", "agent", "--password", "bench-password")
    return _flask(stack, "users", "token", "probe@bench.example").strip().splitlines()[-1]


def _phase_row(name: str, phase, raw) -> Row:
    answers = ", ".join(f"{k}: {v}" for k, v in sorted(phase.statuses.items(), key=str))
    return Row(name, f"{phase.requests:,} requests, {phase.interactions:,} interactions", phase.percentile(50),
               phase.percentile(95), phase.percentile(99), f"{phase.per_second:,.0f} interactions/s",
               raw=f"raw INSERT of the same rows: {raw.per_second:,.0f}/s (throughput ratio)",
               ratio=phase.per_second / raw.per_second, note=answers)  # fmt: skip


def rows(size: dict) -> list[Row]:
    args = argparse.Namespace(single=size["single"], batches=size["batches"], batch_size=BATCH, concurrency=CONCURRENCY)
    with bench_stack() as stack:
        start_gunicorn(stack, GUNICORN_WORKERS)
        webhook_phase(stack, "warm-up", 50, 1, CONCURRENCY)
        single = webhook_phase(stack, "single", args.single, 1, CONCURRENCY)
        batch = webhook_phase(stack, "batch", args.batches, BATCH, CONCURRENCY)
        raw_single, raw_batch = raw_phases(stack, args)
        token = agent_token(stack)
        reset_backlog(stack)  # the probe's own rows only: earlier phases are not the worker's backlog
        start_worker(stack)
        time.sleep(3)
        probes = searchable.latencies(stack.base_url, stack.slugs["email"], SECRET, token, size["probes"])
        floor = millis(searchable.raw_latencies(stack.env["ELASTICSEARCH_URL"], size["probes"]))
    gunicorn = f"gunicorn -w {GUNICORN_WORKERS}, {CONCURRENCY} senders"
    searchable_row = Row.of(
        "webhook → searchable (post, then poll the search API)", f"{len(probes)} new people, one at a time", probes,
        "probes/s", raw=f"ES index + refresh=wait_for + search: p95 {floor['p95']:.1f} ms", raw_p95=floor["p95"],
    )  # fmt: skip
    return [
        _phase_row(f"ingest, single webhooks ({gunicorn})", single, raw_single),
        _phase_row(f"ingest, batch webhooks of {BATCH} ({gunicorn})", batch, raw_batch),
        searchable_row,
    ]
