"""The Elasticsearch compiler: a compiled tree as a query on the customers index, and the preview on it.

This Elasticsearch has no scripting, so behaviour conditions are built from scores: each activity
entry in the window scores 1 (count) or its total in cents (spend), a `nested` query with
`score_mode: sum` adds them up per customer, and `function_score` with `min_score: k` keeps the
customers whose sum reaches k. Everything else is a filter. "Fewer than k" is the negation of
"at least k", so a customer with no entry at all is counted as zero, as the evaluator does.
"""

from __future__ import annotations

from crm.segments.documents import ROOT
from crm.segments.tree import All, AnyOf, AtLeast, Attr, Cmp, Const, Has, Not, Window

ACTIVITY = f"{ROOT}.activity"
ATTRIBUTES = f"{ROOT}.attributes"
BREAKDOWN_SIZE = 50


def compile_query(node) -> dict:
    """The query (filter context) selecting the customers the tree matches."""
    if isinstance(node, Const):
        return {"match_all": {}} if node.value else {"match_none": {}}
    if isinstance(node, All):
        return {"bool": {"filter": [compile_query(c) for c in node.children]}}
    if isinstance(node, AnyOf):
        return {"bool": {"should": [compile_query(c) for c in node.children], "minimum_should_match": 1}}
    if isinstance(node, Not):
        return {"bool": {"must_not": [compile_query(node.child)]}}
    if isinstance(node, Has):
        return {"term": {f"{ROOT}.{node.field}": node.value}}
    if isinstance(node, Cmp):
        return _compare(node)
    if isinstance(node, AtLeast):
        return _at_least(node)
    raise TypeError(f"not a rule node: {node!r}")


def _escape_wildcard(value: str) -> str:
    return "".join("\\" + ch if ch in "*?\\" else ch for ch in value)


def _condition(field: str, op: str, value) -> dict:
    if op == "exists":
        return {"exists": {"field": field}}
    if op == "eq":
        return {"term": {field: value}}
    if op == "in":
        return {"terms": {field: list(value)}}
    if op == "contains":
        return {"wildcard": {field: {"value": f"*{_escape_wildcard(value)}*"}}}
    if op in ("lt", "lte", "gt", "gte"):
        return {"range": {field: {op: value}}}
    raise ValueError(f"unknown operator {op}")


def _compare(node: Cmp) -> dict:
    target = node.target
    if isinstance(target, Attr):
        inner = [{"term": {f"{ATTRIBUTES}.key": target.key}}]
        if target.slot is not None:
            inner.append(_condition(f"{ATTRIBUTES}.{target.slot}", node.op, node.value))
        return {"nested": {"path": ATTRIBUTES, "query": {"bool": {"filter": inner}}}}
    return _condition(f"{ROOT}.{target.name}", node.op, node.value)


def window_filter(window: Window) -> list[dict]:
    out: list[dict] = []
    for field, chosen in (("channel", window.channels), ("type", window.types), ("direction", window.directions)):
        if chosen is not None:
            out.append({"terms": {f"{ACTIVITY}.{field}": sorted(chosen)}})
    if window.since is not None:
        out.append({"range": {f"{ACTIVITY}.occurred_at": {"gte": window.since}}})
    if window.purchases_only:
        out.append({"term": {f"{ACTIVITY}.type": "purchase"}})
        out.append({"bool": {"must_not": [{"term": {f"{ACTIVITY}.refund": True}}]}})
    if window.currency is not None:
        out.append({"term": {f"{ACTIVITY}.currency": window.currency}})
    if window.sku is not None:
        out.append({"term": {f"{ACTIVITY}.skus": window.sku}})
    if window.category is not None:
        out.append({"term": {f"{ACTIVITY}.categories": window.category}})
    return out


def _at_least(node: AtLeast) -> dict:
    entries = {"bool": {"filter": window_filter(node.window)}} if window_filter(node.window) else {"match_all": {}}
    if node.measure == "count":
        per_entry = {"constant_score": {"filter": entries, "boost": 1.0}}
    else:
        per_entry = {
            "function_score": {
                "query": {"constant_score": {"filter": entries}},
                "functions": [{"field_value_factor": {"field": f"{ACTIVITY}.total_cents", "missing": 0}}],
                "boost_mode": "replace",
            }
        }
    # Scores are 32-bit floats: sums of whole numbers are exact up to 2**24 (167,772.16 in cents).
    summed = {"nested": {"path": ACTIVITY, "score_mode": "sum", "query": per_entry}}
    return {"function_score": {"query": summed, "boost_mode": "replace", "min_score": float(node.k)}}


def filtered(node) -> dict:
    """The tree as a top-level query in filter context: nothing is scored but the sums that need it."""
    return {"bool": {"filter": [compile_query(node)]}}


def _es():
    from crm.search.elastic import alias, client

    return client(), alias("customer")


def count(node, *, index: str | None = None) -> int:
    es, read = _es()
    return es.count(index=index or read, query=filtered(node))["count"]


def preview(node, *, size: int = 20, index: str | None = None) -> dict:
    """{count, ids (the first `size`, most recently seen first), breakdown {channel, journey_stage}} in one search."""
    es, read = _es()
    result = es.search(
        index=index or read,
        query=filtered(node),
        size=size,
        track_total_hits=True,
        source=False,
        docvalue_fields=[f"{ROOT}.customer_id"],
        sort=[
            {f"{ROOT}.last_seen_at": {"order": "desc", "missing": "_last"}},
            {f"{ROOT}.customer_id": {"order": "desc"}},
        ],
        aggs={
            "channel": {"terms": {"field": f"{ROOT}.channels", "size": BREAKDOWN_SIZE}},
            "journey_stage": {"terms": {"field": f"{ROOT}.journey_stage", "size": BREAKDOWN_SIZE, "missing": "unset"}},
        },
    )
    ids = [int(hit["fields"][f"{ROOT}.customer_id"][0]) for hit in result["hits"]["hits"]]
    breakdown = {
        name: {b["key"]: b["doc_count"] for b in result["aggregations"][name]["buckets"]}
        for name in ("channel", "journey_stage")
    }
    return {"count": result["hits"]["total"]["value"], "ids": ids, "breakdown": breakdown}


def matching_ids(node, *, index: str | None = None, batch: int = 5000) -> list[int]:
    """Every matching customer id (search_after on customer_id), for checks and tools."""
    es, read = _es()
    out: list[int] = []
    after = None
    while True:
        kwargs = {"search_after": after} if after else {}
        result = es.search(
            index=index or read,
            query=filtered(node),
            size=batch,
            source=False,
            docvalue_fields=[f"{ROOT}.customer_id"],
            sort=[{f"{ROOT}.customer_id": "asc"}],
            **kwargs,
        )
        hits = result["hits"]["hits"]
        out.extend(int(h["fields"][f"{ROOT}.customer_id"][0]) for h in hits)
        if len(hits) < batch:
            return out
        after = hits[-1]["sort"]
