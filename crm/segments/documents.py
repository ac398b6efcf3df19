"""What segment rules read about a customer, built in bulk from the database rows.

`fields_for(ids)` gives, per customer, one `segment_fields` object: typed profile fields, effective
attributes (one nested entry per key and type), identifier kinds, channels used with the last time on
each, memberships, and `activity` — the most recent ACTIVITY_LIMIT interactions, one nested entry each.
The search package merges it into the customer document (with PROPERTIES, its mapping); the in-memory
evaluator reads exactly the same object, so Elasticsearch and the evaluator see the same data.

Times are ISO 8601 UTC strings at millisecond precision (what Elasticsearch keeps), fixed width, so
comparing two of them as strings compares the instants.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from flask import current_app
from sqlalchemy import case, func, select

from crm.extensions import core_rows, db
from crm.profiles.models import Customer, CustomerAttribute, Identifier, Interaction

ROOT = "segment_fields"
# Behaviour conditions look at this many of a customer's most recent interactions (evaluator, SQL, index).
ACTIVITY_LIMIT = 200
CHUNK = 1000
# iso_ms in PostgreSQL's to_char (MS: milliseconds, truncated as iso_ms truncates).
ISO_MS_SQL = 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'
DATE_VALUE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

STRING_FIELDS = ("display_name", "last_channel", "journey_stage", "nps_category")
NUMBER_FIELDS = (
    "interaction_count",
    "orders_count",
    "ltv_amount",
    "sentiment_avg",
    "churn_risk",
    "nps_score",
    "csat_score",
    "ces_score",
    "open_cases",
)
DATETIME_FIELDS = ("created_at", "first_seen_at", "last_seen_at", "last_purchase_at")
CHANNELS = ("email", "chat", "phone", "store", "internal")

_KEYWORD = {"type": "keyword"}
_DATE = {"type": "date"}
_DOUBLE = {"type": "double"}

PROPERTIES: dict = {
    ROOT: {
        "properties": {
            "customer_id": {"type": "long"},
            **{name: _KEYWORD for name in STRING_FIELDS},
            **{name: _DOUBLE for name in NUMBER_FIELDS},
            **{name: _DATE for name in DATETIME_FIELDS},
            "identifiers": _KEYWORD,
            "channels": _KEYWORD,
            "segments": {"type": "long"},
            "last_at": {"properties": {channel: _DATE for channel in CHANNELS}},
            "attributes": {
                "type": "nested",
                "properties": {
                    "key": _KEYWORD,
                    "s": _KEYWORD,
                    "n": _DOUBLE,
                    "b": {"type": "boolean"},
                    "d": _DATE,
                },
            },
            "activity": {
                "type": "nested",
                "properties": {
                    "channel": _KEYWORD,
                    "type": _KEYWORD,
                    "direction": _KEYWORD,
                    "occurred_at": _DATE,
                    "skus": _KEYWORD,
                    "categories": _KEYWORD,
                    "total_cents": {"type": "long"},
                    "currency": _KEYWORD,
                    "refund": {"type": "boolean"},
                },
            },
        }
    }
}


def iso_ms(value: datetime | None) -> str | None:
    """2026-05-01T12:00:00.123Z: UTC, milliseconds, fixed width (string order is time order)."""
    if value is None:
        return None
    # isoformat is several times faster than strftime, and this runs for every activity entry indexed.
    return value.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def nps_category(score: int | None) -> str | None:
    if score is None:
        return None
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


def cents(total) -> int | None:
    """A purchase total in cents, rounded half up; never negative (it is summed as a score)."""
    if total is None:
        return None
    try:
        amount = (Decimal(str(total)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        return None
    return max(int(amount), 0)


def is_date_value(value) -> bool:
    if not isinstance(value, str) or not DATE_VALUE.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def attribute_entries(key: str, value) -> list[dict]:
    """Nested entries for one effective attribute: {key, s|n|b|d} by the value's type."""
    if key == "address" and isinstance(value, dict):
        out = []
        for sub, item in sorted(value.items()):
            out.extend(attribute_entries(f"address.{sub}", item))
        return out
    if key.startswith("consent.") and isinstance(value, dict):
        granted = value.get("granted")
        return [{"key": key, "b": granted}] if isinstance(granted, bool) else []
    if isinstance(value, bool):
        return [{"key": key, "b": value}]
    if isinstance(value, (int, float)):
        return [{"key": key, "n": float(value)}]
    if isinstance(value, str):
        entry = {"key": key, "s": value.lower()}
        if is_date_value(value):
            entry["d"] = value
        return [entry]
    return []


def activity_entry(channel, type_, direction, occurred_at, data, base_currency: str) -> dict:
    """One nested activity entry; occurred_at a datetime, or already in iso_ms's form (a string)."""
    occurred = occurred_at if isinstance(occurred_at, str) else iso_ms(occurred_at)
    entry = {"channel": channel, "type": type_, "direction": direction, "occurred_at": occurred}
    if type_ == "purchase":
        data = data or {}
        items = [i for i in (data.get("items") or []) if isinstance(i, dict)]
        entry["skus"] = sorted({str(i["sku"]) for i in items if i.get("sku")})
        entry["categories"] = sorted({str(i["category"]) for i in items if i.get("category")})
        entry["total_cents"] = cents(data.get("total"))
        entry["currency"] = data.get("currency") or base_currency
        entry["refund"] = bool(data.get("refund"))
    return entry


def fields_for(customer_ids: list[int], known: dict | None = None) -> dict[int, dict]:
    """{customer id: {"segment_fields": {...}}} for the customers that exist, computed in bulk.

    `known`: rows the caller has read already for these very customers, so they are not read twice
    (the search documents read them in the same transaction): "customers" {id: row}, and customer id ->
    rows for "identifiers" (customer_id, kind, value), "attributes" (customer_id, key, origin, value)
    and "segments" (customer_id, segment_id). In return it is given what the activity read holds for
    the caller: "purchase_data" (customer id -> the `data` of each purchase read) and "whole_history"
    (the customers with fewer than ACTIVITY_LIMIT interactions, whose every purchase that was).
    """
    out: dict[int, dict] = {}
    ids = sorted({int(c) for c in customer_ids})
    for start in range(0, len(ids), CHUNK):
        out.update(_chunk(ids[start : start + CHUNK], known))
    return out


def _chunk(ids: list[int], known: dict | None = None) -> dict[int, dict]:
    if known is None:
        rows = _customers(ids)
    else:
        rows = {cid: known["customers"][cid] for cid in ids if cid in known["customers"]}
    fields = {cid: _profile(row) for cid, row in rows.items()}
    if not fields:
        return {}
    found = list(fields)
    if known is None:
        kinds = core_rows(
            select(Identifier.customer_id, Identifier.kind).where(Identifier.customer_id.in_(found)).distinct()
        )
    else:
        kinds = {(r.customer_id, r.kind) for cid in found for r in known["identifiers"].get(cid, ())}
    for cid, kind in kinds:
        fields[cid]["identifiers"].append(kind)
    _activity(found, fields, known)
    _last_at(found, fields)
    _attributes(found, fields, None if known is None else known["attributes"])
    _memberships(found, fields, None if known is None else known["segments"])
    for item in fields.values():
        item["identifiers"].sort()
        item["channels"] = sorted(item["last_at"])
        item["segments"].sort()
    return {cid: {ROOT: item} for cid, item in fields.items()}


def _customers(ids: list[int]) -> dict[int, Customer]:
    return {c.id: c for c in db.session.scalars(select(Customer).where(Customer.id.in_(ids)))}


def _profile(c) -> dict:
    """The typed profile fields of a customer (an ORM object or a row of the customers table)."""
    item: dict = {"customer_id": c.id}
    item["display_name"] = c.display_name.lower() if c.display_name else None
    item["last_channel"] = c.last_channel.lower() if c.last_channel else None
    item["journey_stage"] = c.journey_stage.lower() if c.journey_stage else None
    item["nps_category"] = nps_category(c.nps_score)
    for name in NUMBER_FIELDS:
        value = getattr(c, name)
        item[name] = None if value is None else float(value)
    for name in DATETIME_FIELDS:
        item[name] = iso_ms(getattr(c, name))
    item.update(identifiers=[], last_at={}, segments=[], attributes=[], activity=[])
    return item


def _attributes(ids: list[int], fields: dict[int, dict], known: dict[int, list] | None = None) -> None:
    effective: dict[tuple[int, str], object] = {}
    if known is None:
        rows = core_rows(
            select(
                CustomerAttribute.customer_id, CustomerAttribute.key, CustomerAttribute.origin, CustomerAttribute.value
            ).where(CustomerAttribute.customer_id.in_(ids))
        )
    else:
        rows = [(r.customer_id, r.key, r.origin, r.value) for cid in ids for r in known.get(cid, ())]
    for cid, key, origin, value in rows:
        # An agent's pinned value wins over the channel's (crm.profiles.attributes.effective).
        if origin == "agent" or (cid, key) not in effective:
            effective[(cid, key)] = value
    for (cid, key), value in sorted(effective.items(), key=lambda item: item[0]):
        fields[cid]["attributes"].extend(attribute_entries(key, value))


def recent_interactions(customer_ids):
    """The most recent ACTIVITY_LIMIT interactions per customer, as a subquery (rn = 1 is the latest)."""
    rn = (
        func.row_number()
        .over(
            partition_by=Interaction.customer_id,
            order_by=(Interaction.occurred_at.desc(), Interaction.id.desc()),
        )
        .label("rn")
    )
    stmt = select(
        Interaction.id,
        Interaction.customer_id,
        Interaction.channel,
        Interaction.type,
        Interaction.direction,
        Interaction.occurred_at,
        Interaction.data,
        rn,
    )
    if customer_ids is not None:
        stmt = stmt.where(Interaction.customer_id.in_(customer_ids))
    else:
        stmt = stmt.where(Interaction.customer_id.is_not(None))
    return stmt.subquery("recent")


def _activity(ids: list[int], fields: dict[int, dict], known: dict | None = None) -> None:
    base = current_app.config["BASE_CURRENCY"]
    recent = recent_interactions(ids)
    # Only purchases need their details; a chat's transcript stays in the database.
    details = case((recent.c.type == "purchase", recent.c.data), else_=None)
    in_sql = db.engine.dialect.name == "postgresql"
    # PostgreSQL writes the times in iso_ms's form itself: making a datetime of every entry only to format
    # it was a tenth of the cost of a customer document. SQLite's come back as text or naive datetimes.
    occurred = func.to_char(func.timezone("UTC", recent.c.occurred_at), ISO_MS_SQL) if in_sql else recent.c.occurred_at
    rows = core_rows(
        select(
            recent.c.customer_id,
            recent.c.channel,
            recent.c.type,
            recent.c.direction,
            occurred.label("occurred_at"),
            details.label("details"),
        )
        .where(recent.c.rn <= ACTIVITY_LIMIT)
        .order_by(recent.c.customer_id, recent.c.rn)
    )
    grouped: dict[int, list] = defaultdict(list)
    purchases: dict[int, list] = known.setdefault("purchase_data", {}) if known is not None else {}
    for cid, channel, type_, direction, occurred_at, data in rows:
        when = occurred_at if in_sql else _aware(occurred_at)
        grouped[cid].append(activity_entry(channel, type_, direction, when, data, base))
        if type_ == "purchase":
            purchases.setdefault(cid, []).append(data)
    for cid, entries in grouped.items():
        fields[cid]["activity"] = entries
    if known is not None:
        known.setdefault("whole_history", set()).update(c for c in ids if len(grouped.get(c, ())) < ACTIVITY_LIMIT)


def _last_at(ids: list[int], fields: dict[int, dict]) -> None:
    """The time of each customer's last interaction on each channel.

    A customer with fewer than ACTIVITY_LIMIT activity entries has all of their interactions there, newest
    first, in the same form: the first entry of each channel is its last time, and nothing is read again.
    Only customers with a full activity list are asked of the database.
    """
    full = []
    for cid in ids:
        entries = fields[cid]["activity"]
        if len(entries) >= ACTIVITY_LIMIT:
            full.append(cid)
            continue
        last_at = fields[cid]["last_at"]
        for entry in entries:
            last_at.setdefault(entry["channel"], entry["occurred_at"])
    if not full:
        return
    for cid, channel, last in core_rows(
        select(Interaction.customer_id, Interaction.channel, func.max(Interaction.occurred_at))
        .where(Interaction.customer_id.in_(full))
        .group_by(Interaction.customer_id, Interaction.channel)
    ):
        fields[cid]["last_at"][channel] = iso_ms(last)


def _aware(value: datetime) -> datetime:
    # A subquery column loses the UTCDateTime type on SQLite: naive values there are UTC.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _memberships(ids: list[int], fields: dict[int, dict], known: dict[int, list] | None = None) -> None:
    from crm.segments.models import SegmentMember

    if known is None:
        rows = core_rows(
            select(SegmentMember.customer_id, SegmentMember.segment_id).where(SegmentMember.customer_id.in_(ids))
        )
    else:
        rows = [(r.customer_id, r.segment_id) for cid in ids for r in known.get(cid, ())]
    for cid, sid in rows:
        fields[cid]["segments"].append(sid)
