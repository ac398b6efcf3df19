"""Documents built from the database rows: what the index holds for a customer and an interaction."""

from __future__ import annotations

from sqlalchemy import select

from crm.extensions import db
from crm.profiles.models import Customer, Identifier, Interaction


def customer_doc(customer: Customer, identifiers: list[Identifier]) -> dict:
    return {
        "id": customer.id,
        "name": customer.display_name,
        "identifiers": [f"{i.kind}:{i.value}" for i in identifiers],
        "last_seen_at": customer.last_seen_at.isoformat() if customer.last_seen_at else None,
    }


def interaction_doc(interaction: Interaction) -> dict:
    return {
        "id": interaction.id,
        "customer_id": interaction.customer_id,
        "channel": interaction.channel,
        "type": interaction.type,
        "occurred_at": interaction.occurred_at.isoformat(),
        "subject": interaction.subject,
        "text": interaction.text,
    }


def actions_for(rows, write_aliases: dict[str, str]) -> list[dict]:
    """Bulk actions for outbox rows: one per entity and id, however many rows name it."""
    wanted: dict[str, set[int]] = {"customer": set(), "interaction": set()}
    for row in rows:
        wanted[row.entity].add(row.entity_id)
    actions = []
    if wanted["customer"]:
        customers = {c.id: c for c in db.session.scalars(select(Customer).where(Customer.id.in_(wanted["customer"])))}
        idents: dict[int, list[Identifier]] = {}
        for ident in db.session.scalars(select(Identifier).where(Identifier.customer_id.in_(customers.keys()))):
            idents.setdefault(ident.customer_id, []).append(ident)
        for cid in wanted["customer"]:
            customer = customers.get(cid)
            if customer is None or customer.status != "active":
                actions.append({"_op_type": "delete", "_index": write_aliases["customer"], "_id": str(cid)})
            else:
                actions.append(
                    {
                        "_index": write_aliases["customer"],
                        "_id": str(cid),
                        "_source": customer_doc(customer, idents.get(cid, [])),
                    }
                )
    if wanted["interaction"]:
        found = {
            i.id: i for i in db.session.scalars(select(Interaction).where(Interaction.id.in_(wanted["interaction"])))
        }
        for iid in wanted["interaction"]:
            item = found.get(iid)
            if item is None:
                actions.append({"_op_type": "delete", "_index": write_aliases["interaction"], "_id": str(iid)})
            else:
                actions.append(
                    {"_index": write_aliases["interaction"], "_id": str(iid), "_source": interaction_doc(item)}
                )
    return actions
