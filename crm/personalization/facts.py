"""The plain data every personalization rule and score reads.

Profiles load these from the database (one customer, their last interactions and cases); nothing in
personalization queries anything. Keeping the input frozen and plain is what lets every rule be tested
on a hand-built customer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

CHANNELS = ("email", "chat", "phone", "store")
TYPES = ("message", "call", "visit", "purchase", "survey", "note")
# Types that only happen when the customer acts, whatever the direction on the row says.
CUSTOMER_ACTS = ("purchase", "visit", "survey")


def to_decimal(value: Any) -> Decimal | None:
    """A money amount as given by a channel (string decimal, number or None) as a Decimal."""
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


@dataclass(frozen=True)
class InteractionFact:
    id: int
    channel: str
    type: str
    direction: str
    occurred_at: datetime
    subject: str | None = None
    text: str | None = None
    # Channel details as in the canonical schema; hash=False because a dict cannot be hashed.
    data: Mapping[str, Any] = field(default_factory=dict, hash=False)
    sentiment: float | None = None
    case_id: int | None = None

    @property
    def inbound(self) -> bool:
        return self.direction == "inbound"

    @property
    def is_refund(self) -> bool:
        return self.type == "purchase" and bool(self.data.get("refund"))

    @property
    def is_purchase(self) -> bool:
        """A purchase that is not a refund."""
        return self.type == "purchase" and not self.data.get("refund")

    @property
    def amount(self) -> Decimal | None:
        """The order total, always positive (a refund's sign comes from `is_refund`)."""
        total = to_decimal(self.data.get("total"))
        if total is None:
            total = self._items_total()
        return abs(total) if total is not None else None

    @property
    def currency(self) -> str | None:
        return self.data.get("currency")

    @property
    def items(self) -> list[Mapping[str, Any]]:
        return [item for item in self.data.get("items") or () if isinstance(item, Mapping)]

    @property
    def skus(self) -> list[str]:
        return [str(item["sku"]) for item in self.items if item.get("sku")]

    @property
    def survey(self) -> tuple[str, float] | None:
        """(kind, score) for a survey answer, else None."""
        kind, score = self.data.get("kind"), self.data.get("score")
        if self.type != "survey" or kind is None or score is None:
            return None
        return str(kind), float(score)

    @property
    def by_customer(self) -> bool:
        """Did the customer make this move? Our own outbound messages never count as their activity."""
        if self.type in CUSTOMER_ACTS or self.inbound:
            return True
        # An outbound call they picked up is a conversation they chose to have.
        return self.type == "call" and self.data.get("outcome") == "answered"

    def _items_total(self) -> Decimal | None:
        total, seen = Decimal(0), False
        for item in self.items:
            price = to_decimal(item.get("unit_price"))
            if price is not None:
                quantity = to_decimal(item.get("quantity"))
                total += price * (quantity if quantity is not None else 1)
                seen = True
        return total if seen else None


@dataclass(frozen=True)
class CaseFact:
    id: int
    status: str  # open | resolved
    channel: str
    subject: str | None
    opened_at: datetime
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    reopen_count: int = 0
    last_inbound_at: datetime | None = None
    # The sum of open spells when profiles tracked it (Case.resolution_seconds); else resolved - opened.
    resolution_seconds: float | None = None

    @property
    def is_open(self) -> bool:
        return self.status == "open"


@dataclass(frozen=True)
class CustomerFacts:
    customer_id: int
    display_name: str | None = None
    first_name: str | None = None
    created_at: datetime | None = None
    first_seen_at: datetime | None = None
    last_seen_at: datetime | None = None
    lifetime_value: Mapping[str, Decimal] = field(default_factory=dict, hash=False)
    ltv_amount: Decimal = Decimal(0)
    orders_count: int = 0
    nps_score: float | None = None
    csat_score: float | None = None
    ces_score: float | None = None
    open_cases: int = 0
    interactions: tuple[InteractionFact, ...] = ()  # newest first, at most the last 500
    cases: tuple[CaseFact, ...] = ()
    segments: tuple[str, ...] = ()
    attributes: Mapping[str, Any] = field(default_factory=dict, hash=False)
    done_actions: frozenset[str] = frozenset()
    experiments: tuple[tuple[str, str, str | None], ...] = ()  # (experiment, variant, action text)

    @property
    def name(self) -> str:
        return self.display_name or self.first_name or f"Customer {self.customer_id}"

    @property
    def purchases(self) -> list[InteractionFact]:
        """Purchases (not refunds), newest first."""
        return [i for i in self.interactions if i.is_purchase]

    @property
    def purchase_count(self) -> int:
        # The interactions hold only the last 500, so the profile's aggregate wins when it knows more.
        return max(self.orders_count, len(self.purchases))

    @property
    def open_case_count(self) -> int:
        return max(self.open_cases, sum(1 for case in self.cases if case.is_open))

    @property
    def since(self) -> datetime | None:
        """When we first knew them."""
        known = [t for t in (self.first_seen_at, self.created_at) if t is not None]
        if self.interactions:
            known.append(self.interactions[-1].occurred_at)
        return min(known) if known else None

    def last_customer_contact(self, now: datetime | None = None) -> datetime | None:
        """The customer's own latest move (message, call, visit, purchase, survey) not after `now`."""
        for interaction in self.interactions:
            if interaction.by_customer and (now is None or interaction.occurred_at <= now):
                return interaction.occurred_at
        # No interaction rows loaded: the profile's aggregate is all we have.
        return self.last_seen_at if not self.interactions else None

    def latest_survey(self, kind: str) -> tuple[float, InteractionFact | None] | None:
        """The latest answer of a survey kind: (score, the survey interaction when it is loaded)."""
        for interaction in self.interactions:
            survey = interaction.survey
            if survey is not None and survey[0] == kind:
                return survey[1], interaction
        aggregate = {"nps": self.nps_score, "csat": self.csat_score, "ces": self.ces_score}.get(kind)
        return (float(aggregate), None) if aggregate is not None else None


def days_between(earlier: datetime, later: datetime) -> int:
    """Whole days from `earlier` to `later` (never negative)."""
    return max(0, (later - earlier).days)
