"""Recommendations from the database: bought together, then popular in their segments, then overall."""

from __future__ import annotations

import pytest

from crm.extensions import db
from crm.personalization.catalog_db import ProductCount, ProductPair, product_table
from crm.personalization.loader import load_customer
from crm.personalization.recommend_db import recommend
from crm.segments.models import Segment, SegmentMember

from .feed import ago, customer_id_of, deliver, message, purchase, settle


def _who(n: int) -> dict:
    return {"email": f"shopper{n}@example.com"}


def _recommend(email: str) -> list[dict]:
    return recommend(load_customer(customer_id_of(email)))


def test_customers_who_bought_a_tent_are_offered_the_pegs_others_bought_with_it(app):
    for n in range(3):
        deliver("store", purchase(_who(n), ago(30), "TENT"), purchase(_who(n), ago(20), "PEGS"))
    deliver("store", purchase(_who(9), ago(10), "MUG"), purchase(_who(8), ago(10), "MUG"))
    deliver("store", purchase({"email": "new@example.com"}, ago(2), "TENT"))
    settle()

    picks = _recommend("new@example.com")
    assert picks[0]["sku"] == "PEGS"
    assert picks[0]["source"] == "bought_together"
    assert picks[0]["reason"] == "bought together with Tent by 3 customers"
    assert "TENT" not in [p["sku"] for p in picks]
    # Then what is popular overall, with its own reason.
    assert picks[1] == {**picks[1], "sku": "MUG", "source": "popular"}
    assert picks[1]["reason"] == "popular with all customers (bought by 2)"


def test_nothing_they_bought_or_sent_back_is_recommended(app):
    for n in range(3):
        deliver("store", purchase(_who(n), ago(30), "TENT", "PEGS", "STOVE"))
    me = {"email": "me@example.com"}
    deliver("store", purchase(me, ago(9), "TENT"), purchase(me, ago(8), "STOVE"))
    deliver("store", purchase(me, ago(7), "PEGS", refund=True))
    settle()
    assert [p["sku"] for p in _recommend("me@example.com")] == []


def test_a_pair_bought_by_one_customer_only_is_an_anecdote_not_a_recommendation(app):
    deliver("store", purchase(_who(1), ago(30), "TENT", "PEGS"))
    deliver("store", purchase({"email": "me@example.com"}, ago(3), "TENT"))
    settle()
    assert db.session.get(ProductPair, ("TENT", "PEGS")) is None
    picks = _recommend("me@example.com")
    assert [(p["sku"], p["source"]) for p in picks] == [("PEGS", "popular")]


def test_refunds_do_not_count_as_purchases_in_the_model(app):
    for n in range(3):
        deliver("store", purchase(_who(n), ago(30), "TENT"), purchase(_who(n), ago(29), "PEGS", refund=True))
    settle()
    assert db.session.get(ProductCount, "PEGS") is None
    assert db.session.get(ProductCount, "TENT").customers == 3
    assert product_table().customers == 3


def test_without_a_pattern_their_segments_favourites_come_before_overall_popularity(app):
    for n in range(4):
        deliver("store", purchase(_who(n), ago(30), "MUG"))
    for n in range(10, 12):
        deliver("store", purchase(_who(n), ago(30), "KAYAK"))
    me = {"email": "me@example.com"}
    deliver("store", purchase(me, ago(3), "HAT"))
    paddlers = Segment(name="Paddlers", rule={})
    db.session.add(paddlers)
    db.session.flush()
    for email in ("shopper10@example.com", "shopper11@example.com", "me@example.com"):
        db.session.add(SegmentMember(segment_id=paddlers.id, customer_id=customer_id_of(email)))
    db.session.commit()
    settle()

    picks = _recommend("me@example.com")
    assert [(p["sku"], p["source"]) for p in picks] == [("KAYAK", "segment"), ("MUG", "popular")]
    assert picks[0]["reason"] == "popular in segment Paddlers"


def test_before_any_purchase_a_customer_gets_what_is_popular(app):
    for n in range(3):
        deliver("store", purchase(_who(n), ago(30), "MUG"))
    deliver("email", message({"email": "browser@example.com"}, ago(1), "Do you sell mugs?"))
    settle()
    picks = _recommend("browser@example.com")
    assert [p["sku"] for p in picks] == ["MUG"]


def test_the_products_command_rebuilds_the_model_and_says_what_it_holds(app):
    for n in range(2):
        deliver("store", purchase(_who(n), ago(30), "TENT", "PEGS"))
    result = app.test_cli_runner().invoke(args=["personalization", "products"])
    assert result.exit_code == 0, result.output
    assert "product model: 2 products, 2 pairs bought together by 2+ customers, 2 customers" in result.output


@pytest.mark.services
def test_in_full_mode_new_purchases_count_as_soon_as_they_are_indexed(app):
    from crm.search import drain

    settle()  # an empty product model: everything below is only in Elasticsearch
    for n in range(3):
        deliver("store", purchase(_who(n), ago(30), "TENT", "PEGS"))
    deliver("store", purchase({"email": "me@example.com"}, ago(3), "TENT"))
    while drain():
        pass
    picks = _recommend("me@example.com")
    assert picks[0]["sku"] == "PEGS" and picks[0]["reason"] == "bought together with TENT by 3 customers"


@pytest.mark.services
def test_in_full_mode_a_search_failure_falls_back_to_the_database(app):
    for n in range(3):
        deliver("store", purchase(_who(n), ago(30), "TENT", "PEGS"))
    deliver("store", purchase({"email": "me@example.com"}, ago(3), "TENT"))
    settle()
    app.config["SEARCH_INDEX_PREFIX"] = "crmt-missing-index"  # every search now answers 404
    picks = _recommend("me@example.com")
    assert picks[0]["sku"] == "PEGS" and picks[0]["reason"] == "bought together with Tent by 3 customers"
