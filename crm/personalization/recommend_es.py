"""The co-purchase counts from Elasticsearch (full mode): fresh within a second of a purchase.

One search on the customers index (whose documents carry the skus each customer bought) answers the
counts `recommend.pair_score` takes, in aggregations: for each sku they own, a filter bucket (its doc
count: customers who bought it) with significant_terms over those customers' skus, where each
candidate's doc_count is "bought both" and its bg_count "bought the candidate". The built-in
"percentage" heuristic (together / bought the candidate) picks the CANDIDATES the cosine then ranks;
a script heuristic computing the cosine itself would need the painless module, which a minimal
Elasticsearch may not ship.

Segments' favourites and popularity overall come from the product model (catalog_db): they move
slowly, and a terms aggregation over a segment's members on every agent view cost as much as this
search (measured at 100k customers). On any Elasticsearch error the caller falls back to the
database's counts.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from crm.personalization.recommend import MIN_SUPPORT

CANDIDATES = 100  # per sku they own
# The search runs here while the request thread reads the rest of the view from the database; the
# threads only wait on Elasticsearch (no app context, no session).
_SEARCHES = ThreadPoolExecutor(max_workers=4, thread_name_prefix="crm-recommend")


@dataclass
class EsCounts:
    customers: int = 0
    counts: Counter = field(default_factory=Counter)
    together: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))


def query_body(basis: list[str], min_support: int = MIN_SUPPORT) -> dict:
    """The search body for the skus they own (size 0: aggregations only)."""
    together = {
        "significant_terms": {"field": "skus", "size": CANDIDATES, "min_doc_count": min_support, "percentage": {}}
    }
    aggs = {
        "basis": {
            "filters": {"filters": {sku: {"term": {"skus": sku}} for sku in basis}},
            "aggs": {"together": together},
        }
    }
    return {"size": 0, "track_total_hits": False, "query": {"match_all": {}}, "aggregations": aggs}


def parse(response: dict) -> EsCounts:
    found = EsCounts()
    for sku, bucket in (((response.get("aggregations") or {}).get("basis") or {}).get("buckets") or {}).items():
        found.counts[sku] = bucket["doc_count"]
        together = bucket["together"]
        found.customers = max(found.customers, together.get("bg_count", 0))
        for candidate in together["buckets"]:
            if candidate["key"] == sku:
                continue
            found.together[sku][candidate["key"]] = candidate["doc_count"]
            found.counts[candidate["key"]] = candidate["bg_count"]
    return found


def co_purchase_counts_later(basis: list[str], min_support: int = MIN_SUPPORT) -> Future[EsCounts]:
    """The search, sent on a worker thread: its result, or the client's error (the caller falls back to
    the database), when it arrives."""
    from crm.search.elastic import alias, client

    if not basis:
        done: Future[EsCounts] = Future()
        done.set_result(EsCounts())
        return done
    es, index, body = client(), alias("customer"), query_body(basis, min_support)
    return _SEARCHES.submit(lambda: parse(es.search(index=index, **body).body))
