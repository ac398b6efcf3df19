"""The index design, in code and versioned: composable index templates for the customers and
interactions indices, which every index version is created from.

Bump VERSION when a field changes type or analysis, then run `flask search reindex`: it builds
`<prefix>-<entity>s-v<VERSION>-<stamp>` from the database and moves the aliases. Fields only added
(a new aggregate, the segments package's fields) reach existing indices without a rebuild: the
mapping is hashed into `_meta`, and a differing hash is put as an additive mapping update.

Text arrives folded (accents removed, lower-cased, see text.py), because this Elasticsearch has no
asciifolding; names and identifier words arrive as space-separated tokens, so the whitespace analyzer
indexes exactly the tokens the SQL backend compares.
"""

from __future__ import annotations

import copy
import hashlib
import json

VERSION = 3
ENTITIES = ("customer", "interaction")
TEMPLATE_PRIORITY = 200

KEYWORD = {"type": "keyword"}
FOLDED_KEYWORD = {"type": "keyword", "normalizer": "folded"}
DATE = {"type": "date"}
LONG = {"type": "long"}
INTEGER = {"type": "integer"}
FLOAT = {"type": "float"}
DOUBLE = {"type": "double"}
BOOLEAN = {"type": "boolean"}
TOKENS = {"type": "text", "analyzer": "whitespace"}
# index_phrases: two-word shingles beside the terms, so a phrase is matched on rarer terms (and faster).
FOLDED_TEXT = {"type": "text", "analyzer": "standard", "index_phrases": True}
STORED_ONLY = {"type": "keyword", "index": False, "doc_values": False}

# Custom attributes are typed by their value, each type in an object of its own, so that a key that is
# a string for one customer and a number for another can never make a document fail to index.
CUSTOM_TYPES = {
    "keyword": {"type": "keyword", "ignore_above": 1024},
    "number": DOUBLE,
    "boolean": BOOLEAN,
    "date": DATE,
}


def custom_field(key: str, kind: str) -> str:
    """The indexed field of a custom attribute: custom_field('tier', 'keyword') -> 'custom_keyword.tier'."""
    if kind not in CUSTOM_TYPES:
        raise ValueError(f"custom attribute kind must be one of {', '.join(CUSTOM_TYPES)}")
    return f"custom_{kind}.{key}"


def _customer_properties() -> dict:
    return {
        "entity": KEYWORD,
        "key": KEYWORD,
        "id": LONG,
        "status": KEYWORD,
        "version": LONG,
        "display_name": STORED_ONLY,
        "names": {**TOKENS, "index_prefixes": {"min_chars": 1, "max_chars": 10}},
        "first_name": FOLDED_KEYWORD,
        "last_name": FOLDED_KEYWORD,
        "identifiers": KEYWORD,  # kind:value
        "identifier_values": KEYWORD,
        "identifier_handles": FOLDED_KEYWORD,
        "identifiers_text": TOKENS,
        "emails": KEYWORD,
        "emails_rev": KEYWORD,
        "email_local": KEYWORD,
        "email_domain": KEYWORD,
        "phones": KEYWORD,
        "phone_digits_rev": KEYWORD,
        "loyalty_ids": KEYWORD,
        "order_numbers": KEYWORD,
        "skus": KEYWORD,
        "categories": FOLDED_KEYWORD,
        "segments": LONG,
        "journey_stage": KEYWORD,
        "channels": KEYWORD,
        "last_channel": KEYWORD,
        "activity_at": DATE,
        "created_at": DATE,
        "first_seen_at": DATE,
        "last_seen_at": DATE,
        "last_purchase_at": DATE,
        "interaction_count": INTEGER,
        "orders_count": INTEGER,
        "open_cases": INTEGER,
        "nps_score": INTEGER,
        "csat_score": FLOAT,
        "ces_score": FLOAT,
        "sentiment_avg": FLOAT,
        "churn_risk": FLOAT,
        "ltv_amount": DOUBLE,
        "lifetime_value": {"type": "object", "dynamic": True},
        "address": {
            "properties": {"city": FOLDED_KEYWORD, "postcode": KEYWORD, "region": FOLDED_KEYWORD, "country": KEYWORD}
        },
        "birth_date": DATE,
        "birth_year": INTEGER,
        "locale": KEYWORD,
        "consent": {"properties": {"email": BOOLEAN, "sms": BOOLEAN, "phone": BOOLEAN}},
        **{f"custom_{kind}": {"type": "object", "dynamic": True} for kind in CUSTOM_TYPES},
    }


def _interaction_properties() -> dict:
    return {
        "entity": KEYWORD,
        "key": KEYWORD,
        "id": LONG,
        "customer_id": LONG,
        "source_id": LONG,
        "channel": KEYWORD,
        "type": KEYWORD,
        "direction": KEYWORD,
        "occurred_at": DATE,
        "activity_at": DATE,
        "received_at": DATE,
        "processed_at": DATE,
        "subject": FOLDED_TEXT,
        "text": FOLDED_TEXT,
        "sentiment": FLOAT,
        "survey_kind": KEYWORD,
        "score": FLOAT,
        "order_number": KEYWORD,
        "skus": KEYWORD,
        "categories": FOLDED_KEYWORD,
        "total": DOUBLE,
        "currency": KEYWORD,
        "case_id": LONG,
        "outcome": KEYWORD,
        "duration_s": FLOAT,
    }


def _dynamic_templates(entity: str) -> list[dict]:
    if entity != "customer":
        return []
    templates = [
        {f"custom_{kind}": {"path_match": f"custom_{kind}.*", "mapping": m}} for kind, m in CUSTOM_TYPES.items()
    ]
    templates.append({"lifetime_value": {"path_match": "lifetime_value.*", "mapping": DOUBLE}})
    return templates


def segment_extension():
    """(PROPERTIES, fields_for) from crm.segments.documents when that module exists, else ({}, None)."""
    try:
        from crm.segments import documents as segment_documents
    except ImportError:
        return {}, None
    return dict(getattr(segment_documents, "PROPERTIES", {}) or {}), getattr(segment_documents, "fields_for", None)


def mappings(entity: str) -> dict:
    if entity == "customer":
        properties = _customer_properties()
        extra, _ = segment_extension()
        for name, spec in extra.items():
            properties.setdefault(name, copy.deepcopy(spec))
    else:
        properties = _interaction_properties()
    body = {"dynamic": "strict", "properties": properties, "dynamic_templates": _dynamic_templates(entity)}
    body["_meta"] = {"version": VERSION, "mapping_hash": mapping_hash(body)}
    return body


def mapping_hash(body: dict) -> str:
    plain = {k: v for k, v in body.items() if k != "_meta"}
    return hashlib.sha1(json.dumps(plain, sort_keys=True).encode()).hexdigest()[:16]


def settings() -> dict:
    return {
        "number_of_shards": 1,
        "number_of_replicas": 0,
        "refresh_interval": "1s",
        # Versioned deletes are remembered this long: a stale write of an erased customer arriving late
        # (a rebuild's batch, a slow drain) is refused instead of bringing the document back.
        "gc_deletes": "10m",
        "mapping": {"total_fields": {"limit": 5000}},
        "analysis": {"normalizer": {"folded": {"type": "custom", "filter": ["lowercase"]}}},
    }


def template_name(prefix: str, entity: str) -> str:
    return f"{prefix}-{entity}s"


def index_pattern(prefix: str, entity: str) -> str:
    return f"{prefix}-{entity}s-v*"


def index_name(prefix: str, entity: str, version: int, stamp: str) -> str:
    return f"{prefix}-{entity}s-v{version}-{stamp}"


def template_body(prefix: str, entity: str) -> dict:
    return {
        "index_patterns": [index_pattern(prefix, entity)],
        "priority": TEMPLATE_PRIORITY,
        "version": VERSION,
        "template": {"settings": settings(), "mappings": mappings(entity)},
        "_meta": {"description": f"crm {entity} search index, design version {VERSION}"},
    }
