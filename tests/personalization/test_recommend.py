from __future__ import annotations

import math

import pytest

from crm.personalization.recommend import PurchaseIndex, bought_together, pair_score, popular_baseline

NAMES = {"tent": "Family Tent", "pegs": "Tent Pegs", "stove": "Camp Stove", "mug": "Mug", "socks": "Socks"}
HISTORY = {
    1: {"tent", "pegs", "stove"},
    2: {"tent", "pegs"},
    3: {"tent", "pegs", "mug"},
    4: {"tent", "stove"},
    5: {"socks", "mug"},
    6: {"socks"},
    7: {"socks", "mug"},
    8: {"socks", "mug", "stove"},
}


def test_pair_scores_follow_their_formulas():
    assert pair_score(3, 4, 9, 100, "cosine") == pytest.approx(3 / math.sqrt(36))
    assert pair_score(3, 4, 9, 100, "lift") == pytest.approx(3 * 100 / 36)
    assert pair_score(3, 4, 9, 100, "jaccard") == pytest.approx(3 / 10)
    assert pair_score(0, 4, 9, 100) == 0.0
    with pytest.raises(ValueError, match="unknown method"):
        pair_score(1, 1, 1, 1, "magic")


def test_bought_together_names_the_partner_and_how_many_bought_both():
    [first, *_] = bought_together(HISTORY, {"tent"}, names=NAMES)
    assert first == {
        "sku": "pegs",
        "name": "Tent Pegs",
        "score": pytest.approx(3 / math.sqrt(4 * 3), abs=1e-4),
        "reason": "bought together with Family Tent by 3 customers",
        "source": "bought_together",
    }


def test_what_they_already_bought_is_never_recommended():
    skus = [r["sku"] for r in bought_together(HISTORY, {"tent", "pegs"}, names=NAMES)]
    assert "tent" not in skus and "pegs" not in skus


def test_a_pair_bought_together_once_is_not_a_pattern():
    recommended = bought_together(HISTORY, {"pegs"}, names=NAMES, limit=5)
    # pegs and mug share only customer 3: no co-purchase recommendation for mug
    assert all(not (r["sku"] == "mug" and r["source"] == "bought_together") for r in recommended)


def test_falls_back_to_popular_in_their_segment_then_overall():
    recommended = bought_together(
        HISTORY,
        {"socks"},
        names=NAMES,
        segments=("VIP",),
        segment_popular={"VIP": ["socks", "stove"]},
        limit=4,
    )
    assert [(r["sku"], r["source"]) for r in recommended] == [
        ("mug", "bought_together"),
        ("stove", "segment"),
        ("tent", "popular"),
        ("pegs", "popular"),
    ]
    assert recommended[1]["reason"] == "popular in segment VIP"
    assert recommended[2]["reason"] == "popular with all customers (bought by 4)"
    assert [r["score"] for r in recommended] == sorted((r["score"] for r in recommended), reverse=True)


def test_a_new_customer_gets_the_popular_products():
    assert [r["sku"] for r in bought_together(HISTORY, set(), limit=2)] == ["mug", "socks"]


def test_a_prebuilt_index_gives_the_same_answer_as_the_history():
    index = PurchaseIndex.from_history(HISTORY)
    assert bought_together(index, {"tent"}, names=NAMES) == bought_together(HISTORY, {"tent"}, names=NAMES)


def test_the_popularity_baseline_skips_what_they_own():
    assert popular_baseline(PurchaseIndex.from_history(HISTORY), {"mug"}, limit=2) == ["socks", "tent"]
