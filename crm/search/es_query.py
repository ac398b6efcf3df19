"""The search box on Elasticsearch: one request across both read aliases, scored in tiers (matching.py),
ties broken by recent activity, filtered, paginated, with totals per entity from an aggregation.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from elasticsearch import NotFoundError
from sqlalchemy import func, select

from crm.extensions import db
from crm.search import elastic, matching
from crm.search.query import Hit, ParsedQuery, SearchPage, SearchRequest
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


def interaction_queries(q: ParsedQuery) -> list[dict]:
    queries = []
    if q.order_number:
        queries.append(_tier({"term": {"order_number": q.order_number}}, matching.INTERACTION_ORDER))
    if q.words:
        phrase = q.phrase
        either = {"bool": {"should": [{"match_phrase": {"subject": phrase}}, {"match_phrase": {"text": phrase}}]}}
        queries.append(_tier(either, matching.PHRASE))
        every = {
            "multi_match": {"query": phrase, "fields": ["subject", "text"], "type": "cross_fields", "operator": "and"}
        }
        queries.append(_tier(every, matching.ALL_WORDS))
    return queries


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


def request_body(req: SearchRequest, notes: list[str]) -> tuple[list[str], dict]:
    should, indices = [], []
    q = req.query
    if req.wants("customer"):
        should.append(
            {"bool": {"filter": customer_filters(req), "must": {"dis_max": {"queries": customer_queries(q)}}}}
        )
        indices.append(elastic.alias("customer", "read"))
    inter_queries = interaction_queries(q) if req.wants("interaction") else []
    inter_filters = interaction_filters(req, notes) if inter_queries else None
    if inter_queries and inter_filters is not None:
        should.append({"bool": {"filter": inter_filters, "must": {"dis_max": {"queries": inter_queries}}}})
        indices.append(elastic.alias("interaction", "read"))
    body = {
        "query": {"bool": {"should": should, "minimum_should_match": 1}},
        "sort": [
            {"_score": {"order": "desc"}},
            {"activity_at": {"order": "desc", "missing": "_last"}},
            {"key": {"order": "asc"}},
        ],
        "from": req.offset,
        "size": req.per_page,
        "_source": False,
        "track_total_hits": False,
        "aggs": {"entities": {"terms": {"field": "entity", "size": 2}}},
    }
    return indices, body


def search(req: SearchRequest) -> SearchPage:
    notes: list[str] = []
    indices, body = request_body(req, notes)
    if not indices:
        return SearchPage([], {"customer": 0, "interaction": 0}, "elasticsearch", notes)
    response = _run(indices, body)
    return SearchPage(parse_hits(response), parse_totals(response), "elasticsearch", notes)


def _run(indices: list[str], body: dict) -> dict:
    """One search; asked again once when a rebuild's swap removed an index under it mid-flight."""
    es = elastic.client()
    for attempt in (1, 2):
        try:
            response = es.search(index=",".join(indices), ignore_unavailable=True, **body)
        except NotFoundError:
            if attempt == 2:
                raise
            continue
        if response.get("_shards", {}).get("failed", 0) and attempt == 1:
            continue
        return response
    return response


def parse_hits(response: dict) -> list[Hit]:
    hits = []
    for hit in response["hits"]["hits"]:
        score, activity_ms, key = hit["sort"]
        entity, _, entity_id = key.partition(":")
        known = isinstance(activity_ms, int | float) and abs(activity_ms) < 10**15  # missing sorts as Long.MIN_VALUE
        activity = datetime.fromtimestamp(activity_ms / 1000, UTC) if known else None
        hits.append(Hit(entity, int(entity_id), float(score), activity))
    return hits


def parse_totals(response: dict) -> dict[str, int]:
    totals = {"customer": 0, "interaction": 0}
    for bucket in response.get("aggregations", {}).get("entities", {}).get("buckets", []):
        totals[bucket["key"]] = bucket["doc_count"]
    return totals
