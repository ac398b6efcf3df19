"""What an experiment can measure, per customer, from their own interactions after assignment.

Each metric reads one customer's window — the N days after their assignment (the experiment's
`window_days`) — and gives one number, or None when the customer has nothing to measure (no survey
answered, no case opened). The customer is the unit because the customer is what was randomised: a
customer with three cases counts once, so the tests' independence holds.

Pure: the observations are plain facts (crm.personalization.facts); observations.py loads them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from crm.personalization.facts import CaseFact, InteractionFact

CONTACT_TYPES = ("message", "call")


@dataclass(frozen=True)
class Observation:
    """One assigned customer: their variant, when they were assigned, and what happened in their window."""

    customer_id: int
    variant: str
    assigned_at: datetime
    interactions: tuple[InteractionFact, ...] = ()  # in the window, any order
    cases: tuple[CaseFact, ...] = field(default=(), hash=False)  # opened in the window

    def window_end(self, window_days: int) -> datetime:
        return self.assigned_at + timedelta(days=window_days)

    def measured_by(self, now: datetime, window_days: int) -> bool:
        """A customer is measured once their whole window has passed: a half-seen window would read as churn."""
        return self.window_end(window_days) <= now


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    kind: str  # rate | mean
    higher_is_better: bool
    unit: str
    definition: str
    value: Callable[[Observation, str], float | None]

    def unit_in(self, base_currency: str) -> str:
        return self.unit.replace("{currency}", base_currency)

    def format_value(self, value: float | None, base_currency: str = "") -> str:
        if value is None:
            return "–"
        if self.kind == "rate":
            return f"{100 * value:.1f} %"
        return f"{value:,.2f} {self.unit_in(base_currency)}".strip()

    def format_difference(self, value: float | None, base_currency: str = "", unit: bool = True) -> str:
        """A difference: percentage points for rates, the metric's unit for means (unit=False: the number only)."""
        if value is None:
            return "–"
        number = f"{100 * value:+.1f}" if self.kind == "rate" else f"{value:+,.2f}"
        if not unit:
            return number
        return f"{number} points" if self.kind == "rate" else f"{number} {self.unit_in(base_currency)}".strip()


def _converted(o: Observation, _currency: str) -> float:
    return 1.0 if any(i.is_purchase for i in o.interactions) else 0.0


def _spend(o: Observation, base_currency: str) -> float:
    """Purchases minus refunds in the base currency (other currencies are left out, as in the profile's LTV)."""
    total = Decimal(0)
    for i in o.interactions:
        if i.type != "purchase" or (i.currency or base_currency) != base_currency or i.amount is None:
            continue
        total += -i.amount if i.is_refund else i.amount
    return float(total)


def _latest_survey(o: Observation, kind: str) -> float | None:
    answers = [(i.occurred_at, i.id, i.survey[1]) for i in o.interactions if i.survey and i.survey[0] == kind]
    return max(answers)[2] if answers else None


def _csat_satisfied(o: Observation, _currency: str) -> float | None:
    score = _latest_survey(o, "csat")
    return None if score is None else (1.0 if score >= 4 else 0.0)


def _nps_points(o: Observation, _currency: str) -> float | None:
    # +100 for a promoter, -100 for a detractor, 0 for a passive: their mean *is* the NPS.
    score = _latest_survey(o, "nps")
    if score is None:
        return None
    return 100.0 if score >= 9 else -100.0 if score <= 6 else 0.0


def _churned(o: Observation, _currency: str) -> float:
    return 0.0 if any(i.by_customer for i in o.interactions) else 1.0


def _contacts(o: Observation, _currency: str) -> float:
    return float(sum(1 for i in o.interactions if i.inbound and i.type in CONTACT_TYPES))


def _resolution_hours(o: Observation, _currency: str) -> float | None:
    spells = []
    for case in o.cases:
        if case.resolved_at is None:
            continue
        seconds = case.resolution_seconds
        if seconds is None:
            seconds = (case.resolved_at - case.opened_at).total_seconds()
        spells.append(seconds / 3600)
    return sum(spells) / len(spells) if spells else None


def _reopened(o: Observation, _currency: str) -> float | None:
    if not o.cases:
        return None
    return 1.0 if any(case.reopen_count for case in o.cases) else 0.0


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("conversion", "Conversion", "rate", True, "", "share of customers with a purchase in the window", _converted),
        Metric("spend", "Spend per customer", "mean", True, "{currency}", "purchases minus refunds in the window, base currency", _spend),
        Metric("csat", "CSAT", "rate", True, "", "share of CSAT respondents in the window who answered 4 or 5", _csat_satisfied),
        Metric("nps", "NPS", "mean", True, "NPS", "% promoters minus % detractors among NPS respondents in the window", _nps_points),
        Metric("churn", "Churn", "rate", False, "", "share of customers with no move of their own in the window", _churned),
        Metric("contact_rate", "Contact rate", "mean", False, "contacts", "inbound messages and calls per customer in the window", _contacts),
        Metric("time_to_resolution", "Time to resolution", "mean", False, "h", "mean hours to resolve the cases opened in the window", _resolution_hours),
        Metric("reopen_rate", "Reopen rate", "rate", False, "", "share of customers with a case in the window who saw one reopen", _reopened),
    )
}  # fmt: skip


def metric(name: str) -> Metric:
    try:
        return METRICS[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; one of {', '.join(METRICS)}") from None
