"""Product recommendations from purchase co-occurrence ("bought together"), with popularity fallbacks.

The pure algorithm: purchase histories in, ranked skus with reasons out. `pair_score` is the one
scoring function, taking only counts, so the Elasticsearch version (significant_terms over similar
customers' purchases) and the SQL version can feed it their own counts and rank the same way.

Ranking: candidates that co-occur with what the customer bought come first (their score is the sum
of pair scores over the customer's skus), then what is popular in the customer's segments, then what
is popular overall; never something they already bought.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

METHODS = ("cosine", "lift", "jaccard")
MIN_SUPPORT = 2  # a pair bought together by a single customer is an anecdote, not a pattern


def pair_score(together: int, count_a: int, count_b: int, customers: int, method: str = "cosine") -> float:
    """How strongly buying a goes with buying b, from counts of customers.

    together: customers who bought both; count_a, count_b: who bought each; customers: everyone.
    cosine = together / sqrt(count_a * count_b); lift = together * customers / (count_a * count_b);
    jaccard = together / (count_a + count_b - together).
    """
    if together <= 0 or count_a <= 0 or count_b <= 0:
        return 0.0
    if method == "cosine":
        return together / math.sqrt(count_a * count_b)
    if method == "lift":
        return together * customers / (count_a * count_b)
    if method == "jaccard":
        return together / (count_a + count_b - together)
    raise ValueError(f"unknown method {method!r}: one of {', '.join(METHODS)}")


@dataclass
class PurchaseIndex:
    """Counts of customers per sku and per pair of skus: build once, recommend for many customers."""

    customers: int = 0
    counts: Counter = field(default_factory=Counter)
    together: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))

    @classmethod
    def from_history(cls, history: Mapping[Hashable, Iterable[str]]) -> PurchaseIndex:
        index = cls()
        for skus in history.values():
            basket = sorted(set(skus))
            if not basket:
                continue
            index.customers += 1
            index.counts.update(basket)
            for position, a in enumerate(basket):
                for b in basket[position + 1 :]:
                    index.together[a][b] += 1
                    index.together[b][a] += 1
        return index

    def popular(self) -> list[str]:
        return [sku for sku, _ in sorted(self.counts.items(), key=lambda item: (-item[1], item[0]))]


def _co_purchase(index: PurchaseIndex, owned: set[str], method: str, min_support: int) -> dict[str, dict]:
    """Candidate sku -> {score, the sku that contributes most, and how many bought the two together}."""
    found: dict[str, dict] = {}
    for mine in sorted(owned):
        for other, together in index.together.get(mine, {}).items():
            if other in owned or together < min_support:
                continue
            score = pair_score(together, index.counts[mine], index.counts[other], index.customers, method)
            entry = found.setdefault(other, {"score": 0.0, "best": 0.0, "with": mine, "together": together})
            entry["score"] += score
            # The reason names the single strongest partner among the customer's skus.
            if score > entry["best"]:
                entry.update({"best": score, "with": mine, "together": together})
    return found


def bought_together(
    history: Mapping[Hashable, Iterable[str]] | PurchaseIndex,
    customer_skus: Iterable[str],
    names: Mapping[str, str] | None = None,
    segments: Sequence[str] = (),
    segment_popular: Mapping[str, Sequence[str]] | None = None,
    popular: Sequence[str] | None = None,
    limit: int = 5,
    method: str = "cosine",
    min_support: int = MIN_SUPPORT,
) -> list[dict]:
    """Up to `limit` recommendations {sku, name, score, reason, source}, best first.

    history: customer -> skus bought (or a prebuilt PurchaseIndex); segments: the customer's segment
    names; segment_popular: segment -> its skus, most popular first; popular: overall order, computed
    from the history when not given.
    """
    index = history if isinstance(history, PurchaseIndex) else PurchaseIndex.from_history(history)
    owned, names = set(customer_skus), names or {}
    co = _co_purchase(index, owned, method, min_support)
    picks = []
    for sku in sorted(co, key=lambda s: (-co[s]["score"], s))[:limit]:
        partner = names.get(co[sku]["with"], co[sku]["with"])
        reason = f"bought together with {partner} by {co[sku]['together']} customers"
        picks.append(_pick(sku, names, round(co[sku]["score"], 4), reason, "bought_together"))
    seen = owned | {pick["sku"] for pick in picks}
    for sku, rank, reason, source in _fallbacks(index, segments, segment_popular or {}, popular):
        if len(picks) >= limit:
            break
        if sku not in seen:
            seen.add(sku)
            picks.append(_pick(sku, names, _rank_score(rank), reason, source))
    return picks


def _fallbacks(
    index: PurchaseIndex,
    segments: Sequence[str],
    segment_popular: Mapping[str, Sequence[str]],
    popular: Sequence[str] | None,
) -> Iterator[tuple[str, int, str, str]]:
    """(sku, rank, reason, source): popular in each of their segments in turn, then popular overall."""
    for segment in segments:
        for rank, sku in enumerate(segment_popular.get(segment, ())):
            yield sku, rank, f"popular in segment {segment}", "segment"
    for rank, sku in enumerate(popular if popular is not None else index.popular()):
        bought = index.counts.get(sku, 0)
        reason = f"popular with all customers (bought by {bought})" if bought else "popular with all customers"
        yield sku, rank, reason, "popular"


def _rank_score(rank: int) -> float:
    # Fallbacks have no pair score; their rank in the popularity list stands in, below any pair score.
    return round(1 / (rank + 2) / 10, 4)


def _pick(sku: str, names: Mapping[str, str], score: float, reason: str, source: str) -> dict:
    return {"sku": sku, "name": names.get(sku, sku), "score": score, "reason": reason, "source": source}


def popular_baseline(index: PurchaseIndex, customer_skus: Iterable[str], limit: int = 5) -> list[str]:
    """The baseline the recommender must beat: the most bought skus they do not own."""
    owned = set(customer_skus)
    return [sku for sku in index.popular() if sku not in owned][:limit]
