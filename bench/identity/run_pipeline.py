"""End-to-end identity benchmark: the generated data through the real intake and pipeline, on a real
database, and precision and recall of what comes out.

    .venv/bin/python -m bench.identity.run_pipeline --persons 10000 --seed 2            # PostgreSQL
    .venv/bin/python -m bench.identity.run_pipeline --persons 1000 --sqlite            # embedded
    .venv/bin/python -m bench.identity.run_pipeline --part merges --workers 2          # real rq workers

Merges: the generator's interactions (bench/identity/generate.py `make_interactions`: noisy emails and
phones, plus-tags, failed parses, the shop's shared identifiers) are stored by the intake and processed
one by one in arrival order by `crm.pipeline.process_interaction`, which resolves, merges and records.
Two interactions must end on one customer when the identifiers they truly carry connect them (the
merges the identifiers allow), and never otherwise: pairwise precision and recall over interactions.

Suggestions: the generator's profiles (`make_profiles`: a person's second and third profiles share no
identifier) go through the same pipeline, one interaction each, so the duplicate suggestions computed
after each processed interaction are the ones measured; then `flask identity suggest` (the bulk pass)
is timed and measured again, with the plain name-similarity baseline on the same candidate pairs.
"""

from __future__ import annotations

import argparse
import platform
import time
from collections import Counter
from datetime import date

import numpy as np
from sqlalchemy import select, text
from tqdm import tqdm

from bench.identity.e2e_setup import bench_database, interaction_item, make_app, make_sources, profile_item, store
from bench.identity.generate import make_interactions, make_profiles
from bench.identity.population import make_people


def pairs_in(groups) -> int:
    return sum(n * (n - 1) // 2 for n in groups)


def figures(predicted: list[int | None], truth: list[int]) -> dict:
    """Pairwise precision and recall of a clustering of items (predicted label per item) against the truth."""
    both = Counter(zip(predicted, truth, strict=True))
    found, real = pairs_in(Counter(predicted).values()), pairs_in(Counter(truth).values())
    correct = pairs_in(both.values())
    return {
        "pairs": found,
        "true_pairs": real,
        "correct": correct,
        "precision": correct / found if found else 1.0,
        "recall": correct / real if real else 1.0,
    }


def key_components(blocks) -> list[int]:
    """The component of each block when blocks sharing a true identifier key are joined."""
    parent = list(range(len(blocks)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict = {}
    for index, block in enumerate(blocks):
        for key in block.keys:
            if key in first:
                parent[find(index)] = find(first[key])
            else:
                first[key] = index
    return [find(i) for i in range(len(blocks))]


def process(ids: list[int], label: str) -> np.ndarray:
    """Each interaction through the pipeline, in order, timed one by one (ms).

    The database may restart under a long run (other people's fault tests share the server): the
    interaction is then processed again once it is back, which the pipeline allows (idempotent), and
    the attempt that failed is left out of the latencies.
    """
    from crm.pipeline import after_processing, process_interaction

    took = []
    for iid in tqdm(ids, desc=label, unit="interaction"):
        started = time.perf_counter()
        if _with_retries(process_interaction, iid):
            took.append((time.perf_counter() - started) * 1000)
    after_processing()
    return np.array(took)


def _with_retries(fn, *args, attempts: int = 30) -> bool:
    """fn(*args); True when the first attempt succeeded, False when it took retries after a lost connection."""
    from sqlalchemy.exc import OperationalError

    from crm.extensions import db

    for attempt in range(attempts):
        try:
            fn(*args)
            return attempt == 0
        except OperationalError:  # the server went away or refuses connections for now; anything else is a bug
            db.session.rollback()
            time.sleep(2)
    raise SystemExit(f"the database stayed away for {attempts * 2} s")


def raw_transactions(ids: list[int]) -> np.ndarray:
    """The least a processing job must do per interaction: lock its row, write it, commit (ms)."""
    from crm.extensions import db

    lock = " FOR UPDATE" if db.engine.dialect.name == "postgresql" else ""
    took = []
    for iid in ids:
        started = time.perf_counter()
        db.session.execute(text(f"SELECT id, processed_at FROM interactions WHERE id = :id{lock}"), {"id": iid})
        db.session.execute(text("UPDATE interactions SET last_error = NULL WHERE id = :id"), {"id": iid})
        db.session.commit()
        took.append((time.perf_counter() - started) * 1000)
    return np.array(took)


def latency_line(name: str, ms: np.ndarray, raw: np.ndarray) -> str:
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    r50 = float(np.percentile(raw, 50))
    return (
        f"{name}: p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms, {1000 * len(ms) / ms.sum():.0f} interactions/s "
        f"in one process; raw lock+update+commit p50 {r50:.2f} ms (pipeline/raw {p50 / r50:.0f}x)"
    )


def customers_of(ids: list[int]) -> list[int | None]:
    from crm.extensions import db
    from crm.profiles.models import Interaction

    found = dict(db.session.execute(select(Interaction.id, Interaction.customer_id)).all())
    return [found.get(i) for i in ids]


def throughput_line(wall_s: float, count: int, workers: int, raw: np.ndarray) -> str:
    rate, raw_rate = count / wall_s, 1000 * len(raw) / raw.sum()
    return (
        f"pipeline with {workers} rq worker processes: {count} interactions in {wall_s:.1f} s, {rate:.0f} interactions/s; "
        f"raw lock+update+commit in one process {raw_rate:.0f}/s (raw/pipeline {raw_rate / rate:.0f}x)"
    )


def run_merges(app, persons: int, seed: int, workers: int = 0) -> dict:
    people = make_people(persons, seed)
    blocks = make_interactions(people, seed)
    items = [(b.source_slug, interaction_item(n, b)) for n, b in enumerate(blocks)]
    if workers:
        from bench.identity.e2e_workers import use_queue

        use_queue(app)
    with app.app_context():
        sources = make_sources()
        with tqdm(total=len(items), desc="storing interactions", unit="interaction") as bar:
            ids = store(sources, items, bar)
        if workers:
            from bench.identity.e2e_workers import process_with_workers

            wall = process_with_workers(app, ids, workers, "processing (merges)")
        else:
            ms = process(ids, "processing (merges)")
        raw = raw_transactions(ids[: min(len(ids), 2000)])
        customers = customers_of(ids)
        result = figures(customers, key_components(blocks))
        from crm.extensions import db
        from crm.profiles.models import Merge

        result["merges"] = db.session.scalar(select(text("count(*)")).select_from(Merge)) or 0
    by_customer: dict[int | None, set[int]] = {}
    for customer, block in zip(customers, blocks, strict=True):
        by_customer.setdefault(customer, set()).add(block.person_id)
    result.update(
        people=len(people),
        interactions=len(blocks),
        customers=len(by_customer),
        mixed_customers=sum(1 for persons_ in by_customer.values() if len(persons_) > 1),
        latency=throughput_line(wall, len(ids), workers, raw)
        if workers
        else latency_line("pipeline per interaction", ms, raw),
    )
    return result


def suggestion_figures(customers: list[int], persons: list[int]) -> dict:
    """Precision and recall of the open suggestions over pairs of customers of one person."""
    from crm.extensions import db
    from crm.profiles.models import Customer, DuplicateSuggestion

    person_of: dict[int, set[int]] = {}
    for customer, person in zip(customers, persons, strict=True):
        person_of.setdefault(customer, set()).add(person)
    active = set(db.session.scalars(select(Customer.id).where(Customer.status == "active")))
    label = {c: min(p) for c, p in person_of.items() if c in active}
    truth = pairs_in(Counter(label.values()).values())
    suggested = db.session.execute(
        select(DuplicateSuggestion.customer_a_id, DuplicateSuggestion.customer_b_id).where(
            DuplicateSuggestion.status == "open"
        )
    ).all()
    correct = sum(1 for a, b in suggested if a in label and label.get(a) == label.get(b))
    return {
        "suggested": len(suggested),
        "correct": correct,
        "true_pairs": truth,
        "precision": correct / len(suggested) if suggested else 1.0,
        "recall": correct / truth if truth else 1.0,
    }


def baseline(label: dict[int, int], threshold: float) -> dict:
    """Plain name similarity on the same candidate pairs the scorer sees."""
    from crm.profiles.similarity import candidate_pairs, name_similarity_baseline
    from crm.profiles.suggestions import load_records

    records = load_records()
    pairs = list(candidate_pairs(records))
    truth = pairs_in(Counter(label.get(r.customer_id) for r in records).values())
    found = [(a, b) for a, b in pairs if name_similarity_baseline(records[a], records[b]) >= threshold]
    correct = sum(1 for a, b in found if label.get(records[a].customer_id) == label.get(records[b].customer_id))
    return {
        "candidate_pairs": len(pairs),
        "suggested": len(found),
        "correct": correct,
        "precision": correct / len(found) if found else 1.0,
        "recall": correct / truth if truth else 1.0,
    }


def raw_reads() -> float:
    """The rows `identity suggest` reads, read raw (s)."""
    from crm.extensions import db

    started = time.perf_counter()
    for sql in (
        "SELECT customer_id, key, origin, value FROM customer_attributes",
        "SELECT customer_id, kind, value FROM identifiers",
        "SELECT customer_id, identifiers FROM interactions WHERE customer_id IS NOT NULL",
    ):
        db.session.execute(text(sql)).all()
    db.session.rollback()
    return time.perf_counter() - started


def run_suggestions(app, persons: int, seed: int, baseline_threshold: float) -> dict:
    from crm.profiles.suggestions import suggest_everyone

    people = make_people(persons, seed)
    profiles = make_profiles(people, seed)
    items = [("web", profile_item(n, p)) for n, p in enumerate(profiles)]
    with app.app_context():
        sources = make_sources()
        with tqdm(total=len(items), desc="storing profiles", unit="profile") as bar:
            ids = store(sources, items, bar)
        ms = process(ids, "processing (suggestions)")
        raw = raw_transactions(ids[: min(len(ids), 2000)])
        customers = customers_of(ids)
        persons_ = [p.person_id for p in profiles]
        after_each = suggestion_figures(customers, persons_)
        started = time.perf_counter()
        stats = suggest_everyone()
        bulk_s = time.perf_counter() - started
        bulk = suggestion_figures(customers, persons_)
        raw_s = raw_reads()
        label = {c: p for c, p in zip(customers, persons_, strict=True)}
        base = baseline(label, baseline_threshold)
    return {
        "profiles": len(profiles),
        "customers": stats["customers"],
        "after_each": after_each,
        "bulk": bulk,
        "bulk_s": bulk_s,
        "raw_s": raw_s,
        "candidate_pairs": stats["candidate_pairs"],
        "phases": stats["seconds"],
        "baseline": base,
        "latency": latency_line("pipeline per profile (with its suggestions)", ms, raw),
    }


def report(merges: dict | None, suggestions: dict | None, args) -> None:
    print(f"\n{date.today()} seed {args.seed}, {args.persons} people, {platform.machine()} {platform.python_version()}")
    if suggestions:
        from crm.profiles.similarity import THRESHOLD

        print(f"suggestion threshold {THRESHOLD if args.threshold is None else args.threshold}")
    if merges:
        print(
            f"merges: {merges['interactions']} interactions of {merges['people']} people -> {merges['customers']} "
            f"customers, {merges['merges']} merges recorded; pairs the identifiers allow {merges['true_pairs']}, "
            f"merged {merges['pairs']} (correct {merges['correct']}): precision {merges['precision']:.4f} "
            f"recall {merges['recall']:.4f}; customers mixing two people: {merges['mixed_customers']}"
        )
        print(f"  {merges['latency']}")
    if suggestions:
        s = suggestions
        for label, fig in (("after each interaction", s["after_each"]), ("after `identity suggest`", s["bulk"])):
            print(
                f"suggestions {label}: {fig['suggested']} open, {fig['correct']} correct of {fig['true_pairs']} true "
                f"pairs: precision {fig['precision']:.4f} recall {fig['recall']:.4f}"
            )
        b = s["baseline"]
        print(
            f"baseline (name ratio >= {args.baseline_threshold}) on the same {b['candidate_pairs']} candidate pairs: "
            f"{b['suggested']} suggested, precision {b['precision']:.4f} recall {b['recall']:.4f}"
        )
        print(
            f"`identity suggest` over {s['customers']} customers ({s['candidate_pairs']} candidate pairs): "
            f"{s['bulk_s']:.1f} s ({', '.join(f'{k} {v} s' for k, v in s['phases'].items())}); "
            f"raw reads of the same rows {s['raw_s']:.2f} s (ratio {s['bulk_s'] / s['raw_s']:.0f}x)"
        )
        print(f"  {s['latency']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--part", choices=("merges", "suggestions", "both"), default="both")
    parser.add_argument("--sqlite", action="store_true", help="a temporary SQLite file instead of PostgreSQL")
    parser.add_argument("--baseline-threshold", type=float, default=None)
    parser.add_argument(
        "--threshold", type=float, default=None, help="suggestions: DUPLICATE_THRESHOLD (default the product's)"
    )
    parser.add_argument(
        "--workers", type=int, default=0, help="merges: process with this many real `flask worker` processes on Redis"
    )
    args = parser.parse_args()
    if args.baseline_threshold is None:
        from bench.identity.run_suggestions import BASELINE_THRESHOLD

        args.baseline_threshold = BASELINE_THRESHOLD
    merges = suggestions = None
    if args.part in ("merges", "both"):
        with bench_database(args.sqlite) as url:
            merges = run_merges(make_app(url), args.persons, args.seed, args.workers)
    if args.part in ("suggestions", "both"):
        with bench_database(args.sqlite) as url:
            app = make_app(url, DUPLICATE_THRESHOLD=args.threshold)
            suggestions = run_suggestions(app, args.persons, args.seed, args.baseline_threshold)
    report(merges, suggestions, args)


if __name__ == "__main__":
    main()
