"""Hand-built customers for personalization tests: every time is relative to NOW."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from crm.personalization.facts import CaseFact, CustomerFacts, InteractionFact

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
_ids = itertools.count(1000)


def ago(days: float = 0, hours: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours)


def message(
    text: str,
    days: float = 1,
    *,
    hours: float = 0,
    channel: str = "email",
    direction: str = "inbound",
    subject: str | None = None,
    case_id: int | None = None,
    sentiment: float | None = None,
    at: datetime | None = None,
) -> InteractionFact:
    return InteractionFact(
        id=next(_ids),
        channel=channel,
        type="message",
        direction=direction,
        occurred_at=at or ago(days, hours),
        subject=subject,
        text=text,
        sentiment=sentiment,
        case_id=case_id,
    )


def chat(lines: list[tuple[str, str]], days: float = 1, case_id: int | None = None) -> InteractionFact:
    """A chat transcript: [(author, text)] with authors customer, agent or bot."""
    start = ago(days)
    messages = [
        {"author": author, "at": (start + timedelta(minutes=n)).isoformat(), "text": text}
        for n, (author, text) in enumerate(lines)
    ]
    return InteractionFact(
        id=next(_ids),
        channel="chat",
        type="message",
        direction="inbound",
        occurred_at=start,
        text="\n".join(text for _, text in lines),
        data={"messages": messages},
        case_id=case_id,
    )


def purchase(
    total: str = "50.00",
    days: float = 10,
    *,
    currency: str = "USD",
    items: list[tuple[str, str]] | None = None,
    refund: bool = False,
    channel: str = "store",
) -> InteractionFact:
    """items: [(sku, name)]; one unnamed item when not given."""
    lines = [
        {"sku": sku, "name": name, "category": "general", "quantity": 1} for sku, name in items or [("SKU-0", "Thing")]
    ]
    data = {"currency": currency, "total": total, "items": lines}
    if refund:
        data["refund"] = True
    return InteractionFact(
        id=next(_ids), channel=channel, type="purchase", direction="inbound", occurred_at=ago(days), data=data
    )


def survey(kind: str, score: float, days: float = 5, comment: str | None = None) -> InteractionFact:
    data = {"kind": kind, "score": score}
    if comment is not None:
        data["comment"] = comment
    return InteractionFact(
        id=next(_ids), channel="email", type="survey", direction="inbound", occurred_at=ago(days), data=data
    )


def call(
    outcome: str = "answered", days: float = 3, direction: str = "inbound", duration_s: float = 120
) -> InteractionFact:
    return InteractionFact(
        id=next(_ids),
        channel="phone",
        type="call",
        direction=direction,
        occurred_at=ago(days),
        data={"outcome": outcome, "duration_s": duration_s},
    )


def visit(days: float = 3, skus: list[tuple[str, str]] | None = None) -> InteractionFact:
    data = {"store_id": "S1"}
    if skus:
        data["items"] = [{"sku": sku, "name": name} for sku, name in skus]
    return InteractionFact(
        id=next(_ids), channel="store", type="visit", direction="inbound", occurred_at=ago(days), data=data
    )


def outbound_email(text: str = "Our summer sale starts now", days: float = 1) -> InteractionFact:
    return message(text, days, direction="outbound")


def case(
    case_id: int,
    subject: str = "Where is my order?",
    *,
    status: str = "open",
    opened_days: float = 3,
    last_inbound_hours: float | None = None,
    first_response_hours: float | None = None,
    resolved_hours: float | None = None,
    reopen_count: int = 0,
    channel: str = "email",
) -> CaseFact:
    """Times of first response and resolution are hours after opening; last inbound is hours before NOW."""
    opened = ago(opened_days)
    return CaseFact(
        id=case_id,
        status=status,
        channel=channel,
        subject=subject,
        opened_at=opened,
        first_response_at=opened + timedelta(hours=first_response_hours) if first_response_hours is not None else None,
        resolved_at=opened + timedelta(hours=resolved_hours) if resolved_hours is not None else None,
        reopen_count=reopen_count,
        last_inbound_at=ago(hours=last_inbound_hours) if last_inbound_hours is not None else None,
    )


def customer(*interactions: InteractionFact, **overrides) -> CustomerFacts:
    """A customer with these interactions (any order given; stored newest first, as profiles load them)."""
    ordered = tuple(sorted(interactions, key=lambda i: i.occurred_at, reverse=True))
    first = ordered[-1].occurred_at if ordered else ago(30)
    fields = {
        "customer_id": 42,
        "display_name": "Ada Lovelace",
        "first_name": "Ada",
        "created_at": first,
        "first_seen_at": first,
        "last_seen_at": ordered[0].occurred_at if ordered else None,
        "interactions": ordered,
    }
    fields.update(overrides)
    if "ltv" in fields:
        amount = Decimal(fields.pop("ltv"))
        fields.setdefault("lifetime_value", {"USD": amount})
        fields.setdefault("ltv_amount", amount)
    return CustomerFacts(**fields)
