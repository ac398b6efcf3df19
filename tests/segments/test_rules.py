"""The rule tree a marketer writes: what is accepted, how a bad node is named, and what a rule means
(pure: the evaluator on hand-written segment_fields, no app)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from marshmallow import ValidationError

from crm.segments.documents import activity_entry, attribute_entries, cents, iso_ms, nps_category
from crm.segments.evaluate import matches
from crm.segments.rules import lower, referenced_segments, segment_paths, validate_rule

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def errors_of(rule) -> dict:
    with pytest.raises(ValidationError) as caught:
        validate_rule(rule)
    return caught.value.messages


def customer(**fields) -> dict:
    base = {
        "customer_id": 1,
        "identifiers": [],
        "channels": [],
        "last_at": {},
        "segments": [],
        "attributes": [],
        "activity": [],
    }
    base.update(fields)
    return base


def purchase(days_ago: float, total: str, skus=(), categories=(), refund=False, currency="USD") -> dict:
    from datetime import timedelta

    data = {
        "items": [{"sku": s, "category": c} for s, c in zip(skus, categories or [None] * len(skus), strict=False)],
        "total": total,
        "currency": currency,
        "refund": refund,
    }
    return activity_entry("store", "purchase", "inbound", NOW - timedelta(days=days_ago), data, "USD")


def message(days_ago: float, channel="email", direction="inbound") -> dict:
    from datetime import timedelta

    return activity_entry(channel, "message", direction, NOW - timedelta(days=days_ago), None, "USD")


def holds(rule, fields) -> bool:
    return matches(lower(validate_rule(rule), NOW), fields)


def test_a_bad_node_is_named_by_its_path():
    errors = errors_of(
        {
            "all": [
                {"condition": "interactions", "channel": "email", "op": "gte", "value": 2},
                {"any": [{"condition": "spend", "op": "gte", "value": -5}, {"condition": "nope"}]},
                {"not": {"condition": "attribute", "key": "address.city", "op": "gt", "value": "x"}},
            ]
        }
    )
    assert set(errors) == {"$.all[1].any[0].value", "$.all[1].any[1].condition", "$.all[2].not.op"}
    assert "0 or more" in errors["$.all[1].any[0].value"][0]


@pytest.mark.parametrize(
    "rule, path",
    [
        ([], "$"),
        ({"all": []}, "$.all"),
        ({"all": [{"condition": "nps"}]}, "$.all[0].category"),
        ({"condition": "bought", "sku": "A", "category": "B"}, "$.sku"),
        ({"condition": "interactions", "op": "gte", "value": 1.5}, "$.value"),
        ({"condition": "interactions", "op": "gte", "value": 1, "channel": "fax"}, "$.channel"),
        ({"condition": "profile", "field": "ltv_amount", "op": "contains", "value": "1"}, "$.op"),
        ({"condition": "profile", "field": "shoe", "op": "eq", "value": 1}, "$.field"),
        ({"condition": "attribute", "key": "custom.Tier", "op": "eq", "value": "gold"}, "$.key"),
        ({"condition": "attribute", "key": "birth_date", "type": "number", "op": "eq", "value": 1}, "$.type"),
        ({"condition": "last_interaction", "op": "before", "value": "2026-01-01T00:00:00"}, "$.value"),
        ({"condition": "spend", "op": "between", "value": [10, 5]}, "$.value"),
        ({"condition": "csat", "at_most": 9}, "$.at_most"),
        ({"condition": "segment", "segment_id": "3"}, "$.segment_id"),
        ({"all": [{"condition": "nps", "category": "promoter"}], "extra": 1}, "$"),
        ({"condition": "nps", "category": "promoter", "colour": "red"}, "$.colour"),
    ],
)
def test_each_kind_of_mistake_names_its_place(rule, path):
    assert path in errors_of(rule)


def test_a_valid_tree_is_stored_as_given():
    rule = {
        "any": [
            {"condition": "bought", "category": "Shoes", "within_days": 90},
            {"not": {"condition": "identifier", "kind": "phone"}},
        ]
    }
    assert validate_rule(rule) == rule


def test_segment_references_are_found_with_their_paths():
    rule = {"all": [{"condition": "segment", "segment_id": 4}, {"not": {"condition": "segment", "segment_id": 9}}]}
    assert segment_paths(rule) == [("$.all[0].segment_id", 4), ("$.all[1].not.segment_id", 9)]
    assert referenced_segments(rule) == {4, 9}


def test_fewer_than_n_includes_customers_with_no_interactions_at_all():
    rule = {"condition": "interactions", "channel": "email", "op": "lt", "value": 2}
    assert holds(rule, customer())
    assert holds(rule, customer(activity=[message(1)]))
    assert not holds(rule, customer(activity=[message(1), message(2)]))


def test_count_within_a_window_is_measured_from_now():
    rule = {"condition": "interactions", "channel": "email", "within_days": 30, "op": "gte", "value": 2}
    assert not holds(rule, customer(activity=[message(1), message(31)]))
    assert holds(rule, customer(activity=[message(1), message(29.9)]))


def test_count_between_and_equal():
    fields = customer(activity=[message(1), message(2), message(3, channel="chat")])
    assert holds({"condition": "interactions", "op": "eq", "value": 3}, fields)
    assert holds({"condition": "interactions", "op": "between", "value": [1, 2], "channel": "email"}, fields)
    assert not holds({"condition": "interactions", "op": "ne", "value": 3}, fields)
    assert holds({"condition": "interactions", "op": "gt", "value": 0, "channel": ["chat", "phone"]}, fields)


def test_spend_counts_purchases_in_cents_and_leaves_out_refunds_and_other_currencies():
    fields = customer(
        activity=[
            purchase(1, "60.10"),
            purchase(2, "39.90"),
            purchase(3, "500.00", refund=True),
            purchase(4, "999", currency="EUR"),
            purchase(400, "1000"),
        ]
    )
    assert holds({"condition": "spend", "within_days": 30, "op": "gte", "value": 100}, fields)
    assert not holds({"condition": "spend", "within_days": 30, "op": "gt", "value": 100}, fields)
    assert holds({"condition": "spend", "within_days": 30, "op": "eq", "value": 100.0}, fields)
    assert holds({"condition": "spend", "currency": "EUR", "op": "eq", "value": 999}, fields)
    assert holds({"condition": "spend", "op": "gte", "value": 1100}, fields)


def test_bought_a_sku_or_a_category_within_a_window():
    fields = customer(
        activity=[purchase(10, "20", skus=["SKU-1"], categories=["shoes"]), purchase(100, "5", ["SKU-2"])]
    )
    assert holds({"condition": "bought", "sku": "SKU-1"}, fields)
    assert holds({"condition": "bought", "category": "shoes", "within_days": 30}, fields)
    assert not holds({"condition": "bought", "sku": "SKU-2", "within_days": 30}, fields)
    refunded = customer(activity=[purchase(1, "20", skus=["SKU-1"], refund=True)])
    assert not holds({"condition": "bought", "sku": "SKU-1"}, refunded)


def test_attributes_compare_by_type_and_case_insensitively():
    fields = customer(
        attributes=[
            *attribute_entries("address", {"city": "London", "postcode": "N1 9GU"}),
            *attribute_entries("custom.shoe_size", 9.5),
            *attribute_entries("custom.vip", True),
            *attribute_entries("custom.member_since", "2019-05-01"),
            *attribute_entries("consent.email", {"granted": False, "at": None}),
        ]
    )
    assert holds({"condition": "attribute", "key": "address.city", "op": "eq", "value": "LONDON"}, fields)
    assert holds({"condition": "attribute", "key": "address.postcode", "op": "contains", "value": "n1 "}, fields)
    assert holds({"condition": "attribute", "key": "custom.shoe_size", "op": "between", "value": [9, 10]}, fields)
    assert not holds({"condition": "attribute", "key": "custom.shoe_size", "op": "eq", "value": "9.5"}, fields)
    assert holds({"condition": "attribute", "key": "custom.vip", "op": "eq", "value": True}, fields)
    assert holds(
        {"condition": "attribute", "key": "custom.member_since", "op": "before", "value": "2020-01-01"}, fields
    )
    assert holds({"condition": "attribute", "key": "consent.email", "op": "eq", "value": False}, fields)
    assert holds({"condition": "attribute", "key": "custom.tier", "op": "ne", "value": "gold"}, fields)
    assert not holds({"condition": "attribute", "key": "custom.tier", "op": "exists"}, fields)
    assert holds({"condition": "attribute", "key": "custom.vip", "op": "exists"}, fields)


def test_within_the_last_days_on_a_date_attribute_counts_whole_days():
    fields = customer(attributes=attribute_entries("custom.member_since", "2026-05-02"))
    assert holds(
        {"condition": "attribute", "key": "custom.member_since", "op": "within_last_days", "value": 30}, fields
    )
    assert not holds(
        {"condition": "attribute", "key": "custom.member_since", "op": "within_last_days", "value": 29}, fields
    )


def test_cx_and_stage_and_membership_conditions():
    fields = customer(nps_category=nps_category(6), csat_score=3.0, open_cases=2.0, journey_stage="loyal", segments=[7])
    assert holds({"condition": "nps", "category": "detractor"}, fields)
    assert holds({"condition": "csat", "at_most": 3}, fields)
    assert not holds({"condition": "csat", "at_most": 2.5}, fields)
    assert holds({"condition": "open_cases", "op": "gte", "value": 2}, fields)
    assert holds({"condition": "journey_stage", "op": "in", "value": ["Loyal", "advocate"]}, fields)
    assert holds({"condition": "segment", "segment_id": 7}, fields)
    assert not holds({"condition": "segment", "segment_id": 8}, fields)


def test_last_interaction_on_a_channel_before_or_after():
    fields = customer(last_at={"chat": iso_ms(datetime(2026, 3, 1, tzinfo=UTC))})
    assert holds({"condition": "last_interaction", "channel": "chat", "op": "before", "value": "2026-04-01"}, fields)
    assert not holds({"condition": "last_interaction", "channel": "chat", "op": "after", "value": "2026-04-01"}, fields)
    assert not holds(
        {"condition": "last_interaction", "channel": "email", "op": "before", "value": "2026-04-01"}, fields
    )


def test_amounts_round_half_up_to_cents_and_never_go_negative():
    assert cents("10.005") == 1001
    assert cents("19.99") == 1999
    assert cents("-4") == 0
    assert cents(None) is None
