"""The bounded load test on loopback: 50 webhook senders (one interaction a second each) for 60 s while
agents search and open customers (agent view), under gunicorn with a real worker, then the zero-lost
check: the interactions in the database equal the ones the senders had accepted, all processed.

    .venv/bin/python -m bench.load.run [--seconds 60] [--quick]

It runs on a data set of its own (bench/data: 10,000 customers / 100,000 interactions; --quick 1,000 /
10,000), loaded fresh each time because the load writes into it, and dropped at the end.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from bench.data.load import BENCH_SECRET, Dataset, ensure
from bench.data.services import ROOT, drop_database, flask_env, libpq, services_env
from bench.ingest.stack import Stack, _flask, start_gunicorn, start_worker, stop
from bench.table import Row

SENDERS, AGENTS = 50, 5


def _locust(stack: Stack, ds: Dataset, seconds: int, token: str, out: Path) -> subprocess.CompletedProcess:
    env = {**stack.env, "BENCH_LOAD_SLUG": "bench-chat", "BENCH_LOAD_SECRET": BENCH_SECRET, "BENCH_LOAD_TOKEN": token,
           "BENCH_LOAD_CUSTOMERS": str(ds.customers), "BENCH_LOAD_RESULT": str(out / "result.json"),
           "BENCH_LOAD_SENDERS": str(SENDERS), "BENCH_LOAD_AGENTS": str(AGENTS)}  # fmt: skip
    command = [sys.executable, "-m", "locust", "-f", str(Path(__file__).with_name("locustfile.py")), "--headless",
               "-u", str(SENDERS + AGENTS), "-r", str(SENDERS + AGENTS), "--run-time", f"{seconds}s",
               "--host", stack.base_url, "--csv", str(out / "load"), "--only-summary", "--stop-timeout", "10",
               "--exit-code-on-error", "0"]  # fmt: skip
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=seconds + 300)


def _stats(path: Path) -> dict[str, dict]:
    with open(path) as f:
        return {row["Name"]: row for row in csv.DictReader(f)}


def _lost_check(ds: Dataset, accepted: set[str], wait_s: int = 300) -> dict:
    """Wait for the worker to process what was accepted; compare the database with the accepted ids."""
    query = "SELECT count(*), count(processed_at) FROM interactions WHERE external_id LIKE 'load-%%'"
    deadline = time.monotonic() + wait_s
    with psycopg.connect(libpq(ds.url), autocommit=True) as conn:
        while True:
            stored, processed = conn.execute(query).fetchone()
            if processed >= stored or time.monotonic() > deadline:
                break
            time.sleep(2)
        ids = {r[0] for r in conn.execute("SELECT external_id FROM interactions WHERE external_id LIKE 'load-%%'")}
    return {"accepted": len(accepted), "stored": stored, "processed": processed, "lost": len(accepted - ids),
            "unaccounted": len(ids - accepted)}  # fmt: skip


def run(seconds: int = 60, quick: bool = False) -> dict:
    services_env()
    ds = Dataset(1000, 10_000, 101) if quick else Dataset(10_000, 100_000, 101)
    ensure(ds, force=True)
    stack = Stack(database_url=ds.url, env=flask_env(ds.name, ds.prefix, queue=f"crm-bench-load-{os.getpid()}"))
    out = Path(tempfile.mkdtemp(prefix="crm-bench-load-"))
    try:
        start_gunicorn(stack, 4)
        start_worker(stack)
        token = _flask(stack, "users", "token", "agent@bench.example").strip().splitlines()[-1]
        done = _locust(stack, ds, seconds, token, out)
        if done.returncode != 0 or not (out / "result.json").exists():
            raise SystemExit(f"locust failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        result = json.loads((out / "result.json").read_text())
        figures = {"stats": _stats(out / "load_stats.csv"), "answers": result["answers"], "seconds": seconds,
                   **_lost_check(ds, set(result["accepted"]))}  # fmt: skip
    finally:
        for proc in stack.processes:
            stop(proc)
        _drop(ds)
    return figures


def _drop(ds: Dataset) -> None:
    import requests

    drop_database(ds.name)
    requests.delete(f"{os.environ['ELASTICSEARCH_URL']}/{ds.prefix}-*", timeout=60)


def _errors(stat: dict) -> str:
    return f"{int(stat['Failure Count'])} errors of {int(stat['Request Count']):,}"


def row(fig: dict) -> Row:
    hooks = fig["stats"]["POST /webhooks/<slug>"]
    search = fig["stats"].get("GET /api/v1/search", {})
    view = fig["stats"].get("GET /api/v1/customers/<id>/agent-view", {})
    lost = f"lost {fig['lost']} ({fig['accepted']:,} accepted, {fig['stored']:,} in the database, {fig['processed']:,} processed)"
    agents = "; ".join(f"{name} p99 {stat['99%']} ms, {_errors(stat)}" for name, stat in (("search", search),
                       ("agent view", view)) if stat)  # fmt: skip
    return Row(
        f"load: {SENDERS} webhook senders (1/s each) + {AGENTS} agents, {fig['seconds']} s",
        f"{_errors(hooks)}; {lost}", float(hooks["50%"]), float(hooks["95%"]), float(hooks["99%"]),
        f"{float(hooks['Requests/s']):.0f} webhooks/s", raw="—", note=f"agents: {agents}",
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    fig = run(args.seconds, args.quick)
    r = row(fig)
    print(f"{r.name}: webhooks p50 {r.p50} / p95 {r.p95} / p99 {r.p99} ms, {r.throughput}; {r.data}; {r.note}")
    print(json.dumps({k: v for k, v in fig.items() if k != "stats"}))


if __name__ == "__main__":
    main()
