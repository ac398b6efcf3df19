"""The split: the same customer gets the same variant everywhere, and the shares come out as configured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from scipy import stats

from crm.experiments.split import assign, bucket, pick

ROOT = Path(__file__).resolve().parents[2]
KEY = "3f9c2a61b7e04d5e8a1c9b2d4e6f7a80"
SHARES = [("control", 50), ("treatment", 50)]

# What a fresh interpreter computes: nothing but the key, the ids and the shares go in.
SCRIPT = """
import json, sys
from crm.experiments.split import assign
key, shares, ids = json.loads(sys.argv[1])
print(json.dumps({str(i): assign(key, i, [tuple(s) for s in shares]) for i in ids}))
"""


def _in_a_new_process(ids: list[int], hash_seed: str) -> dict[str, list]:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps([KEY, SHARES, ids])],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


def test_two_separate_processes_give_every_customer_the_same_variant():
    ids = list(range(1, 2001))
    # Different hash seeds: Python's own hash() would differ between these two processes.
    first, second = _in_a_new_process(ids, "1"), _in_a_new_process(ids, "4242")
    assert first == second
    here = {str(i): list(assign(KEY, i, SHARES)) for i in ids}
    assert here == first
    assert set(Counter(v for v, _ in first.values())) == {"control", "treatment"}


def test_a_known_assignment_never_changes_between_releases():
    # Pinned: sha256("<key>:1") starts e8468b33e85d14e2, read as a 64-bit fraction. A change here would
    # silently move live customers to another variant mid-experiment.
    assert bucket(KEY, 1) == 0xE8468B33E85D14E2 / 2**64 == pytest.approx(0.9073264123656951)
    expected = ["treatment", "treatment", "control", "control", "control", "control", "control", "control"]
    assert [assign(KEY, i, SHARES)[0] for i in range(1, 9)] == expected


@pytest.mark.parametrize(
    "shares",
    [
        [("control", 50), ("treatment", 50)],
        [("control", 10), ("treatment", 90)],
        [("control", 20), ("call", 30), ("discount", 50)],
        [("a", 33.3), ("b", 33.3), ("c", 33.4)],
    ],
)
def test_realized_split_of_10000_customers_is_within_2_points_of_the_shares(shares):
    counts = Counter(assign(KEY, customer_id, shares)[0] for customer_id in range(1, 10_001))
    for name, share in shares:
        assert abs(100 * counts[name] / 10_000 - share) <= 2, (name, counts)
    # And no worse than chance: a chi-square goodness of fit does not reject.
    observed = [counts[name] for name, _ in shares]
    expected = [10_000 * share / 100 for _, share in shares]
    assert stats.chisquare(observed, expected).pvalue > 0.001


def test_two_experiments_split_the_same_customers_independently():
    other = "0b1e7c55aa0d4b7e9f3c1d2e4a5b6c7d"
    pairs = Counter((assign(KEY, i, SHARES)[0], assign(other, i, SHARES)[0]) for i in range(1, 10_001))
    for cell in pairs.values():
        assert abs(cell / 10_000 - 0.25) <= 0.02, pairs


def test_buckets_are_uniform_numbers_in_the_unit_interval():
    values = [bucket(KEY, i) for i in range(1, 5001)]
    assert all(0 <= u < 1 for u in values)
    assert stats.kstest(values, "uniform").pvalue > 0.001


def test_each_slice_owns_its_lower_edge():
    shares = [("a", 20), ("b", 30), ("c", 50)]
    assert pick(shares, 0.0) == "a"
    assert pick(shares, 0.1999999) == "a"
    assert pick(shares, 0.2) == "b"
    assert pick(shares, 0.5) == "c"
    assert pick(shares, 0.9999999999) == "c"


def test_a_number_outside_the_unit_interval_is_refused():
    with pytest.raises(ValueError, match="u must be in"):
        pick(SHARES, 1.0)
