"""Pure-scoring benchmark of duplicate suggestions: crm.profiles.similarity against a plain
name-similarity baseline, on the same generated profiles and the same candidate pairs.

    .venv/bin/python -m bench.identity.run_suggestions --persons 10000 --seed 2

Ground truth: two profiles are a duplicate when the generator made both from one person. Tune on one
seed, report on another (README.md records which).
"""

from __future__ import annotations

import argparse
import re
import time
from collections import Counter
from itertools import combinations

from rapidfuzz.distance import OSA

from bench.identity.generate import Profile, make_profiles
from bench.identity.population import make_people
from crm.profiles.similarity import (
    THRESHOLD,
    Frequencies,
    PersonRecord,
    candidate_pairs,
    explain_pair,
    name_similarity_baseline,
)

# Chosen on the tuning seed as the baseline's best F1 threshold, so the comparison is fair to it.
BASELINE_THRESHOLD = 0.95


def true_pairs(profiles: list[Profile]) -> set[tuple[int, int]]:
    by_person: dict[int, list[int]] = {}
    for index, profile in enumerate(profiles):
        by_person.setdefault(profile.person_id, []).append(index)
    return {pair for members in by_person.values() for pair in combinations(sorted(members), 2)}


def _figures(found: set[tuple[int, int]], truth: set[tuple[int, int]]) -> dict:
    hits = len(found & truth)
    precision = hits / len(found) if found else 1.0
    recall = hits / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"suggested": len(found), "correct": hits, "precision": precision, "recall": recall, "f1": f1}


def _related_contacts(a: PersonRecord, b: PersonRecord) -> bool:
    """Emails or phones that tie the two together although no identifier is equal."""
    for x in a.emails:
        for y in b.emails:
            lx, _, dx = x.lower().rpartition("@")
            ly, _, dy = y.lower().rpartition("@")
            if lx.split("+")[0] == ly.split("+")[0] or OSA.distance(x.lower(), y.lower()) <= 1:
                return True
    digits = [re.sub(r"\D", "", p).lstrip("0") for p in a.invalid_phones + b.invalid_phones]
    others = [re.sub(r"\D", "", p) for p in a.phones + b.phones] + digits
    return any(len(d) >= 7 and any(o != d and o.endswith(d) for o in others) for d in digits)


def evidence_class(a: PersonRecord, b: PersonRecord) -> str:
    """What two profiles of one person have to compare besides their names: the recall possible at all."""
    if _related_contacts(a, b):
        return "related contact details"
    if a.birth_date and b.birth_date:
        return "birth dates"
    if (a.postcode and b.postcode) or (a.line1 and b.line1):
        return "addresses"
    if a.city and b.city:
        return "names and city only"
    return "names only"


def _kind_of_wrong(profiles: list[Profile], people_by_id: dict, i: int, j: int) -> str:
    a, b = people_by_id[profiles[i].person_id], people_by_id[profiles[j].person_id]
    if a.household is not None and a.household == b.household:
        return "household"
    if (a.first, a.last) == (b.first, b.last):
        return "namesake"
    return "other"


def _show(profiles: list[Profile], pairs, freq: Frequencies, title: str, limit: int) -> None:
    print(f"\n{title}")
    for i, j in sorted(pairs)[:limit]:
        score, reasons = explain_pair(profiles[i].record, profiles[j].record, frequencies=freq)
        print(f"  {score:.3f} {'; '.join(reasons)}")
        for k in (i, j):
            r = profiles[k].record
            print(
                f"      p{profiles[k].person_id}: {r.first_name}|{r.last_name}|{r.name} {r.birth_date} "
                f"{r.line1}|{r.postcode}|{r.city}|{r.country} {r.emails} {r.phones} {r.invalid_phones}"
            )


def _line(label: str, found: set, truth: set, threshold: float, seconds: float) -> str:
    fig = _figures(found, truth)
    return (
        f"{label:<22} threshold {threshold:.2f}: precision {fig['precision']:.4f} recall {fig['recall']:.4f} "
        f"f1 {fig['f1']:.4f} ({fig['correct']}/{fig['suggested']} suggested correct) in {seconds:.1f}s"
    )


def chained(pairs: set[tuple[int, int]], size: int) -> set[tuple[int, int]]:
    """Every pair joined by a chain of suggestions: what confirming them all would merge (A with B and
    B with C puts A with C, which the pairwise figures count as missed when A and C alone fall short)."""
    parent = list(range(size))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j in pairs:
        parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for k in {k for pair in pairs for k in pair}:
        groups.setdefault(root(k), []).append(k)
    return {pair for members in groups.values() for pair in combinations(sorted(members), 2)}


def _breakdown(people, profiles, records, truth: set, suggested: set) -> None:
    people_by_id = {p.person_id: p for p in people}
    wrong = Counter(_kind_of_wrong(profiles, people_by_id, i, j) for i, j in suggested - truth)
    print(f"similarity's wrong suggestions by kind: {dict(wrong) or 'none'}")
    print("similarity's recall by what the two profiles have to compare besides names:")
    classes = Counter(evidence_class(records[i], records[j]) for i, j in truth)
    found = Counter(evidence_class(records[i], records[j]) for i, j in truth & suggested)
    for name, total in classes.most_common():
        print(f"  {name:<24} {total:>6} pairs, recall {found[name] / total:.4f}")


def run(persons: int, seed: int, threshold: float, baseline_threshold: float, show: int) -> None:
    started = time.perf_counter()
    people = make_people(persons, seed)
    profiles = make_profiles(people, seed)
    records = [p.record for p in profiles]
    truth = true_pairs(profiles)
    generated = time.perf_counter()
    pairs = list(candidate_pairs(records))
    blocked = time.perf_counter()
    cpu = time.process_time()
    freq = Frequencies.from_records(records)
    scores = {(i, j): explain_pair(records[i], records[j], frequencies=freq)[0] for i, j in pairs}
    scored, cpu = time.perf_counter(), time.process_time() - cpu
    baseline = {(i, j) for i, j in pairs if name_similarity_baseline(records[i], records[j]) >= baseline_threshold}
    baselined = time.perf_counter()

    suggested = {pair for pair, score in scores.items() if score >= threshold}
    covered = len(truth & scores.keys())
    print(f"seed {seed}: {len(people)} people, {len(records)} customer profiles, {len(truth)} true duplicate pairs")
    print(f"candidate pairs from blocking: {len(pairs)} (cover {covered / max(len(truth), 1):.4f} of the true pairs)")
    print(
        f"time: generate {generated - started:.1f}s, block {blocked - generated:.1f}s, "
        f"score {scored - blocked:.1f}s ({cpu:.1f}s CPU, one process)"
    )
    print(_line("similarity", suggested, truth, threshold, scored - blocked))
    print(_line("baseline (name ratio)", baseline, truth, baseline_threshold, baselined - scored))
    _breakdown(people, profiles, records, truth, suggested)
    fig = _figures(chained(suggested, len(records)), truth)
    print(
        f"if every suggestion were confirmed (pairs joined through chains of them): precision "
        f"{fig['precision']:.4f} recall {fig['recall']:.4f} ({fig['correct']}/{fig['suggested']} pairs correct)"
    )
    print("similarity at other thresholds:")
    for other in sorted({0.3, 0.5, 0.8, 0.9, 0.95} - {threshold}):
        fig = _figures({pair for pair, score in scores.items() if score >= other}, truth)
        print(f"  {other:.2f}: precision {fig['precision']:.4f} recall {fig['recall']:.4f}")
    if show:
        _show(profiles, suggested - truth, freq, "wrong suggestions:", show)
        _show(profiles, truth - suggested, freq, "missed duplicates:", show)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument(
        "--threshold", type=float, default=THRESHOLD, help=f"suggest at this score (default {THRESHOLD})"
    )
    parser.add_argument("--baseline-threshold", type=float, default=BASELINE_THRESHOLD)
    parser.add_argument("--show", type=int, default=0, help="print this many wrong and missed pairs")
    args = parser.parse_args()
    run(args.persons, args.seed, args.threshold, args.baseline_threshold, args.show)


if __name__ == "__main__":
    main()
