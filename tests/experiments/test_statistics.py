"""The statistics find a real effect with an honest interval, and do not find one that is not there."""

from __future__ import annotations

import random

import pytest
from scipy import stats

from crm.experiments.results import compute
from crm.experiments.statistics import Summary, compare_means, compare_rates, summarize_mean, summarize_rate
from tests.experiments.builders import NOW, conversions, design, spenders


def _conversion_run(seed: int, n: int, control_rate: float, treatment_rate: float) -> dict:
    rng = random.Random(seed)
    observations = conversions(rng, n, control_rate, "control") + conversions(rng, n, treatment_rate, "treatment")
    return compute(design("conversion"), observations, NOW)


def _comparison(results: dict, metric: str = "conversion") -> dict:
    body = next(m for m in results["metrics"] if m["metric"] == metric)
    return body["comparisons"][0]


def test_a_known_8_point_conversion_lift_is_found_with_its_interval_covering_the_truth():
    results = _conversion_run(seed=12, n=3000, control_rate=0.20, treatment_rate=0.28)
    c = _comparison(results)
    assert results["verdict"]["status"] == "winner"
    assert results["verdict"]["winner"] == "treatment"
    assert c["significant"] and c["direction"] == "better"
    assert c["ci_low"] <= 0.08 <= c["ci_high"]
    assert 0.05 < c["difference"] < 0.11
    assert "points" in results["verdict"]["text"] and "95 % CI" in results["verdict"]["text"]


def test_the_95_percent_interval_covers_a_known_lift_in_about_95_percent_of_200_seeded_runs():
    covered = 0
    for seed in range(200):
        c = _comparison(_conversion_run(seed, n=1000, control_rate=0.20, treatment_rate=0.28))
        covered += c["ci_low"] <= 0.08 <= c["ci_high"]
    assert 0.91 <= covered / 200 <= 0.99


def test_an_aa_test_over_200_seeded_runs_calls_a_difference_at_most_8_percent_of_the_time():
    called = 0
    for seed in range(200):
        results = _conversion_run(seed, n=1000, control_rate=0.20, treatment_rate=0.20)
        called += results["verdict"]["status"] != "no_difference"
    assert called / 200 <= 0.08
    assert called > 0  # a test that never rejects is not testing at 5 %


def test_an_aa_test_on_spend_over_200_seeded_runs_calls_a_difference_at_most_8_percent_of_the_time():
    called = 0
    for seed in range(200):
        rng = random.Random(seed)
        observations = spenders(rng, 600, 40.0, "control") + spenders(rng, 600, 40.0, "treatment")
        called += compute(design("spend"), observations, NOW)["verdict"]["status"] != "no_difference"
    assert called / 200 <= 0.08


def test_a_known_spend_lift_is_found_by_welchs_test():
    rng = random.Random(5)
    observations = spenders(rng, 2000, 40.0, "control") + spenders(rng, 2000, 50.0, "treatment")
    results = compute(design("spend"), observations, NOW)
    c = _comparison(results, "spend")
    assert c["method"] == "welch_t"
    assert results["verdict"]["winner"] == "treatment"
    assert c["ci_low"] <= 10.0 <= c["ci_high"]


def test_welchs_test_agrees_with_scipy():
    rng = random.Random(3)
    a = [rng.gauss(10, 2) for _ in range(80)]
    b = [rng.gauss(11, 5) for _ in range(120)]
    ours = compare_means(summarize_mean(a), summarize_mean(b))
    theirs = stats.ttest_ind(b, a, equal_var=False)
    interval = theirs.confidence_interval(0.95)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9)
    assert (ours.ci_low, ours.ci_high) == pytest.approx((interval.low, interval.high), rel=1e-9)
    assert ours.difference == pytest.approx(sum(b) / len(b) - sum(a) / len(a))


def test_the_two_proportion_test_agrees_with_the_chi_square_test_of_the_same_table():
    control, treatment = Summary(n=900, mean=180 / 900, successes=180), Summary(n=1100, mean=264 / 1100, successes=264)
    ours = compare_rates(control, treatment)
    table = [[180, 900 - 180], [264, 1100 - 264]]
    assert ours.p_value == pytest.approx(stats.chi2_contingency(table, correction=False).pvalue, rel=1e-9)
    # The interval is the unpooled Wald interval, by hand.
    p1, p2 = 0.2, 0.24
    se = (p1 * (1 - p1) / 900 + p2 * (1 - p2) / 1100) ** 0.5
    assert (ours.ci_low, ours.ci_high) == pytest.approx((p2 - p1 - 1.959964 * se, p2 - p1 + 1.959964 * se), rel=1e-5)


def test_rates_with_no_variation_at_all_reject_nothing():
    none = summarize_rate([0] * 200)
    assert compare_rates(none, none).p_value == 1.0
    assert not compare_rates(none, none).significant


def test_means_of_too_few_customers_have_no_interval():
    c = compare_means(summarize_mean([3.0]), summarize_mean([4.0, 5.0]))
    assert c.ci_low is None and c.p_value is None and not c.significant
    assert c.difference == pytest.approx(1.5)


def test_no_winner_is_called_under_the_minimum_sample_however_large_the_effect():
    rng = random.Random(1)
    observations = conversions(rng, 60, 0.05, "control") + conversions(rng, 60, 0.9, "treatment")
    results = compute(design("conversion", min_sample=100), observations, NOW)
    assert results["verdict"]["status"] == "insufficient_data"
    assert results["verdict"]["winner"] is None
    assert "at least 100 per variant" in results["verdict"]["text"]
