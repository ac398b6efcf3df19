"""The documents the index holds, built from the database rows in bulk: one query per table per batch,
never one per customer, because the drain and the rebuild both go through here.

A customer document carries what search and segments filter on: folded names, identifiers in every
matchable form, aggregates, attributes (city, postcode, country, birth year, custom keys typed by value),
segment ids, purchased skus, categories and order numbers. An interaction document carries its customer
id, channel, type, direction, time, folded subject and text, sentiment, survey score and order details.
`None` for an id means the document must go: the row is gone (erased) or merged into another.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

import orjson
from sqlalchemy import BigInteger, bindparam, select
from sqlalchemy import text as text_sql
from sqlalchemy.dialects.postgresql import ARRAY

from crm.extensions import core_rows, db
from crm.profiles.models import Customer, CustomerAttribute, Identifier, Interaction
from crm.search import mappings, text
from crm.search.ids import id_in
from crm.segments.models import SegmentMember

MAX_TEXT_CHARS = 100_000
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _rows_by_customer(stmt) -> dict[int, list]:
    out: dict[int, list] = defaultdict(list)
    for row in core_rows(stmt):
        out[row[0]].append(row)
    return out


def customer_docs(ids: Iterable[int]) -> dict[int, dict | None]:
    """id -> document (None when the customer is gone or merged) for every id asked."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    t = Customer.__table__
    rows = {r.id: r for r in core_rows(select(t).where(id_in(t.c.id, ids)))}
    live = [i for i, r in rows.items() if r.status == "active"]
    related = _related(live)
    _, fields_for = mappings.segment_extension()
    # The segment fields read what was just read here again unless told: the same rows, one read each.
    known = {"customers": {i: rows[i] for i in live}, **related}
    extra = fields_for(live, known) if (fields_for and live) else {}
    related["purchases"] = _purchases(live, known)
    out: dict[int, dict | None] = {}
    for cid in ids:
        row = rows.get(cid)
        if row is None or row.status != "active":
            out[cid] = None
            continue
        doc = customer_doc(row, **{name: values.get(cid, []) for name, values in related.items()})
        doc.update(extra.get(cid) or {})
        out[cid] = doc
    return out


def _related(ids: list[int]) -> dict[str, dict[int, list]]:
    if not ids:
        return {"identifiers": {}, "attributes": {}, "segments": {}}
    ident, attr = Identifier.__table__, CustomerAttribute.__table__
    member = SegmentMember.__table__
    return {
        "identifiers": _rows_by_customer(
            select(ident.c.customer_id, ident.c.kind, ident.c.value)
            .where(id_in(ident.c.customer_id, ids))
            .order_by(ident.c.id)
        ),
        "attributes": _rows_by_customer(
            select(attr.c.customer_id, attr.c.key, attr.c.origin, attr.c.value).where(id_in(attr.c.customer_id, ids))
        ),
        "segments": _rows_by_customer(
            select(member.c.customer_id, member.c.segment_id).where(id_in(member.c.customer_id, ids))
        ),
    }


def customer_doc(row, *, identifiers: list, attributes: list, purchases: tuple, segments: list) -> dict:
    attrs = effective_attributes(attributes)
    doc = {
        "entity": "customer",
        "key": f"customer:{row.id}",
        "id": row.id,
        "status": row.status,
        "version": row.version,
        "display_name": row.display_name,
        "journey_stage": row.journey_stage,
        "channels": sorted(((row.counts or {}).get("channel") or {}).keys()),
        "last_channel": row.last_channel,
        "activity_at": _iso(row.last_seen_at or row.created_at),
        "created_at": _iso(row.created_at),
        "first_seen_at": _iso(row.first_seen_at),
        "last_seen_at": _iso(row.last_seen_at),
        "last_purchase_at": _iso(row.last_purchase_at),
        "interaction_count": row.interaction_count,
        "orders_count": row.orders_count,
        "open_cases": row.open_cases,
        "nps_score": row.nps_score,
        "csat_score": row.csat_score,
        "ces_score": row.ces_score,
        "sentiment_avg": row.sentiment_avg,
        "churn_risk": row.churn_risk,
        "ltv_amount": float(row.ltv_amount) if row.ltv_amount is not None else None,
        "lifetime_value": {cur: float(v) for cur, v in (row.lifetime_value or {}).items()},
        "segments": sorted({s.segment_id for s in segments}),
    }
    doc.update(name_fields(row.display_name, attrs))
    doc.update(identifier_fields([(i.kind, i.value) for i in identifiers]))
    doc.update(purchase_fields(*(purchases or ([], [], []))))
    doc.update(attribute_fields(attrs))
    return doc


def effective_attributes(rows: list) -> dict[str, object]:
    """key -> value, an agent's pinned value over the channel's (as profiles.attributes.effective)."""
    out: dict[str, object] = {}
    for row in sorted(rows, key=lambda r: r.origin != "agent"):
        out.setdefault(row.key, row.value)
    return out


def name_fields(display_name: str | None, attrs: dict) -> dict:
    first, last = attrs.get("first_name"), attrs.get("last_name")
    tokens: list[str] = []
    for value in (display_name, first, last, attrs.get("name")):
        if isinstance(value, str):
            tokens += text.name_tokens(value)
    return {
        "names": " ".join(text.unique(tokens)),
        "first_name": text.fold(first) if isinstance(first, str) else None,
        "last_name": text.fold(last) if isinstance(last, str) else None,
    }


def identifier_fields(identifiers: list[tuple[str, str]]) -> dict:
    emails = [v for k, v in identifiers if k == "email"]
    phones = [v for k, v in identifiers if k == "phone"]
    words: list[str] = []
    for kind, value in identifiers:
        words += text.identifier_tokens(kind, value)
    return {
        "identifiers": [f"{k}:{v}" for k, v in identifiers],
        "identifier_values": text.unique(v for _, v in identifiers),
        "identifier_handles": text.unique(
            text.fold(text.handle_of(v)) for k, v in identifiers if k in ("chat", "external")
        ),
        "identifiers_text": " ".join(text.unique(words)),
        "emails": emails,
        "emails_rev": [e[::-1] for e in emails],
        "email_local": text.unique(text.email_parts(e)[0] for e in emails),
        "email_domain": text.unique(text.email_parts(e)[1] for e in emails),
        "phones": phones,
        "phone_digits_rev": [text.reversed_digits(p) for p in phones],
        "loyalty_ids": [v for k, v in identifiers if k == "loyalty"],
    }


# Order numbers, skus and categories of a customer's purchases, gathered by PostgreSQL itself: decoding
# every purchase's JSON in Python was the largest single cost of building customer documents.
_PURCHASE_VALUES = text_sql(
    """
    SELECT i.customer_id,
           array_remove(array_agg(DISTINCT NULLIF(i.data->>'order_number', '')), NULL),
           array_remove(array_agg(DISTINCT NULLIF(item->>'sku', '')), NULL),
           array_remove(array_agg(DISTINCT NULLIF(item->>'category', '')), NULL)
    FROM interactions i
    LEFT JOIN LATERAL jsonb_array_elements(
        CASE WHEN jsonb_typeof(i.data->'items') = 'array' THEN i.data->'items' ELSE '[]'::jsonb END
    ) AS item ON true
    WHERE i.customer_id = ANY(:ids) AND i.type = 'purchase'
    GROUP BY i.customer_id
    """
)


def _purchases(ids: list[int], known: dict) -> dict[int, tuple[list, list, list]]:
    """customer id -> (order numbers, skus, categories): from the purchases the segment fields' activity
    read holds for the customers whose whole history it read, from the database for the others."""
    whole, read = known.get("whole_history", set()), known.get("purchase_data", {})
    out = {cid: purchase_values(read.get(cid, ())) for cid in ids if cid in whole}
    rest = [cid for cid in ids if cid not in whole]
    return out | (_purchase_values(rest) if rest else {})


def _text(value) -> str:
    """A JSON value as PostgreSQL's ->> gives it: a string as is, anything else as JSON text."""
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def purchase_values(purchases: Iterable[dict | None]) -> tuple[list, list, list]:
    """(order numbers, skus, categories) of purchases' `data`, as _PURCHASE_VALUES reads them."""
    orders: list[str] = []
    skus: list[str] = []
    categories: list[str] = []
    for data in purchases:
        data = data if isinstance(data, dict) else {}
        if data.get("order_number") not in (None, ""):
            orders.append(_text(data["order_number"]))
        items = data.get("items")
        for item in items if isinstance(items, list) else ():
            if isinstance(item, dict):
                for key, out in (("sku", skus), ("category", categories)):
                    if item.get(key) not in (None, ""):
                        out.append(_text(item[key]))
    return orders, skus, categories


def _purchase_values(ids: list[int]) -> dict[int, tuple[list, list, list]]:
    """customer id -> (order numbers, skus, categories) as stored."""
    if db.engine.dialect.name == "postgresql":
        rows = db.session.execute(_PURCHASE_VALUES.bindparams(bindparam("ids", ids, type_=ARRAY(BigInteger))))
        return {cid: (orders, skus, categories) for cid, orders, skus, categories in rows.all()}
    inter = Interaction.__table__
    out: dict[int, list] = defaultdict(list)
    for cid, data in db.session.execute(
        select(inter.c.customer_id, inter.c.data).where(id_in(inter.c.customer_id, ids), inter.c.type == "purchase")
    ):
        out[cid].append(data)
    return {cid: purchase_values(datas) for cid, datas in out.items()}


def purchase_fields(orders: list, skus: list, categories: list) -> dict:
    return {
        "order_numbers": sorted(text.unique(text.normalise_order_number(str(o)) for o in orders)),
        "skus": sorted(text.unique(str(s) for s in skus)),
        "categories": sorted(text.unique(text.fold(str(c)) for c in categories)),
    }


def attribute_fields(attrs: dict) -> dict:
    address = attrs.get("address") if isinstance(attrs.get("address"), dict) else {}
    birth = attrs.get("birth_date") if isinstance(attrs.get("birth_date"), str) else None
    doc: dict = {
        "address": {
            "city": text.fold(address.get("city")) or None,
            "postcode": re.sub(r"\s", "", str(address.get("postcode") or "")).upper() or None,
            "region": text.fold(address.get("region")) or None,
            "country": str(address["country"]).upper() if address.get("country") else None,
        },
        "birth_date": birth if birth and _DATE.match(birth) else None,
        "birth_year": int(birth[:4]) if birth and _DATE.match(birth) else None,
        "locale": attrs.get("locale") if isinstance(attrs.get("locale"), str) else None,
        "consent": {},
    }
    for channel in ("email", "sms", "phone"):
        value = attrs.get(f"consent.{channel}")
        if isinstance(value, dict) and "granted" in value:
            doc["consent"][channel] = bool(value["granted"])
    custom: dict[str, dict] = {f"custom_{kind}": {} for kind in mappings.CUSTOM_TYPES}
    for key, value in attrs.items():
        if key.startswith("custom."):
            kind = custom_kind(value)
            if kind:
                custom[f"custom_{kind}"][key[len("custom.") :]] = value
    doc.update(custom)
    return doc


def custom_kind(value) -> str | None:
    """Which typed object a custom value is indexed in (None for values search cannot type)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "date" if _DATE.match(value) else "keyword"
    return None


INTERACTION_COLUMNS = (
    "id",
    "customer_id",
    "source_id",
    "channel",
    "type",
    "direction",
    "occurred_at",
    "received_at",
    "processed_at",
    "subject",
    "text",
    "data",
    "sentiment",
    "case_id",
)


def interaction_docs(ids: Iterable[int]) -> dict[int, dict | None]:
    ids = sorted(set(ids))
    if not ids:
        return {}
    t = Interaction.__table__
    cols = [t.c[name] for name in INTERACTION_COLUMNS]
    found = {r.id: interaction_doc(r) for r in core_rows(select(*cols).where(id_in(t.c.id, ids)))}
    return {i: found.get(i) for i in ids}


def interaction_body(row) -> str:
    """What an interaction says: its text, a chat's messages, a survey's comment (as the customer wrote them)."""
    data = row.data or {}
    written = row.text or ""
    parts = [written]
    # Adapters often write a chat's transcript into the text already: a message is added only when missing.
    for message in data.get("messages") or []:
        if isinstance(message, dict) and message.get("text") and str(message["text"]) not in written:
            parts.append(str(message["text"]))
    if data.get("comment") and str(data["comment"]) not in written:
        parts.append(str(data["comment"]))
    return "\n".join(p for p in parts if p)[:MAX_TEXT_CHARS]


def interaction_doc(row) -> dict:
    data = row.data or {}
    body = interaction_body(row)
    items = [i for i in (data.get("items") or []) if isinstance(i, dict)]
    score = data.get("score")
    occurred = _iso(row.occurred_at)
    return {
        "entity": "interaction",
        "key": f"interaction:{row.id}",
        "id": row.id,
        "customer_id": row.customer_id,
        "source_id": row.source_id,
        "channel": row.channel,
        "type": row.type,
        "direction": row.direction,
        "occurred_at": occurred,
        "activity_at": occurred,
        "received_at": _iso(row.received_at),
        "processed_at": _iso(row.processed_at),
        "subject": text.fold(row.subject) or None,
        "text": text.fold(body) or None,
        "sentiment": row.sentiment,
        "survey_kind": data.get("kind") if row.type == "survey" else None,
        "score": float(score) if isinstance(score, (int, float)) else None,
        "order_number": text.normalise_order_number(str(data["order_number"])) if data.get("order_number") else None,
        "skus": text.unique(str(i["sku"]) for i in items if i.get("sku")) if items else [],
        "categories": text.unique(text.fold(str(i["category"])) for i in items if i.get("category")) if items else [],
        "total": _number(data.get("total")),
        "currency": data.get("currency"),
        "case_id": row.case_id,
        "outcome": data.get("outcome"),
        "duration_s": _number(data.get("duration_s")),
    }


def _number(value) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
