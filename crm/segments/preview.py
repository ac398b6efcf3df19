"""The live preview of a rule tree — its size, a first page of members, a breakdown by channel and stage —
from Elasticsearch in full mode and from the database in embedded mode, behind one call.

Both back ends return the same shape; the members shown are read back from the database (the truth)
in the order the back end ranked them: most recently seen first.
"""

from __future__ import annotations

import time
from datetime import datetime

from sqlalchemy import and_, distinct, func, select

from crm.columns import utcnow
from crm.extensions import db
from crm.jobs import warn_once
from crm.profiles.models import Customer, Identifier, Interaction
from crm.segments import elastic, sql
from crm.segments.rules import lower

PREVIEW_SIZE = 20


def uses_elasticsearch() -> bool:
    from crm.search import uses_elasticsearch as search_uses_elasticsearch

    return search_uses_elasticsearch()


def preview(rule: dict, *, now: datetime | None = None, size: int = PREVIEW_SIZE) -> dict:
    """{count, members, breakdown, backend, now, took_ms} for a validated rule."""
    started = time.perf_counter()
    now = now or utcnow()
    node = lower(rule, now)
    backend, result = "sql", None
    if uses_elasticsearch():
        result = _from_index(node, size)
        backend = "elasticsearch" if result is not None else "sql"
    if result is None:
        result = sql_preview(node, size=size)
    return {
        "count": result["count"],
        "members": member_summaries(result["ids"]),
        "breakdown": result["breakdown"],
        "backend": backend,
        "now": now,
        "took_ms": round((time.perf_counter() - started) * 1000, 1),
    }


def _from_index(node, size: int) -> dict | None:
    """The preview from Elasticsearch; None when it cannot answer (down, no index yet): the database will."""
    from crm.search.elastic import ES_ERRORS, describe

    try:
        return elastic.preview(node, size=size)
    except ES_ERRORS as exc:
        warn_once("segments-preview", f"segment preview served from the database: Elasticsearch {describe(exc)}")
        return None


def active_where(node):
    return and_(Customer.status == "active", sql.compile_where(node))


def sql_preview(node, *, size: int = PREVIEW_SIZE) -> dict:
    where = active_where(node)
    total = db.session.scalar(select(func.count()).select_from(Customer).where(where))
    ids = list(
        db.session.scalars(
            select(Customer.id)
            .where(where)
            .order_by(Customer.last_seen_at.desc().nulls_last(), Customer.id.desc())
            .limit(size)
        )
    )
    stage = func.coalesce(sql.fold(Customer.journey_stage), "unset")
    stages = dict(db.session.execute(select(stage, func.count()).where(where).group_by(stage)).all())
    matched = select(Customer.id).where(where)
    channels = dict(
        db.session.execute(
            select(Interaction.channel, func.count(distinct(Interaction.customer_id)))
            .where(Interaction.customer_id.in_(matched))
            .group_by(Interaction.channel)
        ).all()
    )
    return {"count": total, "ids": ids, "breakdown": {"channel": channels, "journey_stage": stages}}


def sql_matching_ids(node) -> list[int]:
    """Every active customer the tree matches, from the database."""
    return list(db.session.scalars(select(Customer.id).where(active_where(node)).order_by(Customer.id)))


def member_summaries(ids: list[int]) -> list[dict]:
    """Who the ids are, in the order given: name, contact, last seen, stage, value."""
    if not ids:
        return []
    # Columns, not entities: this runs on every preview, and a customer row carries JSON aggregates.
    customers = {
        row.id: row
        for row in db.session.execute(
            select(
                Customer.id,
                Customer.display_name,
                Customer.last_seen_at,
                Customer.journey_stage,
                Customer.ltv_amount,
                Customer.orders_count,
            ).where(Customer.id.in_(ids))
        )
    }
    contacts: dict[int, dict[str, str]] = {}
    for cid, kind, value in db.session.execute(
        select(Identifier.customer_id, Identifier.kind, Identifier.value)
        .where(Identifier.customer_id.in_(ids), Identifier.kind.in_(("email", "phone")))
        .order_by(Identifier.id)
    ):
        contacts.setdefault(cid, {}).setdefault(kind, value)
    out = []
    for cid in ids:
        c = customers.get(cid)
        if c is None:
            continue
        out.append(
            {
                "id": c.id,
                "display_name": c.display_name,
                "email": contacts.get(cid, {}).get("email"),
                "phone": contacts.get(cid, {}).get("phone"),
                "last_seen_at": c.last_seen_at,
                "journey_stage": c.journey_stage,
                "ltv_amount": float(c.ltv_amount or 0),
                "orders_count": c.orders_count,
            }
        )
    return out
