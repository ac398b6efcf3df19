"""Churn risk: how likely the customer is to drift away, 0-1, with the factors that say why.

A hand-set logistic score, not a trained model: each factor turns one signal into a contribution to
the log-odds, and the risk is the logistic of their sum,

    risk = 1 / (1 + exp(-(BIAS + sum(weight_f * x_f))))

    recency             x = days since the customer's own last move / 30, capped at 12 months
    frequency trend     x = drop of their contacts, last 90 days vs the 90 before: (before - last) / before
    spend trend         x = the same drop for what they spent (in their main currency)
    negative sentiment  x = -(mean sentiment of their latest messages in the last 180 days)
    unresolved cases    x = open cases, at most 3
    detractor score     x = 0.5 + (6 - NPS) / 12 for a detractor (0.5 at 6, 1 at 0); -0.375 for a promoter

Drops are clipped to [-1, 1], so a customer whose contacts or spend rose gets a negative (protective)
contribution; both windows empty after earlier activity counts as a full drop. With nothing against
them a customer seen today scores 0.12; recency alone reaches 0.5 after about 86 days, and from 90 days
of silence the frequency trend adds its full weight too (their contacts fell to none). The weights are data (WEIGHTS) so they can be tuned, and
every contribution is reported, so an agent sees exactly what moved the figure.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from statistics import fmean

from crm.personalization.facts import CustomerFacts, InteractionFact, days_between
from crm.personalization.sentiment import RECENT_COUNT, label, scored_messages

BIAS = -2.0
WEIGHTS = {
    "recency": 0.7,
    "frequency_trend": 1.2,
    "spend_trend": 1.0,
    "negative_sentiment": 1.5,
    "unresolved_cases": 0.6,
    "detractor": 1.6,
}
TREND_DAYS = 90  # the two windows compared by the frequency and spend trends
RECENCY_CAP_DAYS = 365
SENTIMENT_DAYS = 180  # older moods say little about today
MAX_CASES = 3
PROMOTER_X = -0.375  # a promoter's NPS takes 0.6 off the log-odds
CENT = Decimal("0.01")


def churn_risk(facts: CustomerFacts, now: datetime) -> tuple[float, list[dict]]:
    """(risk 0-1, factors sorted by contribution, highest first).

    Each factor: {"factor", "weight" (its contribution to the log-odds), "value", "text"}; factors
    that contribute nothing are left out.
    """
    factors = [
        factor
        for factor in (
            _recency(facts, now),
            _frequency_trend(facts, now),
            _spend_trend(facts, now),
            _sentiment(facts, now),
            _unresolved(facts),
            _detractor(facts),
        )
        if factor is not None and factor["weight"] != 0
    ]
    logit = BIAS + sum(factor["weight"] for factor in factors)
    factors.sort(key=lambda factor: factor["weight"], reverse=True)
    return round(1 / (1 + math.exp(-logit)), 3), factors


def _factor(name: str, x: float, value: object, text: str) -> dict:
    return {"factor": name, "weight": round(WEIGHTS[name] * x, 3), "value": value, "text": text}


def _recency(facts: CustomerFacts, now: datetime) -> dict | None:
    last = facts.last_customer_contact(now)
    if last is None:
        since = facts.since
        if since is None:
            return None
        days = days_between(since, now)
        return _factor("recency", min(days, RECENCY_CAP_DAYS) / 30, days, f"no contact of their own in {days} days")
    days = days_between(last, now)
    text = "last contact today" if days == 0 else f"no contact for {days} day{'s' * (days != 1)}"
    return _factor("recency", min(days, RECENCY_CAP_DAYS) / 30, days, text)


def _windows(interactions: tuple[InteractionFact, ...], now: datetime) -> tuple[list, list, bool]:
    """(the last TREND_DAYS, the TREND_DAYS before, whether any of them is older than both)."""
    split, start = now - timedelta(days=TREND_DAYS), now - timedelta(days=2 * TREND_DAYS)
    last = [i for i in interactions if split < i.occurred_at <= now]
    before = [i for i in interactions if start < i.occurred_at <= split]
    return last, before, any(i.occurred_at <= start for i in interactions)


def _drop(before: float, last: float, older: bool) -> float | None:
    """Fractional drop from the window before to the last, clipped to [-1, 1]; None when unreadable.

    Both windows empty after earlier activity is a full drop: otherwise a customer silent for 181 days
    would look safer than one silent for 179, whose last contact still sits in the window before.
    """
    if before:
        return max(-1.0, min(1.0, (before - last) / before))
    return 1.0 if older and not last else None


def _frequency_trend(facts: CustomerFacts, now: datetime) -> dict | None:
    last, before, older = _windows(tuple(i for i in facts.interactions if i.by_customer), now)
    x = _drop(len(before), len(last), older)
    if x is None:
        return None  # a new customer, or one only seen lately: nothing to compare with
    if not before:
        text = f"no contacts in the last {2 * TREND_DAYS} days, after earlier ones"
    else:
        verb = "fell" if x > 0 else "rose" if x < 0 else "held"
        text = f"contacts {verb} from {len(before)} to {len(last)} (last {TREND_DAYS} days vs the {TREND_DAYS} before)"
    return _factor("frequency_trend", x, {"last": len(last), "before": len(before)}, text)


def _spent(purchases: list[InteractionFact], currency: str | None) -> Decimal:
    return sum((p.amount for p in purchases if p.currency == currency and p.amount is not None), Decimal(0))


def _spend_trend(facts: CustomerFacts, now: datetime) -> dict | None:
    last, before, older = _windows(tuple(p for p in facts.purchases if p.amount is not None), now)
    if not (last or before or older):
        return None
    # Amounts in different currencies do not add up; the trend reads the one they mostly pay in.
    currencies = Counter(p.currency for p in (last + before) or facts.purchases if p.amount is not None)
    currency = currencies.most_common(1)[0][0]
    spent_last, spent_before = _spent(last, currency).quantize(CENT), _spent(before, currency).quantize(CENT)
    x = _drop(float(spent_before), float(spent_last), older)
    if x is None:
        return None
    value = {"currency": currency, "last": str(spent_last), "before": str(spent_before)}
    if not spent_before:
        return _factor("spend_trend", x, value, f"no purchases in the last {2 * TREND_DAYS} days, after earlier ones")
    verb = f"fell {x:.0%}" if x > 0 else f"rose {-x:.0%}" if x < 0 else "held"
    amounts = f"{currency or ''} {spent_before:,} → {spent_last:,}".strip()
    text = f"spend {verb} ({amounts}, last {TREND_DAYS} days vs the {TREND_DAYS} before)"
    return _factor("spend_trend", x, value, text)


def _sentiment(facts: CustomerFacts, now: datetime) -> dict | None:
    start = now - timedelta(days=SENTIMENT_DAYS)
    scores = [score for i, score in scored_messages(facts, now) if i.occurred_at > start][:RECENT_COUNT]
    if not scores:
        return None
    mean = fmean(scores)
    count = f"{len(scores)} message{'s' * (len(scores) != 1)}"
    text = f"recent messages {label(mean)} (average {mean:+.2f} over {count})"
    return _factor("negative_sentiment", -mean, round(mean, 3), text)


def _unresolved(facts: CustomerFacts) -> dict | None:
    count = facts.open_case_count
    if not count:
        return None
    text = f"{count} unresolved case{'s' * (count != 1)}"
    return _factor("unresolved_cases", min(count, MAX_CASES), count, text)


def _detractor(facts: CustomerFacts) -> dict | None:
    latest = facts.latest_survey("nps")
    if latest is None:
        return None
    score = latest[0]
    if score <= 6:
        return _factor("detractor", 0.5 + (6 - score) / 12, score, f"detractor: latest NPS {score:g}")
    if score >= 9:
        return _factor("detractor", PROMOTER_X, score, f"promoter: latest NPS {score:g}")
    return None
