"""Identity resolution: an interaction's identifiers → one customer (create, attach or merge).

Deterministic and explainable: the customers owning any of the interaction's valid identifiers are
found; none → a new customer; one → attach and add the new identifiers; several → merge into the
oldest, each merge recorded with the identifier that linked them. Guard rails turn a merge into a
suggestion: a blocked pair (an undone merge) or a survivor that would pass the per-kind limit.
Shared identifiers on the blocklist (support@, the shop's own phone) never match and never attach.
Agents' notes and logged calls (internal sources) name their customer and attach to it directly.

Concurrency: the identifier values are locked first (two workers seeing the same new person agree on
one customer), then the customers owning them (a merge elsewhere cannot move them under us).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select, tuple_

from crm.columns import utcnow
from crm.errors import NotFound
from crm.extensions import db
from crm.profiles.identifiers import extract_identifiers, is_blocked
from crm.profiles.locks import lock_customers, lock_identifiers
from crm.profiles.merge import is_blocked_pair, merge_customers, suggest_pair
from crm.profiles.models import Customer, Identifier, Interaction

# How often owners are re-read after locking them before giving up (each retry means a merge elsewhere).
OWNER_ROUNDS = 5


@dataclass
class Resolution:
    customer: Customer
    created: bool = False
    merged_ids: list[int] = field(default_factory=list)
    suggested_ids: list[int] = field(default_factory=list)
    touched_ids: set[int] = field(default_factory=set)


def is_internal(source) -> bool:
    """Internal sources (agents' notes, logged calls) carry the customer id instead of identifiers."""
    return bool((source.settings or {}).get("internal"))


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
    if is_internal(source):
        return _resolve_internal(interaction)
    found = normalise_interaction_identifiers(interaction, source)
    interaction.identifiers = found
    keys = [(i["kind"], i["value"]) for i in found if i["valid"]]
    if not keys:
        # Every identifier invalid or blocked: the interaction still needs a customer, a new one.
        customer = _new_customer()
        return Resolution(customer=customer, created=True, touched_ids={customer.id})
    lock_identifiers(keys)
    owned, owners = _locked_owners(keys)
    if not owners:
        customer = _new_customer()
        _attach(customer, found, interaction, source, owned)
        return Resolution(customer=customer, created=True, touched_ids={customer.id})
    survivor, others = owners[0], owners[1:]
    result = Resolution(customer=survivor, touched_ids={c.id for c in owners})
    for other in others:
        _merge_or_suggest(survivor, other, owned, interaction, actor, result)
    owned = _owned(keys)
    _attach(survivor, found, interaction, source, owned)
    return result


def _merge_or_suggest(
    survivor: Customer, other: Customer, owned: list[Identifier], interaction: Interaction, actor: str, result
) -> None:
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
        return
    merge_customers(
        survivor, other, identifier=link, interaction_id=interaction.id, actor=actor, reason="shared_identifier"
    )
    result.merged_ids.append(other.id)


_REFUSAL_TEXT = {
    "blocked_pair": "their merge was undone, so they are not merged again automatically",
    "over_limit": "merging would pass the limit of identifiers of one kind per customer",
}


def _owned(keys: list[tuple[str, str]]) -> list[Identifier]:
    # populate_existing: rows loaded earlier in this transaction may have moved since (a merge elsewhere).
    stmt = select(Identifier).where(tuple_(Identifier.kind, Identifier.value).in_(keys))
    return list(db.session.scalars(stmt.execution_options(populate_existing=True)))


def _locked_owners(keys: list[tuple[str, str]]) -> tuple[list[Identifier], list[Customer]]:
    """The identifiers' rows and their active owners, oldest first, with the owners locked.

    Another worker may merge an owner away between reading and locking it; the owners are read again
    after the lock until they stand still.
    """
    owned = _owned(keys)
    for _ in range(OWNER_ROUNDS):
        ids = {i.customer_id for i in owned}
        if not ids:
            break  # nobody owns them, and the identifier locks keep it so until we commit
        lock_customers(ids)
        owned = _owned(keys)
        if {i.customer_id for i in owned} <= ids:
            break
    return owned, _owners(owned)


def _owners(owned: list[Identifier]) -> list[Customer]:
    ids = {i.customer_id for i in owned}
    if not ids:
        return []
    stmt = select(Customer).where(Customer.id.in_(ids), Customer.status == "active")
    customers = db.session.scalars(stmt.execution_options(populate_existing=True))
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


def _resolve_internal(interaction: Interaction) -> Resolution:
    """A note or logged call: the customer it was written for, or the one that customer was merged into."""
    interaction.identifiers = []
    customer = active_customer((interaction.data or {}).get("customer_id"))
    lock_customers([customer.id])
    return Resolution(customer=customer, touched_ids={customer.id})


def active_customer(customer_id) -> Customer:
    """The customer, or the survivor it was merged into (following a chain of merges)."""
    customer = db.session.get(Customer, int(customer_id)) if str(customer_id or "").isdigit() else None
    seen: set[int] = set()
    while customer is not None and customer.status == "merged" and customer.merged_into_id not in seen:
        seen.add(customer.id)
        customer = db.session.get(Customer, customer.merged_into_id)
    if customer is None or customer.status != "active":
        raise NotFound(f"no active customer {customer_id}")
    return customer
