from __future__ import annotations

from crm.personalization.journey import RULES, JourneyRule, journey_stage

from .builders import NOW, case, customer, message, outbound_email, purchase, survey, visit


def test_lapsed_after_180_days_without_an_interaction_even_for_a_repeat_buyer():
    facts = customer(purchase(days=300), purchase(days=250), message("hi", days=200))
    assert journey_stage(facts, NOW) == ("lapsed", "lapsed: no interaction for 200 days (180+ days silent)")


def test_our_own_newsletters_do_not_keep_a_silent_customer_out_of_lapsed():
    facts = customer(purchase(days=400), outbound_email(days=2))
    stage, reason = journey_stage(facts, NOW)
    assert stage == "lapsed"
    assert "400 days" in reason


def test_a_repeat_buyer_silent_for_90_days_is_at_risk():
    facts = customer(purchase(days=200), purchase(days=150), purchase(days=94))
    assert journey_stage(facts, NOW) == (
        "at risk",
        "at risk: a repeat buyer (3 purchases) silent for 94 days (90+)",
    )


def test_a_buyer_with_churn_risk_of_07_is_at_risk_and_the_reason_gives_the_risk():
    facts = customer(purchase(days=5))
    assert journey_stage(facts, NOW, churn=0.75) == ("at risk", "at risk: churn risk 0.75 (≥ 0.70) after 1 purchase")


def test_churn_risk_is_computed_when_not_given():
    unhappy = customer(
        purchase(days=10),
        message("This is awful, I am furious, terrible service", days=2, case_id=1),
        survey("nps", 0, days=2),
        cases=(case(1), case(2), case(3)),
    )
    stage, reason = journey_stage(unhappy, NOW)
    assert stage == "at risk"
    assert reason.startswith("at risk: churn risk 0.9")


def test_a_prospect_with_high_churn_risk_is_not_at_risk_they_never_bought():
    stage, _ = journey_stage(customer(visit(days=5)), NOW, churn=0.9)
    assert stage == "consideration"


def test_advocate_needs_nps_9_and_two_purchases():
    facts = customer(purchase(days=40), purchase(days=10), survey("nps", 10, days=5))
    assert journey_stage(facts, NOW) == ("advocate", "advocate: NPS 10 (≥ 9) and 2 purchases")


def test_a_promoter_with_one_purchase_is_still_a_first_purchase():
    facts = customer(purchase(days=5), survey("nps", 10, days=2))
    assert journey_stage(facts, NOW) == ("first purchase", "first purchase: 1 purchase, made 5 days ago")


def test_repeat_names_the_count_and_the_last_purchase():
    facts = customer(purchase(days=80), purchase(days=40), purchase(days=12))
    assert journey_stage(facts, NOW) == ("repeat", "repeat: 3 purchases, the last 12 days ago")


def test_the_profiles_order_count_wins_over_the_loaded_interactions():
    facts = customer(purchase(days=12), orders_count=5)
    assert journey_stage(facts, NOW) == ("repeat", "repeat: 5 purchases, the last 12 days ago")


def test_refunds_are_not_purchases():
    facts = customer(purchase(days=12), purchase(days=11, refund=True))
    assert journey_stage(facts, NOW)[0] == "first purchase"


def test_a_store_visit_without_a_purchase_is_consideration():
    assert journey_stage(customer(visit(days=3)), NOW) == (
        "consideration",
        "consideration: no purchase yet, 1 visit and 1 contact of their own",
    )


def test_two_messages_without_a_purchase_are_consideration():
    facts = customer(message("Do you ship to Spain?", days=4), message("And the price?", days=3))
    assert journey_stage(facts, NOW)[0] == "consideration"


def test_a_newly_known_contact_is_in_awareness():
    facts = customer(message("Hello", days=3))
    assert journey_stage(facts, NOW) == ("awareness", "awareness: known for 3 days, no purchase or visit yet")


def test_journey_rules_are_data_and_the_first_that_holds_wins():
    vip = JourneyRule("vip", lambda s: s.purchases >= 1, lambda s: f"vip: {s.purchases} purchase")
    assert journey_stage(customer(purchase(days=1)), NOW, rules=(vip, *RULES)) == ("vip", "vip: 1 purchase")
    assert [rule.stage for rule in RULES][0] == "lapsed"


def test_someone_known_for_200_days_who_never_made_a_move_is_lapsed():
    facts = customer(outbound_email(days=3), first_seen_at=NOW.replace(year=2025, month=11), created_at=None)
    stage, reason = journey_stage(facts, NOW)
    assert stage == "lapsed"
    assert reason.startswith("lapsed: no interaction for 212 days")
