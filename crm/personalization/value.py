"""Customer lifetime value: what they have spent (historical), what they may still spend (projected),
and the value tier agents see.

Projected value, method "aov_x_frequency_x_expected_lifetime" (deliberately not BG/NBD: no fitting, no
extra dependency, and every number in it can be read back to the customer's own history):

    projected = average order value × orders a year × expected remaining years

    average order value   net lifetime value in the base currency / orders
    orders a year         orders / years since we first knew them (at least MIN_TENURE_DAYS, so a
                          week-old customer with one order is not read as 52 orders a year)
    expected years        sum of r**t for t = 1..HORIZON_YEARS, with yearly retention r = 1 - churn risk:
                          the expected number of the next HORIZON_YEARS years they stay, if each year they
                          leave with the probability the churn score gives today

The churn score is not calibrated to a year; treating it as one is the method's main assumption.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from crm.personalization.churn import churn_risk
from crm.personalization.facts import CustomerFacts, InteractionFact, days_between

METHOD = "aov_x_frequency_x_expected_lifetime"
HORIZON_YEARS = 3
MIN_TENURE_DAYS = 180
# Highest first; the tier is the first whose threshold the base-currency lifetime value reaches.
TIERS: tuple[tuple[str, Decimal], ...] = (
    ("platinum", Decimal(5000)),
    ("gold", Decimal(1000)),
    ("silver", Decimal(250)),
    ("bronze", Decimal(0)),
)
TIER_RANK = {"bronze": 0, "silver": 1, "gold": 2, "platinum": 3}
CENT = Decimal("0.01")


def money(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def historical_value(interactions: Iterable[InteractionFact]) -> dict[str, Decimal]:
    """Purchases minus refunds, per currency (a purchase without a currency is counted under "")."""
    totals: dict[str, Decimal] = {}
    for interaction in interactions:
        if interaction.type != "purchase" or interaction.amount is None:
            continue
        sign = -1 if interaction.is_refund else 1
        currency = interaction.currency or ""
        totals[currency] = totals.get(currency, Decimal(0)) + sign * interaction.amount
    return {currency: money(total) for currency, total in sorted(totals.items())}


def value_tier(
    amount: Decimal, tiers: tuple[tuple[str, Decimal], ...] = TIERS, currency: str = "USD"
) -> tuple[str, str]:
    """(tier, reason) for a lifetime value in the base currency."""
    for tier, threshold in tiers:
        if amount >= threshold:
            return tier, f"{tier}: {currency} {money(amount):,} lifetime value ({tier} from {currency} {threshold:,})"
    lowest, threshold = tiers[-1]
    return lowest, f"{lowest}: {currency} {money(amount):,} lifetime value (below every threshold)"


def customer_value(
    facts: CustomerFacts,
    now: datetime,
    churn: float | None = None,
    base_currency: str = "USD",
) -> dict:
    """Historical and projected lifetime value, the tier, and the method with its inputs."""
    computed = historical_value(facts.interactions)
    # The profile's aggregates cover the whole history; the loaded interactions only the last 500.
    has_aggregate = bool(facts.lifetime_value) or facts.ltv_amount != 0
    historical = dict(facts.lifetime_value) if facts.lifetime_value else computed
    base = Decimal(facts.ltv_amount) if has_aggregate else computed.get(base_currency, Decimal(0))
    risk = churn if churn is not None else churn_risk(facts, now)[0]
    projection = project(base, facts.purchase_count, days_between(facts.since or now, now), risk)
    tier, tier_reason = value_tier(base, currency=base_currency)
    return {
        "historical": historical,
        "historical_base": money(base),
        "base_currency": base_currency,
        "projected": projection["projected"],
        "method": METHOD,
        "method_text": projection["text"],
        "inputs": projection["inputs"],
        "tier": tier,
        "tier_reason": tier_reason,
    }


def project(net_value: Decimal, orders: int, days_known: int, risk: float) -> dict:
    """The projection and its inputs; see the module docstring for the method."""
    if orders <= 0 or net_value <= 0:
        return {"projected": Decimal("0.00"), "inputs": {}, "text": "no net purchases yet: nothing to project"}
    aov = Decimal(net_value) / orders
    years_known = max(days_known, MIN_TENURE_DAYS) / 365
    per_year = orders / years_known
    retention = max(0.0, min(1.0, 1 - risk))
    expected_years = sum(retention**t for t in range(1, HORIZON_YEARS + 1))
    projected = money(aov * Decimal(str(per_year)) * Decimal(str(expected_years)))
    text = (
        f"average order value {money(aov)} × {per_year:.1f} orders a year × {expected_years:.2f} expected years "
        f"({HORIZON_YEARS}-year horizon, yearly retention 1 − churn risk {risk:.2f})"
    )
    inputs = {
        "average_order_value": money(aov),
        "orders_per_year": round(per_year, 3),
        "expected_years": round(expected_years, 3),
        "retention": round(retention, 3),
        "horizon_years": HORIZON_YEARS,
    }
    return {"projected": projected, "inputs": inputs, "text": text}
