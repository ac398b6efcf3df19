"""Customer attributes with provenance: the value from the interaction that occurred last wins.

Each attribute key holds at most one channel value (with its source, interaction and time) and at
most one agent value (a pinned edit). The effective value is the agent's when pinned, else the
channel's. Out-of-order delivery cannot let an older value overwrite a newer one, because the rule
compares when the interactions occurred, not when they were processed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select

from crm.columns import utcnow
from crm.extensions import db
from crm.profiles.models import Customer, CustomerAttribute, Interaction

SIMPLE_KEYS = ("first_name", "last_name", "birth_date", "address", "locale")


def flatten(customer_in: dict) -> dict[str, object]:
    """The attribute keys an interaction's customer block carries: name, first_name, consent.email, custom.tier..."""
    out: dict[str, object] = {}
    attrs = (customer_in or {}).get("attributes") or {}
    if customer_in.get("name"):
        out["name"] = customer_in["name"].strip()
    for key in SIMPLE_KEYS:
        value = attrs.get(key)
        if value not in (None, "", {}):
            out[key] = _clean(value)
    consent = attrs.get("consent") or {}
    for channel in ("email", "sms", "phone"):
        if consent.get(channel) is not None:
            out[f"consent.{channel}"] = {"granted": bool(consent[channel]), "at": consent.get("at")}
    for key, value in (attrs.get("custom") or {}).items():
        out[f"custom.{key}"] = value
    return out


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


def effective(customer_id: int) -> dict[str, dict]:
    """key -> {value, origin, source_id, interaction_id, observed_at}: the pinned value over the channel one."""
    out: dict[str, dict] = {}
    rows = db.session.scalars(select(CustomerAttribute).where(CustomerAttribute.customer_id == customer_id))
    for row in sorted(rows, key=lambda r: r.origin != "agent"):
        if row.key in out:
            continue
        out[row.key] = {
            "value": row.value,
            "origin": row.origin,
            "source_id": row.source_id,
            "interaction_id": row.interaction_id,
            "observed_at": row.observed_at.isoformat(),
            "updated_by": row.updated_by,
        }
    return dict(sorted(out.items()))


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


def combine_into(survivor_id: int, merged_id: int) -> None:
    """Merge attributes by the same rule: per key and origin, the later observation wins."""
    theirs = list(db.session.scalars(select(CustomerAttribute).where(CustomerAttribute.customer_id == merged_id)))
    ours = {
        (r.key, r.origin): r
        for r in db.session.scalars(select(CustomerAttribute).where(CustomerAttribute.customer_id == survivor_id))
    }
    for row in theirs:
        mine = ours.get((row.key, row.origin))
        if mine is None:
            db.session.add(CustomerAttribute(customer_id=survivor_id, **_copyable(row)))
        elif _newer(row.observed_at, row.interaction_id, mine):
            for field, value in _copyable(row).items():
                setattr(mine, field, value)
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
