from __future__ import annotations

from dataclasses import FrozenInstanceError
from decimal import Decimal

import pytest

from crm.personalization.facts import CustomerFacts, to_decimal

from .builders import NOW, ago, call, customer, message, outbound_email, purchase, survey


def test_money_arrives_as_string_decimals_and_bad_values_are_none():
    assert to_decimal("12.30") == Decimal("12.30")
    assert to_decimal(7) == Decimal(7)
    assert to_decimal("lots") is None
    assert to_decimal("NaN") is None
    assert to_decimal(True) is None


def test_a_refund_is_not_a_purchase_and_its_amount_is_positive():
    refund = purchase("-20.00", refund=True)
    assert refund.is_refund and not refund.is_purchase
    assert refund.amount == Decimal("20.00")


def test_what_counts_as_the_customers_own_move():
    assert message("hi").by_customer
    assert purchase().by_customer and survey("nps", 5).by_customer
    assert call("answered", direction="outbound").by_customer  # they picked up
    assert not call("missed", direction="outbound").by_customer
    assert not outbound_email().by_customer


def test_last_customer_contact_skips_our_messages_and_the_future():
    facts = customer(message("hi", days=10), outbound_email(days=2), message("later", days=-1))
    assert facts.last_customer_contact(NOW) == ago(10)


def test_without_loaded_interactions_the_profile_aggregate_is_used():
    facts = CustomerFacts(customer_id=1, last_seen_at=ago(3), nps_score=8)
    assert facts.last_customer_contact(NOW) == ago(3)
    assert facts.latest_survey("nps") == (8.0, None)


def test_the_latest_loaded_survey_wins_and_names_its_interaction():
    newest = survey("nps", 2, days=1)
    facts = customer(survey("nps", 10, days=30), newest, nps_score=2)
    assert facts.latest_survey("nps") == (2.0, newest)
    assert facts.latest_survey("csat") is None


def test_counts_take_the_larger_of_the_aggregate_and_the_loaded_rows():
    facts = customer(purchase(days=3), purchase(days=2), orders_count=1, open_cases=4)
    assert facts.purchase_count == 2
    assert facts.open_case_count == 4


def test_customer_facts_are_frozen_and_hashable():
    facts = customer(message("hi"), ltv=Decimal("10"))
    assert hash(facts) == hash(facts)
    with pytest.raises(FrozenInstanceError):
        facts.orders_count = 3
