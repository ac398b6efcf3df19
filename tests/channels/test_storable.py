"""What makes a canonical dict storable, whoever built it: plain data in, a cleaned copy and errors out."""

from __future__ import annotations

import math

import pytest
from marshmallow import ValidationError

from crm.channels.canonical import load_interactions
from crm.channels.storable import MAX_DEPTH, merge_errors, storable


def test_nul_and_lone_surrogates_leave_keys_and_values_and_the_input_is_untouched():
    item = {"te\x00xt": "a\x00b", "list": ["\ud800ok", 1, None, True], "nested": {"k": "v\x00"}}
    clean, errors = storable(item)
    assert errors == {}
    assert clean["text"] == "ab" and clean["nested"] == {"k": "v"}
    assert clean["list"][0].endswith("ok") and "\ud800" not in clean["list"][0] and clean["list"][1:] == [1, None, True]
    assert item["te\x00xt"] == "a\x00b", "the caller's dict is not changed"


@pytest.mark.parametrize("number", [math.inf, -math.inf, math.nan])
def test_a_number_that_is_not_finite_is_named_where_it_stands(number):
    _, errors = storable({"data": {"readings": [1.5, number]}})
    assert errors == {"data": {"readings": {"1": ["must be a finite number"]}}}


def test_nesting_deeper_than_the_limit_is_named():
    deep: dict = {}
    node = deep
    for _ in range(MAX_DEPTH + 5):
        node["k"] = {}
        node = node["k"]
    _, errors = storable({"data": deep})
    path = errors["data"]
    for _ in range(MAX_DEPTH - 2):
        path = path["k"]
    assert path == {"k": [f"nested deeper than {MAX_DEPTH} levels"]}


def test_error_trees_merge_keeping_each_message_once():
    first = {"customer": {"attributes": {"custom": {"x": ["must be a finite number"]}}}}
    second = {
        "customer": {"attributes": {"custom": {"x": ["must be a finite number"], "Y": ["bad key"]}}},
        "type": ["?"],
    }
    assert merge_errors(first, second) == {
        "customer": {"attributes": {"custom": {"x": ["must be a finite number"], "Y": ["bad key"]}}},
        "type": ["?"],
    }


def test_load_interactions_reports_unstorable_values_with_the_schemas_own_errors():
    item = {
        "external_id": "x\x00",
        "occurred_at": "2026-01-01T00:00:00Z",
        "type": "fax",
        "direction": "inbound",
        "customer": {"email": "a@example.com"},
        "data": {"extra": math.inf},
    }
    with pytest.raises(ValidationError) as caught:
        load_interactions([item])
    assert caught.value.messages == {"type": ["Must be one of: message, call, visit, purchase, survey, note."],
                                     "data": {"extra": ["must be a finite number"]}}  # fmt: skip
    [loaded] = load_interactions([{**item, "type": "note", "data": {"extra": 1}}])
    assert loaded["external_id"] == "x"
