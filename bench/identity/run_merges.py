"""Pure check of automatic merges on the generated interactions: normalise every block's identifiers
with crm.profiles.identifiers, join the blocks that share a valid, non-blocked value (what the resolver
does, without the database), and compare with the generator's ground truth.

    .venv/bin/python -m bench.identity.run_merges --persons 10000 --seed 2

Ground truth: two blocks must merge when they truly carry one identifier (the generator knows the
clean value behind every noisy rendering), directly or through other blocks; blocks of different
people must never merge. The end-to-end benchmark through the real worker is a separate one.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from itertools import combinations

from bench.identity import vocab
from bench.identity.generate import Interaction, make_interactions
from bench.identity.population import make_people
from crm.profiles.identifiers import extract_identifiers, is_blocked


class Components:
    """Union-find over block indices."""

    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, i: int, j: int) -> None:
        self.parent[self.find(i)] = self.find(j)

    def pairs(self) -> set[tuple[int, int]]:
        groups: dict[int, list[int]] = defaultdict(list)
        for i in range(len(self.parent)):
            groups[self.find(i)].append(i)
        return {pair for members in groups.values() for pair in combinations(members, 2)}


def _join_on(keys_per_block: list[list[tuple[str, str]]]) -> Components:
    components = Components(len(keys_per_block))
    first_seen: dict[tuple[str, str], int] = {}
    for index, keys in enumerate(keys_per_block):
        for key in keys:
            if key in first_seen:
                components.join(index, first_seen[key])
            else:
                first_seen[key] = index
    return components


def normalised_keys(interaction: Interaction, strip_plus_tags: bool = False) -> list[tuple[str, str]]:
    found = extract_identifiers(
        interaction.customer,
        source_slug=interaction.source_slug,
        source_settings={},
        default_region="US",
        strip_plus_tags=strip_plus_tags,
    )
    return [
        (i["kind"], i["value"]) for i in found if i["valid"] and not is_blocked(i["kind"], i["value"], vocab.BLOCKLIST)
    ]


def run(persons: int, seed: int) -> None:
    people = make_people(persons, seed)
    interactions = make_interactions(people, seed)
    started = time.perf_counter()
    measured = _join_on([normalised_keys(i) for i in interactions]).pairs()
    elapsed = time.perf_counter() - started
    truth = _join_on([i.keys for i in interactions]).pairs()
    same_person = {(i, j) for i, j in measured if interactions[i].person_id == interactions[j].person_id}
    hits = len(measured & truth)
    invalid = sum(1 for i in interactions for x in extract_identifiers(i.customer, source_slug=i.source_slug, source_settings={}, default_region="US", strip_plus_tags=False) if not x["valid"])  # fmt: skip
    print(f"seed {seed}: {len(people)} people, {len(interactions)} interactions, {invalid} invalid identifiers kept")
    print(f"merge pairs the identifiers allow: {len(truth)}; merged pairs: {len(measured)} in {elapsed:.1f}s")
    print(f"precision {hits / max(len(measured), 1):.4f} recall {hits / max(len(truth), 1):.4f}")
    print(f"merged pairs of different people: {len(measured) - len(same_person)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=2)
    args = parser.parse_args()
    run(args.persons, args.seed)


if __name__ == "__main__":
    main()
