"""From hits to what the agent sees: each hit read back from the database (the source of truth, so a
result never shows data the index has not caught up with), with highlights marking what matched.

A hit whose row is gone or merged since it was indexed is left out rather than shown stale.
"""

from __future__ import annotations

import html
from collections import defaultdict

from sqlalchemy import select

from crm.extensions import db
from crm.profiles.models import Customer, Identifier, Interaction
from crm.search import documents, highlight, text
from crm.search.ids import id_in
from crm.search.query import ParsedQuery, SearchPage


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def present(page: SearchPage, query: ParsedQuery) -> list[dict]:
    customer_ids = [h.id for h in page.hits if h.entity == "customer"]
    interaction_ids = [h.id for h in page.hits if h.entity == "interaction"]
    interactions = _interactions(interaction_ids)
    names = _names({r.customer_id for r in interactions.values() if r.customer_id} | set(customer_ids))
    customers = _customers(customer_ids, query)
    items = []
    for hit in page.hits:
        if hit.entity == "customer" and hit.id in customers:
            body = customers[hit.id]
        elif hit.entity == "interaction" and hit.id in interactions:
            body = _interaction_item(interactions[hit.id], names, query)
        else:
            continue
        items.append(
            {"kind": hit.entity, "id": hit.id, "score": hit.score, "activity_at": _iso(hit.activity_at), **body}
        )
    return items


def _names(customer_ids: set[int]) -> dict[int, str | None]:
    if not customer_ids:
        return {}
    t = Customer.__table__
    return dict(db.session.execute(select(t.c.id, t.c.display_name).where(id_in(t.c.id, customer_ids))).all())


def _customers(ids: list[int], query: ParsedQuery) -> dict[int, dict]:
    if not ids:
        return {}
    t, it = Customer.__table__, Identifier.__table__
    rows = {r.id: r for r in db.session.execute(select(t).where(id_in(t.c.id, ids), t.c.status == "active"))}
    idents: dict[int, list] = defaultdict(list)
    for row in db.session.execute(
        select(it.c.customer_id, it.c.kind, it.c.value).where(id_in(it.c.customer_id, rows)).order_by(it.c.id)
    ):
        idents[row.customer_id].append(row)
    out = {}
    for cid, row in rows.items():
        mine = idents.get(cid, [])
        marked = [
            {"kind": i.kind, "value": i.value, "highlight": h}
            for i in mine
            if (h := highlight.highlight_identifier(i.kind, i.value, query))
        ]
        name = highlight.highlight_name(row.display_name, query)
        out[cid] = {
            "customer": {
                "id": cid,
                "display_name": row.display_name,
                "emails": [i.value for i in mine if i.kind == "email"],
                "phones": [i.value for i in mine if i.kind == "phone"],
                "last_seen_at": _iso(row.last_seen_at),
                "last_channel": row.last_channel,
                "interaction_count": row.interaction_count,
                "journey_stage": row.journey_stage,
            },
            "highlight": {k: v for k, v in (("name", name), ("identifiers", marked)) if v},
        }
    return out


def _interactions(ids: list[int]) -> dict[int, object]:
    if not ids:
        return {}
    t = Interaction.__table__
    cols = [t.c[name] for name in documents.INTERACTION_COLUMNS]
    return {r.id: r for r in db.session.execute(select(*cols).where(id_in(t.c.id, ids)))}


def _interaction_item(row, names: dict, query: ParsedQuery) -> dict:
    data = row.data or {}
    marks = {
        "subject": highlight.highlight_text(row.subject, query),
        "text": highlight.highlight_text(documents.interaction_body(row), query),
    }
    order = data.get("order_number")
    if order and query.order_number and text.normalise_order_number(str(order)) == query.order_number:
        marks["order_number"] = [f"<em>{html.escape(str(order))}</em>"]
    return {
        "interaction": {
            "id": row.id,
            "customer_id": row.customer_id,
            "customer_name": names.get(row.customer_id),
            "channel": row.channel,
            "type": row.type,
            "direction": row.direction,
            "occurred_at": _iso(row.occurred_at),
            "subject": row.subject,
            "order_number": data.get("order_number"),
        },
        "highlight": {k: v for k, v in marks.items() if v},
    }
