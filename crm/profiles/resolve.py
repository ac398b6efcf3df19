"""Identity resolution: an interaction's identifiers → one customer (create, attach or merge).

Deterministic and explainable: the customers owning any of the interaction's valid identifiers are
found; none → a new customer; one → attach and add the new identifiers; several → merge into the
oldest, each merge recorded with the identifier that linked them. Guard rails turn a merge into a
suggestion: a blocked pair (an undone merge) or a survivor that would pass the per-kind limit.
Shared identifiers on the blocklist (support@, the shop's own phone) never match and never attach.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select, tuple_

from crm.columns import utcnow
from crm.extensions import db
from crm.profiles.identifiers import extract_identifiers, is_blocked
from crm.profiles.locks import lock_identifiers
from crm.profiles.merge import is_blocked_pair, merge_customers, suggest_pair
from crm.profiles.models import Customer, Identifier, Interaction


@dataclass
class Resolution:
    customer: Customer
    created: bool = False
    merged_ids: list[int] = field(default_factory=list)
    suggested_ids: list[int] = field(default_factory=list)
    touched_ids: set[int] = field(default_factory=set)


def normalise_interaction_identifiers(interaction: Interaction, source) -> list[dict]:
    cfg = current_app.config
    found = extract_identifiers(
        interaction.customer_in or {},
        source_slug=source.slug,
        source_settings=dict(source.settings or {}),
        default_region=cfg["DEFAULT_PHONE_REGION"],
        strip_plus_tags=cfg["EMAIL_STRIP_PLUS_TAGS"],
    )
    blocklist = cfg["IDENTITY_BLOCKLIST"] + list((source.settings or {}).get("blocklist", []))
    for item in found:
        if item["valid"] and is_blocked(item["kind"], item["value"], blocklist):
            item["valid"] = False
            item["error"] = "on the blocklist of shared identifiers: never used to match"
    return found


def resolve(interaction: Interaction, source, actor: str = "system") -> Resolution:
    """Find or make the customer for an interaction; caller holds the transaction and commits."""
    found = normalise_interaction_identifiers(interaction, source)
    interaction.identifiers = found
    keys = [(i["kind"], i["value"]) for i in found if i["valid"]]
    if not keys:
        # Every identifier invalid or blocked: the interaction still needs a customer, a new one.
        customer = _new_customer()
        return Resolution(customer=customer, created=True, touched_ids={customer.id})
    lock_identifiers(keys)
    owned = list(db.session.scalars(select(Identifier).where(tuple_(Identifier.kind, Identifier.value).in_(keys))))
    owners = _owners(owned)
    if not owners:
        customer = _new_customer()
        _attach(customer, found, interaction, source, owned)
        return Resolution(customer=customer, created=True, touched_ids={customer.id})
    survivor, others = owners[0], owners[1:]
    result = Resolution(customer=survivor, touched_ids={c.id for c in owners})
    for other in others:
        link = next(i for i in owned if i.customer_id == other.id)
        reason = _merge_refusal(survivor, other)
        if reason:
            suggestion = suggest_pair(
                survivor.id,
                other.id,
                kind=reason,
                score=1.0,
                reasons=[f"share {link.kind} {link.value}", _REFUSAL_TEXT[reason]],
            )
            result.suggested_ids.append(suggestion.id)
            continue
        merge_customers(
            survivor, other, identifier=link, interaction_id=interaction.id, actor=actor, reason="shared_identifier"
        )
        result.merged_ids.append(other.id)
    owned = list(db.session.scalars(select(Identifier).where(tuple_(Identifier.kind, Identifier.value).in_(keys))))
    _attach(survivor, found, interaction, source, owned)
    return result


_REFUSAL_TEXT = {
    "blocked_pair": "their merge was undone, so they are not merged again automatically",
    "over_limit": "merging would pass the limit of identifiers of one kind per customer",
}


def _owners(owned: list[Identifier]) -> list[Customer]:
    ids = {i.customer_id for i in owned}
    if not ids:
        return []
    customers = db.session.scalars(select(Customer).where(Customer.id.in_(ids), Customer.status == "active"))
    return sorted(customers, key=lambda c: (c.created_at, c.id))


def _merge_refusal(survivor: Customer, other: Customer) -> str | None:
    if is_blocked_pair(survivor.id, other.id):
        return "blocked_pair"
    limit = current_app.config["IDENTITY_MAX_PER_KIND"]
    kinds: dict[str, set[str]] = {}
    for ident in [*survivor.identifiers, *other.identifiers]:
        kinds.setdefault(ident.kind, set()).add(ident.value)
    if any(len(values) > limit for values in kinds.values()):
        return "over_limit"
    return None


def _new_customer() -> Customer:
    customer = Customer(status="active", created_at=utcnow())
    db.session.add(customer)
    db.session.flush()
    return customer


def _attach(customer: Customer, found: list[dict], interaction: Interaction, source, owned: list[Identifier]) -> None:
    """Add the interaction's valid identifiers nobody owns, within the per-kind limit."""
    taken = {(i.kind, i.value) for i in owned}
    limit = current_app.config["IDENTITY_MAX_PER_KIND"]
    per_kind: dict[str, int] = {}
    for ident in customer.identifiers:
        per_kind[ident.kind] = per_kind.get(ident.kind, 0) + 1
    for item in found:
        key = (item["kind"], item["value"])
        if not item["valid"] or key in taken:
            continue
        if per_kind.get(item["kind"], 0) >= limit:
            item["error"] = f"not attached: the customer has {limit} {item['kind']} identifiers already"
            continue
        ident = Identifier(
            customer_id=customer.id,
            kind=item["kind"],
            value=item["value"],
            raw=(item.get("raw") or "")[:500],
            source_id=source.id,
            interaction_id=interaction.id,
        )
        db.session.add(ident)
        customer.identifiers.append(ident)
        taken.add(key)
        per_kind[item["kind"]] = per_kind.get(item["kind"], 0) + 1
    db.session.flush()
