"""The one benchmark command: load (or reuse) the shared data set, run every benchmark on it, print one table.

    .venv/bin/python -m bench [--quick] [--only search,agent_view] [--readme]

After `bash scripts/services.sh`. The data set (bench/data) is 100,000 customers and 1,000,000
interactions (--quick: 2,000 / 20,000), COPY-loaded into a database of its own and reused while its
version and size match; `flask search reindex` builds its index. The ingest, webhook → searchable and
load steps run on a fresh database of their own under gunicorn with a real worker (bench/ingest's
stack). Each row has p50/p95/p99 and throughput and, where one applies, the raw Elasticsearch or
PostgreSQL operation on the same data in the same run and the ratio to it; targets from the issues
are checked and a miss says by how much. --readme writes the table at the top of bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
import traceback
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from bench import table
from bench.data.load import VERSION, Dataset, ensure, reindex
from bench.data.services import ROOT, bench_app, services_env
from bench.table import Row, millis

RESULTS = Path(__file__).resolve().parent / "out"  # ignored by git
STEPS = ("reindex", "indexing", "search", "agent_view", "segments", "ingest", "load", "identity")
SIZES = {
    "full": {"customers": 100_000, "interactions": 1_000_000, "queries": 2000, "views": 1000, "previews": 30,
             "outbox": (10_000, 40_000), "single": 3000, "batches": 200, "probes": 50, "load_s": 60, "persons": 2000},
    "quick": {"customers": 2000, "interactions": 20_000, "queries": 200, "views": 100, "previews": 3,
              "outbox": (500, 2000), "single": 300, "batches": 20, "probes": 10, "load_s": 15, "persons": 300},
}  # fmt: skip


def step_reindex(ds: Dataset, size: dict, state: dict) -> list[Row]:
    try:
        seconds = reindex(ds)
    except RuntimeError as exc:  # the shared node restarted under it (fault tests run on this machine): once more
        print(f"[bench] reindex failed ({str(exc).splitlines()[-1][:200]}); waiting for Elasticsearch, then again")
        _wait_for_elasticsearch()
        seconds = reindex(ds)
    docs = ds.customers + ds.interactions
    state["reindex_docs_per_s"] = docs / seconds
    return [Row("reindex (`flask search reindex`)", f"{docs:,} documents", None, None, None,
                f"{docs / seconds:,.0f} docs/s ({seconds:.0f} s)", raw="raw parallel_bulk of prebuilt documents",
                ratio_of=("reindex_docs_per_s", "raw_bulk_docs_per_s"))]  # fmt: skip


def _wait_for_elasticsearch(timeout_s: float = 300) -> None:
    import requests

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{os.environ['ELASTICSEARCH_URL']}/_cluster/health", timeout=5).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(3)


def step_indexing(ds: Dataset, size: dict, state: dict) -> list[Row]:
    from bench.search.run import indexing_figures

    with bench_app(ds.name, ds.prefix).app_context():
        fig = indexing_figures(ds.customers, ds.interactions, *size["outbox"])
    print("[bench] indexing figures:", json.dumps(fig), flush=True)
    state["raw_bulk_docs_per_s"] = fig["raw_parallel_bulk_docs_per_s"]
    plain = (
        f"; the drain's own requests (live indices, versioned) {fig['raw_parallel_bulk_live_docs_per_s']:,} docs/s, ratio {fig['ratio_to_parallel_bulk_live']}"
        f"; with a default client (stdlib json) {fig['raw_parallel_bulk_default_client_docs_per_s']:,} docs/s, ratio {fig['ratio_to_default_client_parallel_bulk']}"
    )
    return [Row("outbox drain into the index", f"{fig['documents']:,} documents", None, None, None,
                f"{fig['outbox_drain_docs_per_s']:,} docs/s", raw=f"parallel_bulk, the app's client (orjson) {fig['raw_parallel_bulk_docs_per_s']:,} docs/s{plain}",
                ratio=fig.get("ratio_to_parallel_bulk", fig.get("ratio")), target=("ratio", 0.5, "min")),
            Row("outbox drain, two drains at once (two workers)", f"{fig['documents']:,} documents", None, None, None,
                f"{fig['outbox_two_drains_docs_per_s']:,} docs/s", raw=f"the same parallel_bulk; the drain's own requests, ratio {fig['two_drains_ratio_to_parallel_bulk_live']}; with a default client, ratio {fig['two_drains_ratio_to_default_client_parallel_bulk']}",
                ratio=fig["two_drains_ratio_to_parallel_bulk"], target=("ratio", 0.5, "min"))] + _split_rows(fig)  # fmt: skip


def _split_rows(fig: dict) -> list[Row]:
    """The node on CPUs of its own (bench/search/cpus.py), when this machine allowed it."""
    if "split_cpus" not in fig:
        return []
    cpus = fig["split_cpus"]
    return [Row(f"outbox drain, Elasticsearch on CPU {','.join(map(str, cpus['elasticsearch']))} of its own "
                f"(the rest on {','.join(map(str, cpus['rest']))})", f"{fig['documents']:,} documents", None, None, None,
                f"{fig['split_outbox_drain_docs_per_s']:,} docs/s",
                raw=f"parallel_bulk, the node pinned the same way, {fig['split_raw_parallel_bulk_docs_per_s']:,} docs/s",
                ratio=fig["split_ratio_to_parallel_bulk"], target=("ratio", 0.5, "min"))]  # fmt: skip


def step_search(ds: Dataset, size: dict, state: dict) -> list[Row]:
    from bench.search import run as search_run

    app = search_run._APP["app"] = bench_app(ds.name, ds.prefix)
    with app.app_context():
        fig = search_run.search_figures(ds.customers, size["queries"], size["queries"] // 10)
    raw, api = fig[search_run.NAMES[0]], fig[search_run.NAMES[2]]
    return [Row("search (GET /api/v1/search)", f"{fig['queries']:,} queries", api["p50"], api["p95"], api["p99"],
                f"{api['per_s']:.0f} searches/s (1 client)", raw=f"the same ES request: p95 {raw['p95']:.1f} ms",
                ratio=fig["api_vs_raw_p95"], target=("p95", 30.0, "max"))]  # fmt: skip


def step_agent_view(ds: Dataset, size: dict, state: dict) -> list[Row]:
    from bench.agent_view import run as av

    app = bench_app(ds.name, ds.prefix, redis=True, queue="crm-bench-agent-view")
    with app.app_context():
        from crm.auth import tokens
        from crm.extensions import db
        from crm.personalization.catalog_db import build_product_model

        build_product_model()
        user = tokens.create_user(f"bench{time.time_ns()}@bench.example", "agent", "bench-password")
        _, token = tokens.issue_token(user, "bench")
        db.session.commit()
    ids = av.sample_ids(app, size["views"], ds.seed)[: size["views"]]
    client = app.test_client()
    app.config["AGENT_VIEW_CACHE_S"] = 0
    av.time_views(client, token, ids[:20])  # warm the pool, the lexicon and the product table
    cold = [s * 1000 for s in av.time_views(client, token, ids)]
    app.config["AGENT_VIEW_CACHE_S"] = 300
    av.time_views(client, token, ids)
    warm = [s * 1000 for s in av.time_views(client, token, ids)]
    _, raw = av.time_raw(app, ds.url, ids, True)
    raw_ms = millis([s * 1000 for s in raw])
    raw_text = f"its PostgreSQL reads + ES aggregation: p95 {raw_ms['p95']:.1f} ms"
    return [
        Row.of("agent view, computed (cache off)", f"{len(ids):,} random customers", cold, "views/s", raw=raw_text,
               raw_p95=raw_ms["p95"], target=("p95", 50.0, "max")),
        Row.of("agent view, cached (Redis)", f"{len(ids):,} random customers", warm, "views/s", raw=raw_text,
               raw_p95=raw_ms["p95"], target=("p95", 50.0, "max")),
    ]  # fmt: skip


def step_segments(ds: Dataset, size: dict, state: dict) -> list[Row]:
    from bench.segments.run import run as preview_run

    fig = preview_run(size["previews"], ds.name, ds.prefix)
    p, c = fig["preview_ms"], fig["raw_count_ms"]
    return [Row("segment preview (POST /api/v1/segments/preview)", f"{fig['samples']} previews of 8 rule trees",
                p["p50"], p["p95"], p["p99"], f"{fig['previews_per_s']:.0f} previews/s (1 client)",
                raw=f"ES _count of the same query: p95 {c['p95']:.1f} ms", ratio=fig["ratio_p95"],
                target=("p95", 200.0, "max"))]  # fmt: skip


def step_ingest(ds: Dataset, size: dict, state: dict) -> list[Row]:
    from bench.load import ingest

    return ingest.rows(size)


def step_load(ds: Dataset, size: dict, state: dict) -> list[Row]:
    from bench.load import run as load_run

    return [load_run.row(load_run.run(size["load_s"], quick=size["customers"] < 100_000))]


def step_identity(ds: Dataset, size: dict, state: dict) -> list[Row]:
    """bench/identity's end-to-end run (its own generator with noise, through the intake and pipeline)."""
    command = [
        sys.executable,
        "-m",
        "bench.identity.run_pipeline",
        "--persons",
        str(size["persons"]),
        "--part",
        "merges",
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    found = re.search(r"precision ([\d.]+) recall ([\d.]+)", done.stdout)
    if done.returncode != 0 or not found:
        raise SystemExit(f"bench.identity.run_pipeline failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    precision, recall = float(found.group(1)), float(found.group(2))
    rows = [Row("identity: automatic merges, precision", f"{size['persons']:,} people (bench/identity, seed 2)", None,
                None, None, "—", ratio=precision, target=("ratio", 1.0, "min"), note="ratio column = precision"),
            Row("identity: automatic merges, recall", f"{size['persons']:,} people (bench/identity, seed 2)", None,
                None, None, "—", ratio=recall, target=("ratio", 0.99, "min"), note="ratio column = recall")]  # fmt: skip
    return rows


def run_steps(ds: Dataset, size: dict, steps: list[str], saved: Path) -> dict:
    """Run the steps in order; each one's rows are saved as soon as it ends (bench/out/, kept between runs),
    so a step that fails costs only its own row and `--only` runs complete the table of an earlier one."""
    results = json.loads(saved.read_text()) if saved.exists() else {}
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    for step in (s for s in STEPS if s in steps):
        print(f"[bench] {step} ...", flush=True)
        state: dict = dict(results.get("_state", {}))
        try:
            rows = globals()[f"step_{step}"](ds, size, state)
        except (Exception, SystemExit) as exc:  # one broken step must not cost the others' figures
            traceback.print_exc()
            rows = [Row(f"{step}: failed", f"{type(exc).__name__}: {exc}"[:300], None, None, None, "—")]
        results[step] = {"date": today, "rows": [asdict(r) for r in rows]}
        results["_state"] = state
        saved.parent.mkdir(parents=True, exist_ok=True)
        saved.write_text(json.dumps(results, indent=1, default=str))
    for step, result in results.items():
        if step != "_state" and result["date"] != today:
            for row in result["rows"]:
                row["note"] = ", ".join(n for n in (row["note"], f"figures of {result['date']}") if n)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 customers / 20,000 interactions, few samples")
    parser.add_argument("--only", default=",".join(STEPS), help=f"comma-separated steps of: {', '.join(STEPS)}")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--force-load", action="store_true", help="load the data set again even when it is there")
    parser.add_argument("--readme", action="store_true", help="write the table at the top of bench/README.md")
    args = parser.parse_args()
    steps = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(steps) - set(STEPS))
    if unknown:
        parser.error(f"unknown step(s) {', '.join(unknown)}; the steps are {', '.join(STEPS)}")
    size = SIZES["quick" if args.quick else "full"]
    services_env()
    ds = Dataset(size["customers"], size["interactions"], args.seed)
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    print(f"[bench] data set {ds.name}: loading unless present ...", flush=True)
    loaded = ensure(ds, force=args.force_load, index=False)
    print(f"[bench] data set {'reused' if loaded['reused'] else 'loaded'} ({loaded['load_s']} s to load)", flush=True)
    if not loaded["reused"] and "reindex" not in steps:
        steps.insert(0, "reindex")  # a fresh load has no index yet: the other steps read it
    results = run_steps(ds, size, steps, RESULTS / f"last-{'quick' if args.quick else 'full'}.json")
    rows = [Row(**r) for step in STEPS if step in results for r in results[step]["rows"]]
    state = results.get("_state", {})
    context = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "data": f"{ds.customers:,} customers / {ds.interactions:,} interactions (seed {ds.seed}, bench/data v{VERSION})",
        "load": f"{loaded['load_s']} s to generate and COPY" + (" (reused)" if loaded["reused"] else ""),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average": f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after (shared with other engineers' runs)",
        "seconds": round(time.perf_counter() - started),
        "command": "python -m bench" + (" --quick" if args.quick else ""),
    }
    text = table.render(rows, state, context)
    print("\n" + text)
    if args.readme:
        table.write_readme(text)
        print("[bench] bench/README.md updated", file=sys.stderr)


if __name__ == "__main__":
    main()
