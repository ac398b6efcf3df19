"""Edges of the pure rules and scores the hand-built tests in tests/personalization did not reach yet.

Plain unit tests on hand-built customers (no app, no database), found by tracing which statements of
crm/personalization's pure modules those tests never ran.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from crm.personalization.actions import next_best_actions
from crm.personalization.churn import churn_risk
from crm.personalization.context import build_context, contact_hours, preferred_channel
from crm.personalization.facts import CustomerFacts, InteractionFact
from crm.personalization.journey import journey_stage
from crm.personalization.recommend import PurchaseIndex
from crm.personalization.sentiment import sentiment_trend
from crm.personalization.topics import Topic, find_topics, lemma
from crm.personalization.value import value_tier
from tests.personalization.builders import NOW, customer, message, outbound_email, visit


def _note(days: float) -> InteractionFact:
    return InteractionFact(
        id=77, channel="internal", type="note", direction="outbound", occurred_at=NOW - timedelta(days=days)
    )


def test_the_summary_names_a_store_visit_or_an_agent_note_as_the_last_contact():
    assert "last contact 2 days ago by store: a store visit." in build_context(customer(visit(days=2)), NOW)["summary"]
    summary = build_context(customer(visit(days=9), _note(1)), NOW)["summary"]
    assert "last contact 1 day ago by internal: an agent note." in summary


def test_a_customer_we_only_wrote_to_has_no_preferred_channel_or_usual_hours():
    facts = customer(outbound_email(days=3))
    assert preferred_channel(facts, NOW) == {
        "channel": None,
        "count": 0,
        "of": 0,
        "reason": "no contacts of their own yet",
    }
    hours = contact_hours(facts, NOW)
    assert hours["usual"] == [] and hours["reason"] == "no inbound contacts yet"


def test_refunds_above_purchases_give_the_lowest_tier_with_its_reason():
    tier, reason = value_tier(Decimal("-25.00"))
    assert tier == "bronze"
    assert reason == "bronze: USD -25.00 lifetime value (below every threshold)"


def test_a_purchase_known_only_from_the_profile_is_placed_without_a_date():
    # More than 500 interactions: the purchase is older than what was loaded, the aggregate still knows it.
    facts = customer(message("Hello again", days=1), orders_count=1)
    stage, reason = journey_stage(facts, NOW)
    assert (stage, reason) == ("first purchase", "first purchase: 1 purchase, made at a date we do not hold")


def test_one_message_today_reads_as_today():
    trend = sentiment_trend(customer(message("I love it, thank you!", days=0, hours=1)), NOW)
    assert trend["reason"].startswith("one message so far, scoring +") and trend["reason"].endswith(", today")
    assert trend["direction"] == "stable"


def test_a_trend_over_two_windows_names_the_latest_message_today():
    older = [message("Awful, broken again", days=20 + n) for n in range(5)]
    newer = [message("Great, thanks a lot", days=0, hours=n + 1) for n in range(5)]
    trend = sentiment_trend(customer(*older, *newer), NOW)
    assert trend["direction"] == "improving" and trend["reason"].endswith("the latest today")


def test_a_customer_we_know_nothing_about_has_no_recency_factor():
    facts = CustomerFacts(customer_id=1)
    risk, factors = churn_risk(facts, NOW)
    assert factors == [] and 0 < risk < 0.2


def test_plural_inflections_reach_the_same_topic():
    assert lemma("deliveries") == "delivery" and lemma("addresses") == "address"
    assert "delivery" in find_topics("Both deliveries were missing")


def test_a_custom_taxonomy_finds_its_own_topics():
    taxonomy = (Topic("loyalty", ("points", "loyalty card")),)
    assert find_topics("Where are my loyalty card points?", taxonomy) == {"loyalty": 13}


def test_interest_shown_after_the_moment_asked_about_is_ignored():
    # Rules read "now" as given: a visit recorded later than now (clock skew, a replay) offers nothing.
    later = replace(visit(days=20, skus=[("TENT", "Tent")]), occurred_at=NOW + timedelta(days=1))
    assert next_best_actions(customer(later), NOW, catalogue={"TENT": "Tent"}) == []


def test_customers_with_empty_baskets_do_not_count():
    index = PurchaseIndex.from_history({1: ["A", "B"], 2: [], 3: ["A"]})
    assert index.customers == 2 and index.counts == {"A": 2, "B": 1}
