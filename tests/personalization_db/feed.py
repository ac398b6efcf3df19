"""Feeding hand-made interactions through the real intake and pipeline, for the database-backed tests."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from crm.channels.intake import Received, store_canonical
from crm.extensions import db
from crm.pipeline import process_interactions
from tests.factories import make_source

_ids = itertools.count(1)
_sources: dict[tuple[str, str], object] = {}


def now() -> datetime:
    return datetime.now(UTC)


def ago(days: float = 0, hours: float = 0) -> datetime:
    return now() - timedelta(days=days, hours=hours)


def source(channel: str):
    from crm.channels.models import Source

    slug = f"feed-{channel}"
    found = db.session.scalar(db.select(Source).where(Source.slug == slug))
    return found or make_source(slug, channel=channel)


def deliver(channel: str, *items: dict) -> list[int]:
    """Store canonical interactions for a channel and process them; returns their ids."""
    outcome = store_canonical(
        source(channel), list(items), Received(body=b"", headers={}, url="test", content_type="application/json")
    )
    db.session.commit()
    ids = list(outcome.accepted)
    process_interactions(ids)
    db.session.expire_all()
    return ids


def item(type_: str, at: datetime, who: dict, direction: str = "inbound", **fields) -> dict:
    out = {
        "external_id": f"feed-{next(_ids)}",
        "occurred_at": at.isoformat(),
        "type": type_,
        "direction": direction,
        "customer": who,
    }
    out.update(fields)
    return out


def purchase(who: dict, at: datetime, *skus: str, total: str | None = None, refund: bool = False) -> dict:
    lines = [
        {"sku": sku, "name": sku.title(), "category": "gear", "quantity": 1, "unit_price": "10.00"} for sku in skus
    ]
    data = {"currency": "USD", "items": lines, "total": total or f"{10 * len(skus)}.00"}
    if refund:
        data["refund"] = True
    return item("purchase", at, who, data=data)


def survey(who: dict, at: datetime, kind: str, score: float, comment: str | None = None) -> dict:
    data = {"kind": kind, "score": score}
    if comment:
        data["comment"] = comment
    return item("survey", at, who, data=data, text=comment)


def message(who: dict, at: datetime, text: str, direction: str = "inbound", thread: str | None = None) -> dict:
    data = {"thread_id": thread} if thread else {}
    return item("message", at, who, direction=direction, subject=text[:40], text=text, data=data)


def customer_id_of(email: str) -> int:
    from crm.profiles.models import Identifier

    return db.session.scalar(db.select(Identifier.customer_id).where(Identifier.value == email))


def settle() -> None:
    """What the worker does in the background: drain the outbox into the index, rebuild the product model."""
    from crm.personalization.catalog_db import build_product_model
    from crm.search import drain, uses_elasticsearch

    if uses_elasticsearch():
        while drain():
            pass
    build_product_model()
