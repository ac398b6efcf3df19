from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from crm.personalization.actions import Catalogue, next_best_actions

from .builders import NOW, case, customer, message, purchase, survey, visit

CATALOGUE = {"TR-2": "Trail Runner 2", "TENT-4": "Family Tent"}


def _rules(actions):
    return [a["rule"] for a in actions]


def _one(actions, rule):
    [action] = [a for a in actions if a["rule"] == rule]
    return action


def _complaint(case_id, hours_waiting=30, text="My parcel is late again, this is terrible", opened_days=3):
    return (
        message(text, days=0, hours=hours_waiting, case_id=case_id),
        case(case_id, opened_days=opened_days, last_inbound_hours=hours_waiting),
    )


def test_an_unresolved_complaint_past_its_sla_gets_a_follow_up():
    msg, open_case = _complaint(7)
    action = _one(next_best_actions(customer(msg, cases=(open_case,)), NOW), "follow_up_complaint")
    assert action["key"] == "follow_up:case:7"
    assert action["title"] == 'Follow up on "Where is my order?"'
    assert action["reason"].startswith(
        "unresolved complaint, 30 hours since their last message (SLA 24 hours), about delivery"
    )
    assert "negative (-" in action["reason"]
    assert action["priority"] == 90


def test_a_complaint_within_its_sla_waits():
    msg, open_case = _complaint(7, hours_waiting=10)
    assert next_best_actions(customer(msg, cases=(open_case,)), NOW) == []


def test_the_sla_is_a_parameter():
    msg, open_case = _complaint(7, hours_waiting=30)
    assert next_best_actions(customer(msg, cases=(open_case,)), NOW, sla_hours=48) == []


def test_a_neutral_question_on_an_open_case_is_not_a_complaint():
    msg, open_case = _complaint(7, text="Could you tell me the colour options?")
    open_case = replace(open_case, subject="Colours")
    assert next_best_actions(customer(msg, cases=(open_case,)), NOW) == []


def test_a_complaint_topic_without_negative_words_still_counts():
    msg, open_case = _complaint(7, text="Hello, I would like a refund for order 55 please")
    action = _one(
        next_best_actions(customer(msg, cases=(replace(open_case, subject="Order 55"),)), NOW), "follow_up_complaint"
    )
    assert "about refund" in action["reason"]


def test_a_resolved_case_needs_no_follow_up():
    msg, open_case = _complaint(7)
    assert next_best_actions(customer(msg, cases=(replace(open_case, status="resolved"),)), NOW) == []


def test_three_unresolved_complaints_in_14_days_are_named_in_the_reason():
    parts = [_complaint(n, hours_waiting=30 + n, opened_days=2 + n) for n in (1, 2, 3)]
    facts = customer(*(m for m, _ in parts), cases=tuple(c for _, c in parts))
    follow_ups = [a for a in next_best_actions(facts, NOW) if a["rule"] == "follow_up_complaint"]
    assert [a["key"] for a in follow_ups] == ["follow_up:case:1", "follow_up:case:2", "follow_up:case:3"]
    assert all(a["reason"].endswith("; 3 unresolved complaints in 14 days") for a in follow_ups)


def test_detractor_gets_a_callback_action_with_its_score_in_the_reason():
    answer = survey("nps", 3, days=2, comment="Slow delivery and nobody answered")
    action = _one(next_best_actions(customer(answer), NOW), "detractor_callback")
    assert action["key"] == f"callback:nps:{answer.id}"
    assert action["reason"] == 'detractor: NPS 3 2 days ago: "Slow delivery and nobody answered"'
    assert action["priority"] == 80


def test_a_detractor_known_only_from_the_profile_still_gets_a_callback():
    action = _one(next_best_actions(customer(message("hi"), nps_score=5), NOW), "detractor_callback")
    assert action["key"] == "callback:nps:latest" and action["reason"] == "detractor: NPS 5"


def test_a_passive_gets_neither_a_callback_nor_a_review_request():
    assert next_best_actions(customer(survey("nps", 7, days=2)), NOW) == []


def test_promoter_is_asked_for_a_review_or_referral():
    answer = survey("nps", 10, days=1)
    action = _one(next_best_actions(customer(purchase(days=3), answer), NOW), "promoter_review")
    assert action["key"] == f"review:nps:{answer.id}"
    assert action["title"] == "Ask for a review or a referral"
    assert action["reason"] == "promoter: NPS 10 1 day ago, 1 purchase"


def test_a_promoter_with_an_open_case_is_not_asked_for_a_review_yet():
    facts = customer(survey("nps", 10, days=1), cases=(case(3),))
    assert "promoter_review" not in _rules(next_best_actions(facts, NOW))


def test_a_gold_customer_silent_for_60_days_gets_a_check_in():
    facts = customer(purchase("1200.00", days=75), ltv=Decimal("1200"))
    action = _one(next_best_actions(facts, NOW), "silent_high_value_check_in")
    assert action["key"] == f"check_in:{(NOW - timedelta(days=75)).date().isoformat()}"
    assert action["reason"] == "gold customer (USD 1,200.00) silent for 75 days"


def test_a_silver_customer_or_a_recent_gold_one_gets_no_check_in():
    silver = customer(purchase("300.00", days=75), ltv=Decimal("300"))
    recent_gold = customer(purchase("3000.00", days=20), ltv=Decimal("3000"))
    for facts in (silver, recent_gold):
        assert "silent_high_value_check_in" not in _rules(next_best_actions(facts, NOW))


def test_asked_about_a_product_and_did_not_buy_it_in_14_days_gets_an_offer():
    facts = customer(message("Is the trail runner 2 waterproof?", days=20, channel="chat"))
    action = _one(next_best_actions(facts, NOW, catalogue=CATALOGUE), "offer_unbought_product")
    assert action["key"] == "offer:sku:TR-2"
    assert action["title"] == "Offer Trail Runner 2"
    assert action["reason"] == "asked about by chat 20 days ago and not bought since (Trail Runner 2, TR-2)"


def test_a_product_named_by_its_sku_counts_as_asked_about():
    facts = customer(message("Do you still sell tent-4?", days=15))
    assert (
        _one(next_best_actions(facts, NOW, catalogue=CATALOGUE), "offer_unbought_product")["key"] == "offer:sku:TENT-4"
    )


def test_a_store_visit_to_a_product_counts_as_interest():
    facts = customer(visit(days=16, skus=[("TENT-4", "Family Tent")]))
    action = _one(next_best_actions(facts, NOW), "offer_unbought_product")
    assert action["reason"].startswith("visited 16 days ago and not bought since (Family Tent")


def test_no_offer_when_they_bought_it_or_asked_too_recently_or_too_long_ago():
    bought = customer(
        message("Is the Trail Runner 2 in stock?", days=20), purchase(days=12, items=[("TR-2", "Trail Runner 2")])
    )
    recent = customer(message("Is the Trail Runner 2 in stock?", days=5))
    cold = customer(message("Is the Trail Runner 2 in stock?", days=90))
    for facts in (bought, recent, cold):
        assert "offer_unbought_product" not in _rules(next_best_actions(facts, NOW, catalogue=CATALOGUE))


def test_an_experiment_treatment_becomes_an_action_naming_the_experiment_and_control_gets_nothing():
    facts = customer(
        message("hi"),
        experiments=(("winback-spring", "B", "Offer 15% off the next order"), ("free-shipping", "control", None)),
    )
    [action] = next_best_actions(facts, NOW)
    assert action == {
        "key": "experiment:winback-spring:B",
        "title": "Offer 15% off the next order",
        "reason": 'experiment "winback-spring", variant "B"',
        "priority": 40,
        "rule": "experiment_treatment",
    }


def _busy_customer():
    msg, open_case = _complaint(7)
    return customer(
        msg,
        survey("nps", 2, days=1),
        message("Is the Trail Runner 2 any good?", days=20),
        cases=(open_case,),
        experiments=(("winback-spring", "B", "Offer 15% off"),),
    )


def test_actions_are_ranked_by_priority():
    actions = next_best_actions(_busy_customer(), NOW, catalogue=CATALOGUE)
    assert _rules(actions) == [
        "follow_up_complaint",
        "detractor_callback",
        "offer_unbought_product",
        "experiment_treatment",
    ]
    assert [a["priority"] for a in actions] == sorted((a["priority"] for a in actions), reverse=True)


def test_done_or_dismissed_actions_do_not_come_back():
    facts = _busy_customer()
    first = next_best_actions(facts, NOW, catalogue=CATALOGUE)
    done = frozenset({first[0]["key"], first[2]["key"]})
    later = next_best_actions(replace(facts, done_actions=done), NOW + timedelta(hours=6), catalogue=CATALOGUE)
    assert [a["key"] for a in later] == [first[1]["key"], first[3]["key"]]


def test_the_same_situation_gives_the_same_key_later():
    facts = _busy_customer()
    keys = [a["key"] for a in next_best_actions(facts, NOW, catalogue=CATALOGUE)]
    later = [a["key"] for a in next_best_actions(facts, NOW + timedelta(days=2), catalogue=CATALOGUE)]
    assert keys == later


def test_every_action_carries_a_reason():
    for action in next_best_actions(_busy_customer(), NOW, catalogue=CATALOGUE):
        assert set(action) == {"key", "title", "reason", "priority", "rule"}
        assert action["reason"] and action["title"]


def test_a_catalogue_finds_products_by_sku_or_name_but_not_by_a_single_letter():
    catalogue = Catalogue({"TR-2": "Trail Runner 2", "A": "Apron", "X1": "x"})
    assert catalogue.find("Is the trail  runner 2 in stock, or TR-2 in blue? And an apron?") == ["TR-2", "A"]
    assert catalogue.find("a x b") == []
    assert Catalogue({"GEL-13": "Energy gels (12)"}).find("Are your energy gels vegan?") == ["GEL-13"]


def test_a_prebuilt_catalogue_gives_the_same_offers_as_a_mapping():
    facts = customer(message("Is the trail runner 2 waterproof?", days=20))
    assert next_best_actions(facts, NOW, catalogue=Catalogue(CATALOGUE)) == next_best_actions(
        facts, NOW, catalogue=CATALOGUE
    )
