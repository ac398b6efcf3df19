"""The in-memory evaluator: does one customer's segment_fields (crm.segments.documents) satisfy a tree?

Used for real-time membership after each processed interaction, and as the last word when a refresh
changes a membership. It reads the same object the index holds, with the same meaning as the
Elasticsearch and SQL compilers; tests hold the three to agreement.
"""

from __future__ import annotations

from crm.segments.tree import All, AnyOf, AtLeast, Attr, Cmp, Const, Field, Has, Not, Window


def matches(node, fields: dict) -> bool:
    """fields: the `segment_fields` object of one customer."""
    if isinstance(node, All):
        return all(matches(c, fields) for c in node.children)
    if isinstance(node, AnyOf):
        return any(matches(c, fields) for c in node.children)
    if isinstance(node, Not):
        return not matches(node.child, fields)
    if isinstance(node, Const):
        return node.value
    if isinstance(node, Has):
        return node.value in (fields.get(node.field) or ())
    if isinstance(node, Cmp):
        return _compare(node, fields)
    if isinstance(node, AtLeast):
        return _measure(node, fields.get("activity") or ()) >= node.k
    raise TypeError(f"not a rule node: {node!r}")


def _field_value(target: Field, fields: dict):
    if target.name.startswith("last_at."):
        return (fields.get("last_at") or {}).get(target.name.split(".", 1)[1])
    return fields.get(target.name)


def _compare(node: Cmp, fields: dict) -> bool:
    if isinstance(node.target, Attr):
        entries = [e for e in fields.get("attributes") or () if e["key"] == node.target.key]
        slot = node.target.slot
        if slot is None:  # exists of any type
            return bool(entries)
        return any(_holds(node.op, e.get(slot), node.value) for e in entries)
    return _holds(node.op, _field_value(node.target, fields), node.value)


def _holds(op: str, actual, expected) -> bool:
    if actual is None:
        return False
    if op == "exists":
        return True
    if op == "eq":
        return actual == expected
    if op == "in":
        return actual in expected
    if op == "contains":
        return expected in actual
    if op == "lt":
        return actual < expected
    if op == "lte":
        return actual <= expected
    if op == "gt":
        return actual > expected
    if op == "gte":
        return actual >= expected
    raise ValueError(f"unknown operator {op}")


def in_window(window: Window, entry: dict) -> bool:
    if window.channels is not None and entry["channel"] not in window.channels:
        return False
    if window.types is not None and entry["type"] not in window.types:
        return False
    if window.directions is not None and entry["direction"] not in window.directions:
        return False
    if window.since is not None and entry["occurred_at"] < window.since:
        return False
    if window.purchases_only and (entry["type"] != "purchase" or entry.get("refund")):
        return False
    if window.currency is not None and entry.get("currency") != window.currency:
        return False
    if window.sku is not None and window.sku not in (entry.get("skus") or ()):
        return False
    return window.category is None or window.category in (entry.get("categories") or ())


def _measure(node: AtLeast, activity) -> int:
    chosen = [e for e in activity if in_window(node.window, e)]
    if node.measure == "count":
        return len(chosen)
    return sum(e.get("total_cents") or 0 for e in chosen)
