from __future__ import annotations

from decimal import Decimal

import pytest

from crm.personalization.value import METHOD, customer_value, historical_value, project, value_tier

from .builders import NOW, customer, purchase


def test_historical_value_is_purchases_minus_refunds_per_currency():
    value = historical_value(
        [
            purchase("100.00", currency="USD"),
            purchase("25.50", currency="USD"),
            purchase("20.00", currency="USD", refund=True),
            purchase("40.00", currency="EUR"),
        ]
    )
    assert value == {"EUR": Decimal("40.00"), "USD": Decimal("105.50")}


def test_a_purchase_without_a_total_is_valued_from_its_items():
    order = purchase(total=None, items=[("A", "Mug")])
    order.data["items"][0].update(unit_price="7.50", quantity=2)
    assert historical_value([order]) == {"USD": Decimal("15.00")}


@pytest.mark.parametrize(
    ("amount", "tier"),
    [
        ("0", "bronze"),
        ("249.99", "bronze"),
        ("250", "silver"),
        ("999", "silver"),
        ("1000", "gold"),
        ("5000", "platinum"),
    ],
)
def test_value_tiers_come_from_thresholds(amount, tier):
    assert value_tier(Decimal(amount))[0] == tier


def test_the_tier_reason_names_the_threshold():
    assert value_tier(Decimal("1240"))[1] == "gold: USD 1,240.00 lifetime value (gold from USD 1,000)"


def test_projection_is_aov_times_frequency_times_expected_years():
    # 4 orders worth 400 over two years: AOV 100, 2 a year; risk 0.5 -> 0.5 + 0.25 + 0.125 = 0.875 years.
    projection = project(Decimal("400"), 4, 730, 0.5)
    assert projection["inputs"]["average_order_value"] == Decimal("100.00")
    assert projection["inputs"]["orders_per_year"] == pytest.approx(2.0)
    assert projection["inputs"]["expected_years"] == pytest.approx(0.875)
    assert projection["projected"] == Decimal("175.00")
    assert projection["text"].startswith("average order value 100.00 × 2.0 orders a year × 0.88 expected years")


def test_a_week_old_customer_is_not_read_as_fifty_orders_a_year():
    assert project(Decimal("50"), 1, 7, 0.0)["inputs"]["orders_per_year"] == pytest.approx(365 / 180, abs=1e-3)


def test_no_purchases_means_nothing_to_project():
    assert project(Decimal("0"), 0, 100, 0.1)["projected"] == Decimal("0.00")


def test_customer_value_uses_the_profile_aggregate_and_names_the_method():
    facts = customer(
        purchase("60.00", days=10), ltv=Decimal("1500"), orders_count=10, first_seen_at=NOW.replace(year=2024)
    )
    value = customer_value(facts, NOW, churn=0.2)
    assert value["historical"] == {"USD": Decimal("1500")}
    assert value["historical_base"] == Decimal("1500.00")
    assert value["tier"] == "gold"
    assert value["method"] == METHOD
    assert "expected years" in value["method_text"]
    assert value["projected"] > 0


def test_customer_value_without_aggregates_reads_the_interactions():
    facts = customer(purchase("300.00", days=100), purchase("50.00", days=10, refund=True))
    value = customer_value(facts, NOW, churn=0.1)
    assert value["historical"] == {"USD": Decimal("250.00")}
    assert value["tier"] == "silver"


def test_a_riskier_customer_is_projected_lower():
    facts = customer(purchase("100.00", days=100), purchase("100.00", days=10))
    assert customer_value(facts, NOW, churn=0.8)["projected"] < customer_value(facts, NOW, churn=0.1)["projected"]
