"""The co-purchase counts from Elasticsearch (full mode): fresh within a second of a purchase.

One search on the customers index (whose documents carry the skus each customer bought and their
segment ids) answers everything `recommend.bought_together` needs, in aggregations:

    per sku they own   a filter bucket (its doc count: customers who bought it) with significant_terms
                       over the skus of those customers: each candidate's doc_count is "bought both"
                       and its bg_count "bought the candidate", the counts recommend.pair_score takes.
                       The built-in "percentage" heuristic (together / bought the candidate) picks the
                       CANDIDATES the cosine then ranks; a script heuristic computing the cosine itself
                       would need the painless module, which a minimal Elasticsearch may not ship
    per segment        a filter bucket with the terms its members bought most

Popularity overall comes from the product model (catalog_db), rebuilt periodically, because a terms
aggregation over every customer on every agent view would cost more than the rest of the view. On any
Elasticsearch error the caller falls back to the database's counts.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from crm.personalization.recommend import MIN_SUPPORT

CANDIDATES = 100  # per sku they own
SEGMENT_TOP = 20
# significant_terms' script heuristic: with the bucket as the subset, cosine = together / sqrt(count_a * count_b).
MOST_BOUGHT = [{"_count": "desc"}, {"_key": "asc"}]
COSINE = "params._subset_freq / Math.sqrt(params._subset_size * params._superset_freq)"


@dataclass
class EsCounts:
    customers: int = 0
    counts: Counter = field(default_factory=Counter)
    together: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    segment_popular: dict[int, list[str]] = field(default_factory=dict)


def query_body(basis: list[str], segment_ids: list[int], min_support: int = MIN_SUPPORT) -> dict:
    """The search body for the skus they own and their segments (size 0: aggregations only)."""
    aggs: dict = {}
    if basis:
        aggs["basis"] = {
            "filters": {"filters": {sku: {"term": {"skus": sku}} for sku in basis}},
            "aggs": {
                "together": {
                    "significant_terms": {
                        "field": "skus",
                        "size": CANDIDATES,
                        "min_doc_count": min_support,
                        "percentage": {},
                    }
                }
            },
        }
    if segment_ids:
        aggs["segments"] = {
            "filters": {"filters": {str(sid): {"term": {"segments": sid}} for sid in segment_ids}},
            "aggs": {"top": {"terms": {"field": "skus", "size": SEGMENT_TOP, "order": MOST_BOUGHT}}},
        }
    return {"size": 0, "track_total_hits": False, "query": {"match_all": {}}, "aggregations": aggs}


def parse(response: dict) -> EsCounts:
    found = EsCounts()
    aggs = response.get("aggregations") or {}
    for sku, bucket in ((aggs.get("basis") or {}).get("buckets") or {}).items():
        found.counts[sku] = bucket["doc_count"]
        together = bucket["together"]
        found.customers = max(found.customers, together.get("bg_count", 0))
        for candidate in together["buckets"]:
            if candidate["key"] == sku:
                continue
            found.together[sku][candidate["key"]] = candidate["doc_count"]
            found.counts[candidate["key"]] = candidate["bg_count"]
    for sid, bucket in ((aggs.get("segments") or {}).get("buckets") or {}).items():
        found.segment_popular[int(sid)] = [term["key"] for term in bucket["top"]["buckets"]]
    return found


def co_purchase_counts(basis: list[str], segment_ids: list[int], min_support: int = MIN_SUPPORT) -> EsCounts:
    """Run the search; raises the client's errors (the caller falls back to the database)."""
    from crm.search.elastic import alias, client

    if not basis and not segment_ids:
        return EsCounts()
    response = client().search(index=alias("customer"), **query_body(basis, segment_ids, min_support))
    return parse(response.body)
