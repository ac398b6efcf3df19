from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest

from crm.personalization.metrics import (
    average_cltv,
    ces,
    churn_rate,
    csat,
    first_response_time,
    grouped,
    nps,
    reopen_rate,
    time_to_resolution,
)

from .builders import NOW, case, customer, message, survey


def test_nps_is_promoters_minus_detractors_as_a_percentage_of_responses():
    # 10 responses: 9, 10, 10, 9 promoters (4); 7, 8 passives (2); 0, 3, 6, 6 detractors (4).
    result = nps([9, 10, 10, 9, 7, 8, 0, 3, 6, 6])
    assert result == {"nps": 0.0, "responses": 10, "promoters": 4, "passives": 2, "detractors": 4}
    assert nps([10, 10, 9, 8, 2])["nps"] == pytest.approx(40.0)  # (3 - 1) / 5


def test_nps_reads_survey_interactions_of_its_kind_only():
    rows = [survey("nps", 10), survey("nps", 2), survey("csat", 5), message("hi")]
    assert nps(rows) == {"nps": 0.0, "responses": 2, "promoters": 1, "passives": 0, "detractors": 1}


def test_metrics_without_rows_are_none_not_zero():
    assert nps([])["nps"] is None
    assert csat([])["csat"] is None
    assert ces([])["ces"] is None
    assert first_response_time([])["median_s"] is None
    assert reopen_rate([])["reopen_rate"] is None
    assert average_cltv([])["average_cltv"] is None


def test_csat_is_the_share_of_fours_and_fives():
    assert csat([5, 4, 4, 3, 1, 2, 5, 5]) == {"csat": 62.5, "responses": 8, "satisfied": 5}


def test_ces_is_the_mean_response():
    assert ces([survey("ces", 2), survey("ces", 3), survey("ces", 7)]) == {"ces": 4.0, "responses": 3, "total": 12.0}


def test_churn_rate_counts_the_base_period_actives_silent_in_the_next_days():
    base_start, base_end = NOW - timedelta(days=120), NOW - timedelta(days=90)
    rows = [
        ("a", base_start + timedelta(days=1)),  # active, back in the window: retained
        ("a", base_end + timedelta(days=10)),
        ("b", base_start + timedelta(days=5)),  # active, silent after: churned
        ("c", base_start + timedelta(days=6)),  # active, back only after the window: churned
        ("c", base_end + timedelta(days=95)),
        ("d", base_end + timedelta(days=3)),  # not active in the base period: not counted
        ("e", base_start - timedelta(days=1)),  # before the base period: not counted
    ]
    result = churn_rate(rows, base_start, base_end, window_days=90)
    assert result["churn_rate"] == pytest.approx(200 / 3)
    assert (result["active"], result["churned"], result["retained"]) == (3, 2, 1)


def test_average_cltv_over_customers():
    result = average_cltv([customer(ltv=Decimal("100")), customer(ltv=Decimal("250.50")), Decimal("0")])
    assert result == {"average_cltv": Decimal("116.83"), "customers": 3, "total": Decimal("350.50")}


def test_first_response_time_median_and_mean_over_answered_cases():
    cases = [case(1, first_response_hours=1), case(2, first_response_hours=2), case(3, first_response_hours=6), case(4)]
    assert first_response_time(cases) == {"median_s": 7200.0, "mean_s": 10800.0, "responded": 3, "unanswered": 1}


def test_time_to_resolution_over_resolved_cases_using_open_time_when_tracked():
    cases = [
        case(1, status="resolved", resolved_hours=10),
        case(2, status="resolved", resolved_hours=20),
        case(3, status="open"),
        # Reopened: 100 hours from opening to the last resolution, but open for only 30 of them.
        replace(case(4, status="resolved", resolved_hours=100), resolution_seconds=30 * 3600.0),
    ]
    result = time_to_resolution(cases)
    assert result == {"median_s": 20 * 3600.0, "mean_s": 20 * 3600.0, "resolved": 3, "open": 1}


def test_reopen_rate_is_reopened_over_ever_resolved():
    cases = [
        case(1, status="resolved"),
        case(2, status="resolved", reopen_count=1),
        case(3, status="open", reopen_count=2),  # resolved once, reopened, open again
        case(4, status="open"),  # never resolved: not in the base
    ]
    assert reopen_rate(cases) == {"reopen_rate": pytest.approx(200 / 3), "resolved": 3, "reopened": 2}


def test_survey_metrics_agree_with_an_independent_numpy_computation():
    rng = random.Random(7)
    for _ in range(50):
        nps_scores = np.array([rng.randint(0, 10) for _ in range(rng.randint(1, 60))])
        expected = 100 * (np.mean(nps_scores >= 9) - np.mean(nps_scores <= 6))
        assert nps(nps_scores.tolist())["nps"] == pytest.approx(expected)
        csat_scores = np.array([rng.randint(1, 5) for _ in range(rng.randint(1, 60))])
        assert csat(csat_scores.tolist())["csat"] == pytest.approx(100 * np.mean(csat_scores >= 4))
        ces_scores = np.array([rng.randint(1, 7) for _ in range(rng.randint(1, 60))])
        assert ces(ces_scores.tolist())["ces"] == pytest.approx(np.mean(ces_scores))


def test_response_times_agree_with_numpy_median_and_mean():
    rng = random.Random(11)
    hours = [rng.uniform(0.1, 72) for _ in range(41)]
    result = first_response_time([case(n, first_response_hours=h) for n, h in enumerate(hours)])
    seconds = np.array(hours) * 3600
    assert result["median_s"] == pytest.approx(np.median(seconds))
    assert result["mean_s"] == pytest.approx(np.mean(seconds))


def test_any_metric_can_be_split_by_channel():
    rows = [survey("nps", 10), survey("nps", 2), replace(survey("nps", 9), channel="phone")]
    assert grouped(nps, rows, lambda row: row.channel) == {
        "email": {"nps": 0.0, "responses": 2, "promoters": 1, "passives": 0, "detractors": 1},
        "phone": {"nps": 100.0, "responses": 1, "promoters": 1, "passives": 0, "detractors": 0},
    }
