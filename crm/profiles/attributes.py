"""Customer attributes with provenance: the value from the interaction that occurred last wins.

Each attribute key holds at most one channel value (with its source, interaction and time) and at
most one agent value (a pinned edit). The effective value is the agent's when pinned, else the
channel's. Out-of-order delivery cannot let an older value overwrite a newer one, because the rule
compares when the interactions occurred, not when they were processed. An address is one value (its
fields come from one interaction, so they always describe one place).
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import delete, select

from crm.channels.models import Source
from crm.columns import utcnow
from crm.extensions import db
from crm.profiles.models import Customer, CustomerAttribute, Interaction

SIMPLE_KEYS = ("first_name", "last_name", "birth_date", "address", "locale")
CONSENT_CHANNELS = ("email", "sms", "phone")


def _jsonable(value):
    return json.loads(json.dumps(value, default=lambda v: v.isoformat() if hasattr(v, "isoformat") else str(v)))


def flatten(customer_in: dict | None) -> dict[str, object]:
    """The attribute keys a customer block carries: name, first_name, consent.email, custom.tier..."""
    block = customer_in or {}
    out: dict[str, object] = {}
    attrs = block.get("attributes") or {}
    if isinstance(block.get("name"), str) and block["name"].strip():
        out["name"] = block["name"].strip()
    for key in SIMPLE_KEYS:
        value = attrs.get(key)
        if value not in (None, "", {}):
            out[key] = _clean(value)
    consent = attrs.get("consent") or {}
    for channel in CONSENT_CHANNELS:
        if consent.get(channel) is not None:
            out[f"consent.{channel}"] = {"granted": bool(consent[channel]), "at": consent.get("at")}
    for key, value in (attrs.get("custom") or {}).items():
        out[f"custom.{key}"] = value
    return _jsonable(out)


def _clean(value):
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if v not in (None, "")}
    return value.isoformat() if hasattr(value, "isoformat") else value


def _newer(occurred_at: datetime, interaction_id: int | None, row: CustomerAttribute) -> bool:
    if occurred_at != row.observed_at:
        return occurred_at > row.observed_at
    return (interaction_id or 0) >= (row.interaction_id or 0)


def apply_interaction(customer: Customer, interaction: Interaction) -> list[str]:
    """Fold an interaction's attributes into the customer's channel values; returns the keys changed."""
    incoming = flatten(interaction.customer_in or {})
    if not incoming:
        return []
    rows = {
        r.key: r
        for r in db.session.scalars(
            select(CustomerAttribute).where(
                CustomerAttribute.customer_id == customer.id,
                CustomerAttribute.origin == "channel",
                CustomerAttribute.key.in_(incoming.keys()),
            )
        )
    }
    changed = []
    for key, value in incoming.items():
        row = rows.get(key)
        if row is None:
            db.session.add(
                CustomerAttribute(
                    customer_id=customer.id,
                    key=key,
                    origin="channel",
                    value=value,
                    source_id=interaction.source_id,
                    interaction_id=interaction.id,
                    observed_at=interaction.occurred_at,
                )
            )
            changed.append(key)
        elif _newer(interaction.occurred_at, interaction.id, row) and (
            row.value != value or row.interaction_id != interaction.id
        ):
            row.value, row.source_id, row.interaction_id = value, interaction.source_id, interaction.id
            row.observed_at = interaction.occurred_at
            changed.append(key)
    db.session.flush()
    return changed


def _provenance(row: CustomerAttribute, slugs: dict[int, str]) -> dict:
    return {
        "value": row.value,
        "origin": row.origin,
        "source_id": row.source_id,
        "source": slugs.get(row.source_id) if row.source_id else None,
        "interaction_id": row.interaction_id,
        "observed_at": row.observed_at.isoformat(),
        "updated_by": row.updated_by,
    }


def rows_of(customer_id: int) -> list[CustomerAttribute]:
    return list(db.session.scalars(select(CustomerAttribute).where(CustomerAttribute.customer_id == customer_id)))


def effective(customer_id: int, *, with_sources: bool = False) -> dict[str, dict]:
    """key -> {value, origin, source_id, interaction_id, observed_at, ...}: the pinned value over the channel one.

    with_sources adds the source slug, and under a pinned value the channel value it hides (`pinned_over`).
    """
    rows = rows_of(customer_id)
    slugs = _source_slugs({r.source_id for r in rows if r.source_id}) if with_sources else {}
    out: dict[str, dict] = {}
    for row in sorted(rows, key=lambda r: r.origin != "agent"):
        if row.key not in out:
            out[row.key] = _provenance(row, slugs)
            if not with_sources:
                out[row.key].pop("source")
        elif with_sources:
            out[row.key]["pinned_over"] = _provenance(row, slugs)
    return dict(sorted(out.items()))


def effective_by_customer(customer_ids: list[int]) -> dict[int, dict[str, dict]]:
    """`effective` for many customers in one query (bulk duplicate suggestions); values and origins only."""
    out: dict[int, dict[str, dict]] = {cid: {} for cid in customer_ids}
    for start in range(0, len(customer_ids), 5000):
        chunk = customer_ids[start : start + 5000]
        rows = db.session.execute(
            select(
                CustomerAttribute.customer_id, CustomerAttribute.key, CustomerAttribute.origin, CustomerAttribute.value
            ).where(CustomerAttribute.customer_id.in_(chunk))
        ).all()
        for cid, key, origin, value in sorted(rows, key=lambda r: r[2] != "agent"):
            out[cid].setdefault(key, {"value": value, "origin": origin})
    return out


def _source_slugs(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(db.session.execute(select(Source.id, Source.slug).where(Source.id.in_(ids))).all())


def display_name(values: dict[str, dict]) -> str | None:
    first = (values.get("first_name") or {}).get("value")
    last = (values.get("last_name") or {}).get("value")
    if first or last:
        return " ".join(p for p in (first, last) if p)
    return (values.get("name") or {}).get("value")


def pin(customer_id: int, key: str, value, actor: str) -> None:
    """An agent's edit: pinned over channel values until cleared (value None clears it)."""
    row = db.session.scalar(
        select(CustomerAttribute).where(
            CustomerAttribute.customer_id == customer_id,
            CustomerAttribute.key == key,
            CustomerAttribute.origin == "agent",
        )
    )
    if value is None:
        if row is not None:
            db.session.delete(row)
        return
    if row is None:
        db.session.add(
            CustomerAttribute(
                customer_id=customer_id, key=key, origin="agent", value=value, observed_at=utcnow(), updated_by=actor
            )
        )
    else:
        row.value, row.observed_at, row.updated_by = value, utcnow(), actor


def edits_from_patch(payload: dict) -> dict[str, object]:
    """An agent's PATCH (the attributes schema, loaded) as key -> value to pin, or None to clear.

    Only the keys present are touched: `{"first_name": null}` clears that pin, `{"consent": {"sms": null}}`
    clears consent.sms, `{"custom": null}` clears every custom pin (`clear_custom` marks it).
    """
    edits: dict[str, object] = {}
    for key in SIMPLE_KEYS:
        if key in payload:
            edits[key] = None if payload[key] in (None, {}) else _clean(payload[key])
    if "consent" in payload:
        consent = payload["consent"]
        for channel in CONSENT_CHANNELS:
            if consent is None or (channel in consent and consent[channel] is None):
                edits[f"consent.{channel}"] = None
            elif channel in consent:
                edits[f"consent.{channel}"] = {"granted": bool(consent[channel]), "at": consent.get("at") or utcnow()}
    if "custom" in payload and payload["custom"] is not None:
        for key, value in payload["custom"].items():
            edits[f"custom.{key}"] = value
    return _jsonable(edits)


def apply_edits(customer_id: int, edits: dict[str, object], actor: str, *, clear_custom: bool = False) -> list[str]:
    """Pin or clear each edited key; returns the keys touched (for the audit entry: names, never values)."""
    if clear_custom:
        for row in rows_of(customer_id):
            if row.origin == "agent" and row.key.startswith("custom.") and row.key not in edits:
                edits[row.key] = None
    for key, value in edits.items():
        pin(customer_id, key, value, actor)
    db.session.flush()
    return sorted(edits)


def combine_into(survivor_id: int, merged_id: int) -> None:
    """Merge attributes by the same rule: per key and origin, the later observation wins."""
    theirs = rows_of(merged_id)
    ours = {(r.key, r.origin): r for r in rows_of(survivor_id)}
    for row in theirs:
        mine = ours.get((row.key, row.origin))
        if mine is None:
            db.session.add(CustomerAttribute(customer_id=survivor_id, **_copyable(row)))
        elif _newer(row.observed_at, row.interaction_id, mine):
            for name, value in _copyable(row).items():
                setattr(mine, name, value)
    db.session.flush()


def _copyable(row: CustomerAttribute) -> dict:
    return {
        "key": row.key,
        "origin": row.origin,
        "value": row.value,
        "source_id": row.source_id,
        "interaction_id": row.interaction_id,
        "observed_at": row.observed_at,
        "updated_by": row.updated_by,
    }


def row_to_dict(row: CustomerAttribute) -> dict:
    data = _copyable(row)
    data["observed_at"] = row.observed_at.isoformat()
    return data


def restore(customer_id: int, rows: list[dict]) -> None:
    """Put back a customer's attribute rows exactly as a snapshot recorded them."""
    db.session.execute(delete(CustomerAttribute).where(CustomerAttribute.customer_id == customer_id))
    db.session.flush()
    for data in rows:
        item = dict(data)
        item["observed_at"] = datetime.fromisoformat(item["observed_at"])
        db.session.add(CustomerAttribute(customer_id=customer_id, **item))
    db.session.flush()
