from __future__ import annotations

import math

import pytest

from crm.personalization.churn import BIAS, churn_risk

from .builders import NOW, case, customer, message, outbound_email, purchase, survey


def _by_name(factors):
    return {f["factor"]: f for f in factors}


def test_a_customer_seen_today_with_nothing_against_them_is_low_risk():
    risk, factors = churn_risk(customer(message("Thanks!", days=0)), NOW)
    assert risk < 0.15
    assert "recency" not in _by_name(factors)  # a zero contribution is left out


def test_risk_rises_with_silence_and_the_factor_says_how_long():
    history = (purchase(days=400), message("hi", days=300))
    risks = [
        churn_risk(customer(*history, message("hi", days=d)), NOW)[0] for d in (5, 30, 60, 89, 91, 120, 179, 181, 365)
    ]
    assert risks == sorted(risks)
    risk, factors = churn_risk(customer(message("hi", days=85)), NOW)
    assert factors[0]["text"] == "no contact for 85 days"
    assert risk == pytest.approx(0.49, abs=0.01)


def test_silence_after_earlier_activity_is_a_full_drop_in_contacts_and_spend():
    factors = _by_name(churn_risk(customer(purchase("80.00", days=200)), NOW)[1])
    assert factors["frequency_trend"]["text"] == "no contacts in the last 180 days, after earlier ones"
    assert factors["frequency_trend"]["weight"] == pytest.approx(1.2)
    assert factors["spend_trend"]["text"] == "no purchases in the last 180 days, after earlier ones"


def test_outbound_messages_do_not_count_as_contact():
    _, factors = churn_risk(customer(purchase(days=120), outbound_email(days=1)), NOW)
    assert _by_name(factors)["recency"]["text"] == "no contact for 120 days"


def test_falling_contact_frequency_raises_risk_and_rising_lowers_it():
    falling = customer(*[message("hi", days=100 + n * 10) for n in range(6)], message("hi", days=10))
    _, factors = churn_risk(falling, NOW)
    trend = _by_name(factors)["frequency_trend"]
    assert trend["text"] == "contacts fell from 6 to 1 (last 90 days vs the 90 before)"
    assert trend["weight"] == pytest.approx(1.2 * 5 / 6, abs=1e-3)
    rising = customer(message("hi", days=120), *[message("hi", days=5 + n) for n in range(4)])
    assert _by_name(churn_risk(rising, NOW)[1])["frequency_trend"]["weight"] < 0


def test_falling_spend_is_a_factor_with_the_amounts():
    facts = customer(purchase("150.00", days=150), purchase("100.00", days=120), purchase("100.00", days=20))
    spend = _by_name(churn_risk(facts, NOW)[1])["spend_trend"]
    assert spend["text"] == "spend fell 60% (USD 250.00 → 100.00, last 90 days vs the 90 before)"
    assert spend["weight"] == pytest.approx(0.6)


def test_negative_recent_messages_raise_risk():
    facts = customer(message("This is awful and I am furious", days=2), message("Terrible, broken again", days=5))
    sentiment = _by_name(churn_risk(facts, NOW)[1])["negative_sentiment"]
    assert sentiment["weight"] > 0.5
    assert sentiment["text"].startswith("recent messages negative (average -")
    assert sentiment["text"].endswith("over 2 messages)")


def test_each_unresolved_case_adds_risk_up_to_three():
    two = _by_name(churn_risk(customer(message("hi", days=1), cases=(case(1), case(2))), NOW)[1])
    assert two["unresolved_cases"]["text"] == "2 unresolved cases"
    assert two["unresolved_cases"]["weight"] == pytest.approx(1.2)
    five = _by_name(churn_risk(customer(message("hi", days=1), open_cases=5), NOW)[1])
    assert five["unresolved_cases"]["weight"] == pytest.approx(1.8)


@pytest.mark.parametrize(("score", "weight"), [(0, 1.6), (3, 1.2), (6, 0.8), (8, None), (10, -0.6)])
def test_detractor_score_weighs_more_the_lower_the_nps_and_promoters_lower_risk(score, weight):
    factors = _by_name(churn_risk(customer(survey("nps", score, days=1)), NOW)[1])
    if weight is None:
        assert "detractor" not in factors
    else:
        assert factors["detractor"]["weight"] == pytest.approx(weight)


def test_factors_are_sorted_by_contribution_and_add_up_to_the_risk():
    facts = customer(
        purchase("300.00", days=170),
        purchase("20.00", days=75),
        message("Awful, I am really angry", days=75, case_id=1),
        survey("nps", 2, days=76),
        cases=(case(1, opened_days=76),),
    )
    risk, factors = churn_risk(facts, NOW)
    weights = [f["weight"] for f in factors]
    assert weights == sorted(weights, reverse=True)
    assert {f["factor"] for f in factors} >= {
        "recency",
        "spend_trend",
        "negative_sentiment",
        "unresolved_cases",
        "detractor",
    }
    assert all(f["text"] for f in factors)
    assert risk == pytest.approx(1 / (1 + math.exp(-(BIAS + sum(weights)))), abs=1e-3)
    assert factors[0]["factor"] == "recency" and factors[0]["text"] == "no contact for 75 days"


def test_spend_amounts_are_shown_to_the_cent_with_thousands():
    facts = customer(purchase("1249", days=120), message("hi", days=5))
    spend = _by_name(churn_risk(facts, NOW)[1])["spend_trend"]
    assert spend["text"] == "spend fell 100% (USD 1,249.00 → 0.00, last 90 days vs the 90 before)"
    assert spend["value"] == {"currency": "USD", "last": "0.00", "before": "1249.00"}
