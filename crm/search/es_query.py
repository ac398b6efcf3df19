"""The search box on Elasticsearch: one msearch — the customers, scored in tiers (matching.py), and
each interaction tier sorted by recent activity — merged into one ranking, ties broken by recent
activity, filtered, paginated, with a total per entity.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from elastic_transport import TransportError
from sqlalchemy import func, select

from crm.extensions import db
from crm.search import elastic, matching
from crm.search.query import MAX_WINDOW, Hit, ParsedQuery, SearchPage, SearchRequest
from crm.segments.models import SegmentMember

log = logging.getLogger(__name__)

# Interactions are filtered by segment through their customer ids; past this many members the filter
# would be an unreasonably large terms query, so interactions are left out and the answer says so.
MAX_SEGMENT_TERMS = 50_000


def _tier(query: dict, boost: float) -> dict:
    return {"constant_score": {"filter": query, "boost": boost}}


def customer_queries(q: ParsedQuery) -> list[dict]:
    queries = [_tier({"terms": {"identifier_values": list(q.exact_values)}}, matching.IDENTIFIER)]
    if q.handles:
        queries.append(_tier({"terms": {"identifier_handles": list(q.handles)}}, matching.IDENTIFIER))
    if q.order_number:
        queries.append(_tier({"term": {"order_numbers": q.order_number}}, matching.ORDER_NUMBER))
    if q.phone_suffix:
        queries.append(_tier({"prefix": {"phone_digits_rev": q.phone_suffix[::-1]}}, matching.PHONE_SUFFIX))
    if q.email_partial:
        either_end = {
            "bool": {
                "should": [
                    {"prefix": {"emails": q.email_partial}},
                    {"prefix": {"emails_rev": q.email_partial[::-1]}},
                ]
            }
        }
        queries.append(_tier(either_end, matching.EMAIL_PARTIAL))
    if q.mode == "text" and q.tokens:
        queries.extend(_name_queries(" ".join(q.tokens)))
    if q.mode == "text" and q.words:
        words = {"match": {"identifiers_text": {"query": " ".join(q.words), "operator": "and"}}}
        queries.append(_tier(words, matching.IDENTIFIER_WORDS))
    return queries


def _name_queries(tokens: str) -> list[dict]:
    fuzzy = {"fuzziness": matching.FUZZINESS, "max_expansions": matching.MAX_EXPANSIONS, "operator": "and"}
    return [
        _tier({"match": {"names": {"query": tokens, "operator": "and"}}}, matching.NAME_EXACT),
        _tier({"match_bool_prefix": {"names": {"query": tokens, "operator": "and"}}}, matching.NAME_PREFIX),
        _tier(
            {
                "bool": {
                    "should": [
                        {"match_bool_prefix": {"names": {"query": tokens, **fuzzy}}},
                        {"match": {"names": {"query": tokens, **fuzzy}}},
                    ]
                }
            },
            matching.NAME_FUZZY,
        ),
    ]


def interaction_tiers(q: ParsedQuery) -> list[tuple[float, dict]]:
    """(tier, query) for interactions: the order number, the phrase, all its words in any order."""
    tiers = []
    if q.order_number:
        tiers.append((matching.INTERACTION_ORDER, {"term": {"order_number": q.order_number}}))
    if q.words:
        phrase = q.phrase
        either = {"bool": {"should": [{"match_phrase": {"subject": phrase}}, {"match_phrase": {"text": phrase}}]}}
        tiers.append((matching.PHRASE, either))
        every = {
            "multi_match": {"query": phrase, "fields": ["subject", "text"], "type": "cross_fields", "operator": "and"}
        }
        tiers.append((matching.ALL_WORDS, every))
    return tiers


def _range(field: str, since: datetime | None, until: datetime | None) -> dict:
    bounds = {}
    if since:
        bounds["gte"] = since.isoformat()
    if until:
        bounds["lt"] = until.isoformat()
    return {"range": {field: bounds}}


def customer_filters(req: SearchRequest) -> list[dict]:
    filters: list[dict] = [{"term": {"entity": "customer"}}]
    if req.channels:
        filters.append({"terms": {"channels": req.channels}})
    # A customer is in a date range when their activity overlaps it: seen before its end, last seen after its start.
    if req.until:
        filters.append(_range("first_seen_at", None, req.until))
    if req.since:
        filters.append(_range("last_seen_at", req.since, None))
    if req.segment_id is not None:
        filters.append({"term": {"segments": req.segment_id}})
    return filters


def segment_member_ids(segment_id: int) -> list[int] | None:
    """The segment's customer ids, or None when there are too many to filter interactions by."""
    count = db.session.scalar(
        select(func.count()).select_from(SegmentMember).where(SegmentMember.segment_id == segment_id)
    )
    if count > MAX_SEGMENT_TERMS:
        return None
    return list(db.session.scalars(select(SegmentMember.customer_id).where(SegmentMember.segment_id == segment_id)))


def interaction_filters(req: SearchRequest, notes: list[str]) -> list[dict] | None:
    filters: list[dict] = [{"term": {"entity": "interaction"}}]
    if req.channels:
        filters.append({"terms": {"channel": req.channels}})
    if req.since or req.until:
        filters.append(_range("occurred_at", req.since, req.until))
    if req.segment_id is not None:
        members = segment_member_ids(req.segment_id)
        if members is None:
            notes.append(f"segment {req.segment_id} has over {MAX_SEGMENT_TERMS} members: interactions not filtered")
            return None
        filters.append({"terms": {"customer_id": members}})
    return filters


BY_ACTIVITY = [{"activity_at": {"order": "desc", "missing": "_last"}}, {"key": {"order": "asc"}}]


def customer_search(req: SearchRequest, size: int) -> dict:
    query = {"bool": {"filter": customer_filters(req), "must": {"dis_max": {"queries": customer_queries(req.query)}}}}
    return {
        "query": query,
        "sort": [{"_score": {"order": "desc"}}, *BY_ACTIVITY],
        "size": size,
        "_source": False,
        "track_total_hits": True,
    }


def interaction_searches(tiers: list[tuple[float, dict]], filters: list[dict], size: int) -> list[tuple[str, dict]]:
    """One search per tier sorted by activity alone: with no score to compare, Elasticsearch skips the
    documents that cannot make the top `size`, so a phrase matching a hundred thousand messages costs
    little more than one matching ten. Each counts its matches up to MAX_WINDOW."""
    return [
        (
            f"tier:{tier}",
            {
                "query": {"bool": {"filter": [*filters, query]}},
                "sort": BY_ACTIVITY,
                "size": size,
                "_source": False,
                "track_total_hits": MAX_WINDOW,
            },
        )
        for tier, query in tiers
    ]


def interaction_total(counts: dict[float, dict]) -> tuple[int, bool]:
    """Matches over the tiers: the phrase's are among all its words', so those two overlap; an order
    number is a tier of its own. (count, exact)."""
    words = [counts[t] for t in (matching.PHRASE, matching.ALL_WORDS) if t in counts]
    parts = [max(words, key=lambda c: c["value"])] if words else []
    if matching.INTERACTION_ORDER in counts:
        parts.append(counts[matching.INTERACTION_ORDER])
    return sum(c["value"] for c in parts), all(c["relation"] == "eq" for c in parts)


def searches(req: SearchRequest, notes: list[str]) -> list[tuple[str, str, dict]]:
    """(index, role, body) of every search one request needs; they go to Elasticsearch as one msearch.

    Each returns its top `offset + per_page` (at most MAX_WINDOW); the page is cut from their merge.
    """
    size = req.offset + req.per_page
    out = []
    if req.wants("customer"):
        out.append((elastic.alias("customer", "read"), "customers", customer_search(req, size)))
    tiers = interaction_tiers(req.query) if req.wants("interaction") else []
    filters = interaction_filters(req, notes) if tiers else None
    if tiers and filters is not None:
        index = elastic.alias("interaction", "read")
        out += [(index, role, body) for role, body in interaction_searches(tiers, filters, size)]
    return out


def msearch_body(planned: list[tuple[str, str, dict]]) -> list[dict]:
    body: list[dict] = []
    for index, _, search_body in planned:
        body += [{"index": index, "ignore_unavailable": True}, search_body]
    return body


def search(req: SearchRequest) -> SearchPage:
    notes: list[str] = []
    planned = searches(req, notes)
    if not planned:
        return SearchPage([], {"customer": 0, "interaction": 0}, "elasticsearch", notes)
    responses = _run(planned)
    hits: dict[tuple[str, int], Hit] = {}
    totals = {"customer": 0, "interaction": 0}
    counts: dict[float, dict] = {}
    for (_, role, _), response in zip(planned, responses, strict=True):
        tier = None if role == "customers" else float(role.partition(":")[2])
        if tier is None:
            totals["customer"] = response["hits"]["total"]["value"]
        else:
            counts[tier] = response["hits"]["total"]
        for hit in parse_hits(response, tier):
            key = (hit.entity, hit.id)
            if key not in hits or hits[key].score < hit.score:  # an interaction counts in its best tier
                hits[key] = hit
    if counts:
        totals["interaction"], exact = interaction_total(counts)
        if not exact:
            notes.append(f"over {MAX_WINDOW} interactions match: their count is a lower bound")
    ranked = sorted(hits.values(), key=sort_key)
    return SearchPage(ranked[req.offset : req.offset + req.per_page], totals, "elasticsearch", notes)


def sort_key(hit: Hit) -> tuple:
    """Tier, then most recent activity, then the document key (as the SQL backend orders too)."""
    activity = hit.activity_at.timestamp() if hit.activity_at else float("-inf")
    return (-hit.score, -activity, f"{hit.entity}:{hit.id}")


def _run(planned: list[tuple[str, str, dict]]) -> list[dict]:
    """One msearch; asked again once when a rebuild's swap removed an index under it mid-flight."""
    es = elastic.client()
    body = msearch_body(planned)
    for attempt in (1, 2):
        responses = es.msearch(searches=body)["responses"]
        failed = [r for r in responses if "error" in r or r.get("_shards", {}).get("failed", 0)]
        if not failed:
            return responses
        if attempt == 2:
            error = failed[0].get("error") or failed[0]["_shards"]
            raise TransportError(f"search failed: {str(error)[:500]}")
    return responses


def parse_hits(response: dict, tier: float | None) -> list[Hit]:
    """Hits of a customers search (sorted by score) or of an interaction tier (sorted by activity)."""
    out = []
    for hit in response["hits"]["hits"]:
        values = hit["sort"]
        score, (activity_ms, key) = (float(values[0]), values[1:]) if tier is None else (tier, values)
        entity, _, entity_id = key.partition(":")
        known = isinstance(activity_ms, int | float) and abs(activity_ms) < 10**15  # missing sorts as Long.MIN_VALUE
        activity = datetime.fromtimestamp(activity_ms / 1000, UTC) if known else None
        out.append(Hit(entity, int(entity_id), score, activity))
    return out
