"""Search benchmark: rebuild time, outbox indexing throughput against raw bulk, and search latency.

    .venv/bin/python -m bench.search.run [--load --customers 100000 --interactions 1000000] [--queries 2000]

1. (--load) the deterministic loader fills a dedicated database (bench/search/load.py).
2. `flask search reindex`'s rebuild builds the index from it: timed, documents per second.
3. Outbox throughput: the same documents (a sample of customers and interactions) are sent to a
   scratch index with `helpers.parallel_bulk`, prebuilt (a first pass fills it; the median of the three
   overwriting passes after it is the raw figure), then the same ids are put on the outbox and drained
   into the live index (reading the rows, building the documents, versioned bulk, deleting the rows), by
   one drain, then again by two at once in two processes (as two workers share a backlog).
   Ratio = outbox / raw. Then the raw bulk and one drain again with the node on CPUs of its own
   (bench/search/cpus.py), as on hosts of its own, where building documents takes no CPU from it.
4. Search: a query mix drawn from the data (bench/search/queries.py), each query sent as the raw
   Elasticsearch request our search builds, through `crm.search` (request, database read-back,
   highlights), and through GET /api/v1/search. p50/p95/p99 and throughput of each.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import random
import statistics
import time
from collections import defaultdict
from datetime import UTC, datetime

from elasticsearch import Elasticsearch, helpers
from sqlalchemy import func, insert, select

from bench.search import cpus
from bench.search import load as loader
from bench.search.queries import make_queries
from bench.search.setup import bench_app, server_url


def percentiles(samples_ms: list[float]) -> dict:
    ordered = sorted(samples_ms)

    def at(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 2)

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "mean": round(statistics.fmean(ordered), 2)}


def rebuild_figures() -> dict:
    from crm.search.reindex import rebuild

    started = time.perf_counter()
    report = rebuild(grace_s=0, force=True, progress=True)  # the bench owns its prefix
    seconds = time.perf_counter() - started
    docs = sum(report.documents.values())
    return {"documents": report.documents, "seconds": round(seconds, 1), "docs_per_s": round(docs / seconds)}


def _sample(rng: random.Random, n: int, total: int) -> list[int]:
    return sorted(rng.sample(range(1, total + 1), min(n, total)))


def _raw_rate(es, actions: list[dict], *, threads: int) -> float:
    """Documents per second of a raw bulk of prebuilt documents (parallel_bulk, or streaming_bulk for 1)."""
    started = time.perf_counter()
    if threads > 1:
        results = helpers.parallel_bulk(es, actions, thread_count=threads, chunk_size=500)
    else:
        results = helpers.streaming_bulk(es, actions, chunk_size=500)
    for ok, item in results:
        assert ok, item
    return len(actions) / (time.perf_counter() - started)


def _scratch_actions(es, wanted: dict[str, list[int]]) -> list[dict]:
    """The sample's documents, built once, aimed at scratch indices made from the same templates."""
    from crm.extensions import db
    from crm.search import elastic, indexer, mappings

    out = []
    for entity, ids in wanted.items():
        index = mappings.index_name(elastic.prefix(), entity, mappings.VERSION, "rawbench")
        es.indices.delete(index=index, ignore_unavailable=True)
        es.indices.create(index=index)
        for start in range(0, len(ids), 1000):
            docs = indexer.docs_for(entity, ids[start : start + 1000])
            out += [{"_index": index, "_id": str(i), "_source": d} for i, d in docs.items() if d]
    db.session.rollback()
    return out


def _live_actions(es, sent: list[dict]) -> list[dict]:
    """The same documents as the very requests a drain makes: to the live write aliases, versioned."""
    from crm.extensions import db
    from crm.search import elastic, indexer

    targets = elastic.write_targets(es)
    version = indexer.clock_us()
    db.session.rollback()
    out = []
    for action in sent:
        entity = elastic.entity_of(action["_index"])
        out += indexer.actions(entity, {int(action["_id"]): action["_source"]}, targets[entity], version)
    return out


def _drain_until_empty() -> None:
    from crm.extensions import db
    from crm.search.models import OutboxEntry
    from crm.search.outbox import drain

    while db.session.scalar(select(func.count()).select_from(OutboxEntry)):
        drain(limit=1_000_000)


def _drainer(app, ready, go) -> None:
    """A forked process draining as a worker does: a pool and a client of its own, then drains until empty."""
    from crm.extensions import db

    with app.app_context():
        db.engine.dispose(close=False)  # the parent's connections stay the parent's
        app.extensions.pop("crm.es", None)
        ready.set()
        go.wait()
        _drain_until_empty()


def _outbox_rate(wanted: dict[str, list[int]], processes: int = 1) -> float:
    """Documents per second through the outbox: the ids queued, then drained by one process, or by
    `processes` at once (as that many workers take the drains a backlog queues; their claims skip each
    other's rows)."""
    from flask import current_app

    from crm.extensions import db
    from crm.search.models import OutboxEntry

    rows = [{"entity": e, "entity_id": i} for e, ids in wanted.items() for i in ids]
    db.session.execute(insert(OutboxEntry), rows)
    db.session.commit()
    if processes == 1:
        started = time.perf_counter()
        _drain_until_empty()
        return len(rows) / (time.perf_counter() - started)
    context = multiprocessing.get_context("fork")
    app = current_app._get_current_object()
    go, readies = context.Event(), [context.Event() for _ in range(processes)]
    children = [context.Process(target=_drainer, args=(app, ready, go)) for ready in readies]
    for child in children:
        child.start()
    for ready in readies:
        ready.wait(60)
    started = time.perf_counter()
    go.set()
    for child in children:
        child.join()
    seconds = time.perf_counter() - started
    failed = [c.exitcode for c in children if c.exitcode]
    if failed or db.session.scalar(select(func.count()).select_from(OutboxEntry)):
        raise SystemExit(f"outbox drain in {processes} processes failed (exit codes {failed})")
    db.session.rollback()
    return len(rows) / seconds


def _wait_for_merges(es, timeout_s: float = 180) -> None:
    """Until the node has no merge running: the drains rewrote 100k documents of the live indices, and
    the steps after this one (search, agent view) would otherwise be timed during the merges that follow."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not es.indices.stats(metric="merge")["_all"]["total"]["merges"]["current"]:
            return
        time.sleep(1)


def indexing_figures(customers: int, interactions: int, n_customers: int, n_interactions: int) -> dict:
    from crm.search import elastic

    rng = random.Random(5)
    wanted = {
        "customer": _sample(rng, n_customers, customers),
        "interaction": _sample(rng, n_interactions, interactions),
    }
    es = elastic.client()
    actions = _scratch_actions(es, wanted)
    _raw_rate(es, actions, threads=2)  # fills the scratch indices: the timed passes overwrite, as the drain does
    es.indices.refresh(index=f"{elastic.prefix()}-*-rawbench")

    def quiet(measure, *args, **kwargs) -> float:
        # Every timed pass starts on a node with no merge running: otherwise each pays for the one before
        # it (the raw figure moved by half from one pass to the next), and the drains for the raw passes.
        _wait_for_merges(es)
        return measure(*args, **kwargs)

    parallel = statistics.median(quiet(_raw_rate, es, actions, threads=2) for _ in range(3))
    streaming = quiet(_raw_rate, es, actions, threads=1)
    # The app's client serializes with orjson; a client left at its defaults (the standard library's
    # json) is slower at the same bulk, printed so the ratio's baseline is plain to see.
    plain = quiet(_raw_rate, Elasticsearch(es.transport.node_pool.get().base_url), actions, threads=2)
    # The very requests the drain makes, made directly: into the live indices (larger than the scratch
    # ones, so dearer to write to), versioned as the drain versions them.
    live = statistics.median(quiet(_raw_rate, es, _live_actions(es, actions), threads=2) for _ in range(3))
    outbox = quiet(_outbox_rate, wanted)
    outbox_two = quiet(_outbox_rate, wanted, processes=2)
    # Again with the node on CPUs of its own, as on hosts of its own (bench/search/cpus.py): the raw bulk
    # and one drain, where neither takes CPU from the node.
    split_figures: dict = {}
    with cpus.split(es) as split:
        if split is not None:
            split_raw = statistics.median(quiet(_raw_rate, es, actions, threads=2) for _ in range(3))
            split_outbox = quiet(_outbox_rate, wanted)
            split_figures = {
                "split_cpus": split,
                "split_raw_parallel_bulk_docs_per_s": round(split_raw),
                "split_outbox_drain_docs_per_s": round(split_outbox),
                "split_ratio_to_parallel_bulk": round(split_outbox / split_raw, 2),
            }
    es.indices.delete(index=f"{elastic.prefix()}-*-rawbench", ignore_unavailable=True)
    _wait_for_merges(es)
    return {
        **split_figures,
        "documents": len(actions),
        "raw_parallel_bulk_docs_per_s": round(parallel),
        "raw_parallel_bulk_live_docs_per_s": round(live),
        "ratio_to_parallel_bulk_live": round(outbox / live, 2),
        "two_drains_ratio_to_parallel_bulk_live": round(outbox_two / live, 2),
        "raw_parallel_bulk_default_client_docs_per_s": round(plain),
        "ratio_to_default_client_parallel_bulk": round(outbox / plain, 2),
        "raw_streaming_bulk_docs_per_s": round(streaming),
        "outbox_drain_docs_per_s": round(outbox),
        "ratio_to_parallel_bulk": round(outbox / parallel, 2),
        "ratio_to_streaming_bulk": round(outbox / streaming, 2),
        "outbox_two_drains_docs_per_s": round(outbox_two),
        "two_drains_ratio_to_parallel_bulk": round(outbox_two / parallel, 2),
        "two_drains_ratio_to_default_client_parallel_bulk": round(outbox_two / plain, 2),
    }


def _measure(query, es, client, headers) -> tuple[float, float, float, bool]:
    """Milliseconds of the raw request, of crm.search, of the API; and whether anything was found."""
    from crm import search
    from crm.search import es_query
    from crm.search.query import SearchRequest
    from crm.search.results import present

    params = dict(query.params)
    request = SearchRequest(
        query=search.parse_query(query.q),
        channels=[params["channel"]] if "channel" in params else [],
        segment_id=params.get("segment"),
    )
    body = es_query.msearch_body(es_query.searches(request, []))
    t0 = time.perf_counter()
    es.msearch(searches=body)
    t1 = time.perf_counter()
    present(search.search(request), request.query)
    t2 = time.perf_counter()
    response = client.get("/api/v1/search", query_string={"q": query.q, **params}, headers=headers)
    t3 = time.perf_counter()
    assert response.status_code == 200, response.json
    return (t1 - t0) * 1000, (t2 - t1) * 1000, (t3 - t2) * 1000, bool(response.json["items"])


NAMES = ("raw Elasticsearch msearch", "crm.search (+ rows, highlights)", "GET /api/v1/search")


def search_figures(customers: int, count: int, warmup: int) -> dict:
    from crm.auth import tokens
    from crm.extensions import db
    from crm.search import elastic

    queries = make_queries(count + warmup, customers)
    user = tokens.create_user(f"bench{time.time_ns()}@bench.example", "agent", "bench-password")
    _, token = tokens.issue_token(user, "bench")
    db.session.commit()
    client, headers, es = _app().test_client(), {"Authorization": f"Bearer {token}"}, elastic.client()
    samples: dict[str, list[float]] = defaultdict(list)
    by_kind: dict[str, list[float]] = defaultdict(list)
    found = 0
    for n, query in enumerate(queries):
        timings = _measure(query, es, client, headers)
        db.session.rollback()
        if n < warmup:
            continue
        found += timings[3]
        for name, value in zip(NAMES, timings[:3], strict=True):
            samples[name].append(value)
        by_kind[query.kind].append(timings[2])
    out = {name: {**percentiles(v), "per_s": round(1000 / statistics.fmean(v), 1)} for name, v in samples.items()}
    out["api_vs_raw_p95"] = round(out[NAMES[2]]["p95"] / out[NAMES[0]]["p95"], 2)
    out["by_kind_api_p95_ms"] = {k: percentiles(v)["p95"] for k, v in sorted(by_kind.items())}
    out["queries"], out["with_results"] = count, found
    return out


_APP = {}


def _app():
    return _APP["app"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--load", action="store_true", help="(re)load the database first")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database", default="crm_bench_search")
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--outbox-customers", type=int, default=10_000)
    parser.add_argument("--outbox-interactions", type=int, default=40_000)
    parser.add_argument("--steps", default="rebuild,indexing,search", help="comma-separated, in this order")
    parser.add_argument(
        "--indexing-without-segment-fields",
        action="store_true",
        help="also measure indexing with the segments package's fields left out of customer documents",
    )
    args = parser.parse_args()
    steps = set(args.steps.split(","))
    dsn = server_url().rsplit("/", 1)[0] + f"/{args.database}"
    figures: dict = {"date": datetime.now(UTC).strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, 2 cores"}
    if args.load:
        dsn = loader.recreate_database(server_url(), args.database)
        loader.migrate_and_add_sources(bench_app(dsn))
        figures["load"] = loader.load(dsn, args.customers, args.interactions, args.seed)
    app = _APP["app"] = bench_app(dsn)
    with app.app_context():
        from crm.extensions import db
        from crm.profiles.models import Customer, Interaction

        customers = db.session.scalar(select(func.count()).select_from(Customer))
        interactions = db.session.scalar(select(func.count()).select_from(Interaction))
        figures["data"] = {"customers": customers, "interactions": interactions}
        if "rebuild" in steps:
            figures["rebuild"] = rebuild_figures()
        if "indexing" in steps:
            n_c, n_i = args.outbox_customers, args.outbox_interactions
            figures["indexing"] = indexing_figures(customers, interactions, n_c, n_i)
            if args.indexing_without_segment_fields:
                from crm.search import mappings

                real = mappings.segment_extension
                mappings.segment_extension = lambda: ({}, None)
                try:
                    figures["indexing without segment_fields"] = indexing_figures(customers, interactions, n_c, n_i)
                finally:
                    mappings.segment_extension = real
        if "search" in steps:
            figures["search"] = search_figures(customers, args.queries, args.warmup)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
