"""Journey stage from behaviour: an ordered list of rules, the first that holds places the customer.

Order matters and is the policy: silence outranks everything (a lapsed repeat buyer is lapsed), risk
outranks loyalty (a promoter gone quiet is at risk), and the rest climbs from awareness to advocate.
The reason always starts with the stage and names what the rule saw.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from crm.personalization.churn import churn_risk
from crm.personalization.facts import CustomerFacts, days_between

LAPSED_DAYS = 180  # no move of their own for this long: lapsed
AT_RISK_SILENT_DAYS = 90  # a repeat buyer this quiet is at risk
AT_RISK_CHURN = 0.7  # or any buyer whose churn risk reaches this
ADVOCATE_NPS = 9
ADVOCATE_PURCHASES = 2
REPEAT_PURCHASES = 2
CONSIDERATION_INBOUND = 2  # contacts of their own, without a purchase, that show intent


@dataclass(frozen=True)
class Signals:
    """What the journey rules read, computed once per customer."""

    purchases: int
    days_since_purchase: int | None
    days_silent: int | None
    nps: float | None
    churn_risk: float
    visits: int
    contacts: int  # interactions the customer started (messages, calls, visits, surveys)
    days_known: int


@dataclass(frozen=True)
class JourneyRule:
    stage: str
    applies: Callable[[Signals], bool]
    reason: Callable[[Signals], str]  # renders the reason template from the signals


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' * (count != 1)}"


def _when(days: int | None) -> str:
    if days is None:
        return "at a date we do not hold"
    return "today" if days == 0 else f"{_plural(days, 'day')} ago"


RULES: tuple[JourneyRule, ...] = (
    JourneyRule(
        "lapsed",
        lambda s: s.days_silent is not None and s.days_silent >= LAPSED_DAYS,
        lambda s: f"lapsed: no interaction for {s.days_silent} days ({LAPSED_DAYS}+ days silent)",
    ),
    JourneyRule(
        "at risk",
        lambda s: (
            s.purchases >= REPEAT_PURCHASES and s.days_silent is not None and s.days_silent >= AT_RISK_SILENT_DAYS
        ),
        lambda s: (
            f"at risk: a repeat buyer ({_plural(s.purchases, 'purchase')}) silent for {s.days_silent} days "
            f"({AT_RISK_SILENT_DAYS}+)"
        ),
    ),
    JourneyRule(
        "at risk",
        lambda s: s.purchases >= 1 and s.churn_risk >= AT_RISK_CHURN,
        lambda s: (
            f"at risk: churn risk {s.churn_risk:.2f} (≥ {AT_RISK_CHURN:.2f}) after {_plural(s.purchases, 'purchase')}"
        ),
    ),
    JourneyRule(
        "advocate",
        lambda s: s.nps is not None and s.nps >= ADVOCATE_NPS and s.purchases >= ADVOCATE_PURCHASES,
        lambda s: f"advocate: NPS {s.nps:g} (≥ {ADVOCATE_NPS}) and {_plural(s.purchases, 'purchase')}",
    ),
    JourneyRule(
        "repeat",
        lambda s: s.purchases >= REPEAT_PURCHASES,
        lambda s: f"repeat: {_plural(s.purchases, 'purchase')}, the last {_when(s.days_since_purchase)}",
    ),
    JourneyRule(
        "first purchase",
        lambda s: s.purchases == 1,
        lambda s: f"first purchase: 1 purchase, made {_when(s.days_since_purchase)}",
    ),
    JourneyRule(
        "consideration",
        lambda s: s.visits >= 1 or s.contacts >= CONSIDERATION_INBOUND,
        lambda s: (
            f"consideration: no purchase yet, {_plural(s.visits, 'visit')} and "
            f"{_plural(s.contacts, 'contact')} of their own"
        ),
    ),
    JourneyRule(
        "awareness",
        lambda s: True,
        lambda s: f"awareness: known for {_plural(s.days_known, 'day')}, no purchase or visit yet",
    ),
)


def signals(facts: CustomerFacts, now: datetime, churn: float | None = None) -> Signals:
    """The journey signals; `churn` saves recomputing the risk when the caller already has it."""
    purchases = [p for p in facts.purchases if p.occurred_at <= now]
    # Silence counts from their own last move; a customer who never made one, from when we met them.
    last_contact = facts.last_customer_contact(now) or facts.since
    since = facts.since
    return Signals(
        purchases=max(facts.orders_count, len(purchases)),
        days_since_purchase=days_between(purchases[0].occurred_at, now) if purchases else None,
        days_silent=days_between(last_contact, now) if last_contact else None,
        nps=latest[0] if (latest := facts.latest_survey("nps")) else None,
        churn_risk=churn if churn is not None else churn_risk(facts, now)[0],
        visits=sum(1 for i in facts.interactions if i.type == "visit" and i.occurred_at <= now),
        contacts=sum(1 for i in facts.interactions if i.by_customer and i.occurred_at <= now),
        days_known=days_between(since, now) if since else 0,
    )


def journey_stage(
    facts: CustomerFacts,
    now: datetime,
    churn: float | None = None,
    rules: tuple[JourneyRule, ...] = RULES,
) -> tuple[str, str]:
    """(stage, reason) from the first rule that holds."""
    found = signals(facts, now, churn)
    for rule in rules:
        if rule.applies(found):
            return rule.stage, rule.reason(found)
    return "awareness", "awareness: no rule matched"
