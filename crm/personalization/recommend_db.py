"""Recommendations for one customer from the database: "bought together", then popular in their
segments, then popular overall, never something they bought, each with its reason.

The counts feed the pure `recommend.bought_together`, so every path ranks exactly as the algorithm
the bench measures. In full mode the co-purchase counts come from Elasticsearch aggregations over the
customers index (recommend_es: fresh within a second of a purchase); in embedded mode, or when
Elasticsearch fails, from the product model the database holds (catalog_db: one indexed read of the
pairs of the skus they own). Names, segments' favourites and the overall popularity come from the
product model in both modes (one indexed read of their segments' top products).
"""

from __future__ import annotations

from collections import ChainMap, Counter, defaultdict
from collections.abc import Callable

from sqlalchemy import select

from crm import jobs
from crm.extensions import db
from crm.personalization.catalog_db import ProductPair, ProductTable, product_table, segment_popular
from crm.personalization.facts import CustomerFacts
from crm.personalization.loader import LoadedCustomer
from crm.personalization.recommend import MIN_SUPPORT, PurchaseIndex, bought_together

LIMIT = 5
MAX_BASIS = 50  # the most recent distinct skus that seed the co-purchase lookup
ES_BASIS = 15


def owned_skus(facts: CustomerFacts) -> list[str]:
    """Skus of every purchase they made (refunded ones too: what they sent back is no recommendation),
    most recent first."""
    seen: dict[str, None] = {}
    for interaction in facts.interactions:
        if interaction.type == "purchase":
            for sku in interaction.skus:
                seen.setdefault(sku)
    return list(seen)


def pairs_for(skus: list[str]) -> dict[str, Counter]:
    """sku a -> Counter(sku b: customers who bought both), for the given a's, from the product model."""
    together: dict[str, Counter] = defaultdict(Counter)
    if not skus:
        return together
    stmt = select(ProductPair.sku_a, ProductPair.sku_b, ProductPair.customers).where(ProductPair.sku_a.in_(skus))
    for a, b, count in db.session.execute(stmt):
        together[a][b] = count
    return together


def _counts_from_database(table: ProductTable, basis: list[str], segment_ids: list[int]):
    index = PurchaseIndex(customers=table.customers, counts=table.counter, together=pairs_for(basis))
    return index, segment_popular(segment_ids)


def _counts_from_elasticsearch(table: ProductTable, found, segment_ids: list[int]):
    # Counts Elasticsearch did not return (fallback candidates) come from the product model. A plain dict
    # first: a Counter answers 0 for a missing key, and ChainMap would never look further.
    counts = ChainMap(dict(found.counts), table.counter)
    index = PurchaseIndex(customers=found.customers or table.customers, counts=counts, together=found.together)
    # A segment's favourites move slowly and a terms aggregation over its members costs as much as the
    # co-purchase search itself (measured at 100k customers): they come from the product model.
    return index, segment_popular(segment_ids)


def counts_later(
    table: ProductTable, basis: list[str], segment_ids: list[int], min_support: int = MIN_SUPPORT
) -> Callable[[], tuple]:
    """Start reading the counts the ranking needs; the returned function gives (PurchaseIndex, segment id
    -> its top skus). The Elasticsearch search is sent now and the function waits for it, falling back to
    the database's counts if it failed."""
    from crm.search import uses_elasticsearch

    if not uses_elasticsearch():
        return lambda: _counts_from_database(table, basis, segment_ids)
    from crm.personalization.recommend_es import co_purchase_counts_later
    from crm.search.elastic import ES_ERRORS, describe

    # Each sku is a filter bucket with its own significant_terms: the latest ES_BASIS keep the search cheap.
    search = co_purchase_counts_later(basis[:ES_BASIS], min_support)

    def finish() -> tuple:
        try:
            return _counts_from_elasticsearch(table, search.result(), segment_ids)
        except ES_ERRORS as exc:
            jobs.warn_once("recommend-es", f"recommendations from the database: Elasticsearch failed ({describe(exc)})")
        return _counts_from_database(table, basis, segment_ids)

    return finish


def recommend(
    loaded: LoadedCustomer,
    limit: int = LIMIT,
    table: ProductTable | None = None,
    min_support: int = MIN_SUPPORT,
) -> list[dict]:
    """Up to `limit` recommendations {sku, name, score, reason, source}, best first."""
    return recommend_later(loaded, limit, table, min_support)()


def recommend_later(
    loaded: LoadedCustomer,
    limit: int = LIMIT,
    table: ProductTable | None = None,
    min_support: int = MIN_SUPPORT,
) -> Callable[[], list[dict]]:
    """`recommend` in two steps: the counts' search starts now, the returned function ranks once it is in,
    so the caller can read the rest of a view meanwhile."""
    table = table or product_table()
    owned = owned_skus(loaded.facts)
    # Everything they own is excluded; the latest MAX_BASIS seed the candidates.
    pending = counts_later(table, owned[:MAX_BASIS], list(loaded.segment_ids), min_support)
    names_by_id = dict(zip(loaded.segment_ids, loaded.facts.segments, strict=False))

    def finish() -> list[dict]:
        index, by_segment = pending()
        return bought_together(
            index,
            owned,
            names=table.names,
            segments=[names_by_id[sid] for sid in loaded.segment_ids],
            segment_popular={names_by_id[sid]: skus for sid, skus in by_segment.items()},
            popular=table.popular,
            limit=limit,
            min_support=min_support,
        )

    return finish
