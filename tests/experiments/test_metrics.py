"""Each metric, per customer, from what they did in the window after their assignment."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crm.experiments.metrics import METRICS, metric
from crm.experiments.results import compute, series
from tests.experiments.builders import ASSIGNED, NOW, case, design, event, observation, purchase, survey


def value(name: str, o, currency: str = "USD"):
    return metric(name).value(o, currency)


def test_a_purchase_converts_but_a_refund_alone_does_not():
    assert value("conversion", observation("control", purchase())) == 1
    assert value("conversion", observation("control", purchase("20.00", refund=True))) == 0
    assert value("conversion", observation("control", event("visit"))) == 0


def test_spend_is_purchases_minus_refunds_in_the_base_currency_only():
    o = observation(
        "control",
        purchase("50.00"),
        purchase("30.00", currency="USD"),
        purchase("-20.00", refund=True),
        purchase("999.00", currency="EUR"),
    )
    assert value("spend", o) == pytest.approx(60.0)
    assert value("spend", observation("control")) == 0


def test_csat_counts_the_latest_answer_as_satisfied_or_not():
    assert value("csat", observation("control", survey("csat", 2, 1), survey("csat", 5, 4))) == 1
    assert value("csat", observation("control", survey("csat", 5, 1), survey("csat", 3, 4))) == 0
    assert value("csat", observation("control", purchase())) is None


def test_nps_points_make_the_mean_the_net_promoter_score():
    promoter, passive, detractor = (observation("t", survey("nps", s)) for s in (10, 8, 3))
    assert [value("nps", o) for o in (promoter, passive, detractor)] == [100, 0, -100]
    assert value("nps", observation("t")) is None


def test_churn_is_no_move_of_the_customers_own_in_the_window():
    assert value("churn", observation("control")) == 1
    # Our own outbound email is not the customer coming back.
    assert value("churn", observation("control", event("message", direction="outbound"))) == 1
    assert value("churn", observation("control", event("message"))) == 0
    assert value("churn", observation("control", purchase())) == 0


def test_contact_rate_counts_inbound_messages_and_calls():
    o = observation(
        "control", event("message"), event("call"), event("message", direction="outbound"), event("visit"), purchase()
    )
    assert value("contact_rate", o) == 2


def test_time_to_resolution_averages_the_resolved_cases_in_hours():
    assert value("time_to_resolution", observation("c", cases=[case(4), case(10), case(None)])) == pytest.approx(7)
    assert value("time_to_resolution", observation("c", cases=[case(None)])) is None


def test_reopen_rate_asks_whether_any_case_of_the_customer_reopened():
    assert value("reopen_rate", observation("c", cases=[case(2), case(3, reopened=1)])) == 1
    assert value("reopen_rate", observation("c", cases=[case(2)])) == 0
    assert value("reopen_rate", observation("c")) is None


def test_a_customer_is_measured_only_once_their_window_has_passed():
    recent = observation("control", assigned_at=NOW - timedelta(days=10))
    old = observation("control", assigned_at=NOW - timedelta(days=31))
    results = compute(design("churn", min_sample=10), [recent, old], NOW)
    control = next(v for v in results["variants"] if v["name"] == "control")
    assert (control["assigned"], control["measured"]) == (2, 1)


def test_lower_is_better_metrics_call_a_drop_an_improvement():
    control = [observation("control") for _ in range(300)]  # all churn
    treatment = [observation("treatment", event("message")) for _ in range(200)] + [
        observation("treatment") for _ in range(100)
    ]
    results = compute(design("churn"), control + treatment, NOW)
    assert results["verdict"]["status"] == "winner"
    assert results["metrics"][0]["comparisons"][0]["direction"] == "better"


def test_a_guardrail_that_gets_worse_stops_a_winner_being_called():
    control = [observation("control", survey("csat", 5)) for _ in range(300)]
    treatment = [observation("treatment", purchase(), survey("csat", 1)) for _ in range(300)]
    results = compute(design("conversion", guardrails=("csat",)), control + treatment, NOW)
    assert results["verdict"]["status"] == "guardrail_breach"
    assert results["verdict"]["winner"] is None
    assert "CSAT" in results["verdict"]["text"]


def test_a_treatment_that_does_worse_says_keep_the_control():
    control = [observation("control", purchase()) for _ in range(200)] + [observation("control") for _ in range(100)]
    treatment = [observation("treatment", purchase()) for _ in range(100)] + [
        observation("treatment") for _ in range(200)
    ]
    results = compute(design("conversion"), control + treatment, NOW)
    assert results["verdict"]["status"] == "worse"
    assert "Keep the control" in results["verdict"]["text"]


def test_the_series_is_the_cumulative_figure_by_the_day_customers_were_measured():
    day = lambda n: ASSIGNED + timedelta(days=n)  # noqa: E731
    observations = [
        observation("control", purchase(), assigned_at=day(0)),
        observation("control", assigned_at=day(1)),
        observation("treatment", purchase(), assigned_at=day(1)),
    ]
    body = series(design("conversion"), observations)
    assert body["dates"] == [(day(30)).date().isoformat(), (day(31)).date().isoformat()]
    assert body["variants"]["control"] == [1.0, 0.5]
    assert body["variants"]["treatment"] == [None, 1.0]


def test_every_metric_names_its_definition_and_direction():
    for m in METRICS.values():
        assert m.definition and m.kind in ("rate", "mean")
        assert m.format_value(None) == "–"
    assert metric("conversion").format_difference(0.081) == "+8.1 points"
    assert metric("spend").format_value(12.5, "EUR") == "12.50 EUR"
    with pytest.raises(KeyError, match="unknown metric"):
        metric("happiness")
