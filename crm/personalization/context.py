"""The context an agent reads first: who this is, in a sentence or two, and every score with its reason.

One call over one customer's facts; each score is computed once and shared (churn feeds journey and
value). Values are plain Python (Decimal, date, datetime): the API schema serialises them.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crm.personalization.churn import churn_risk
from crm.personalization.facts import CustomerFacts, InteractionFact, days_between
from crm.personalization.journey import journey_stage
from crm.personalization.sentiment import sentiment_trend
from crm.personalization.topics import topic_summary
from crm.personalization.value import customer_value

USUAL_HOURS_SHARE = 0.6  # the busiest hours that together hold this share of their contacts
TOP_FACTORS = 3


def build_context(facts: CustomerFacts, now: datetime, base_currency: str = "USD") -> dict:
    """Summary, journey, sentiment, topics, habits, churn and value for one customer."""
    risk, factors = churn_risk(facts, now)
    stage, stage_reason = journey_stage(facts, now, churn=risk)
    value = customer_value(facts, now, churn=risk, base_currency=base_currency)
    topics = topic_summary(facts, now)
    return {
        "summary": summary(facts, now, value["tier"]),
        "journey": {"stage": stage, "reason": stage_reason},
        "sentiment": sentiment_trend(facts, now),
        "topics": topics["topics"],
        "pain_points": topics["pain_points"],
        "preferred_channel": preferred_channel(facts, now),
        "contact_hours": contact_hours(facts, now),
        "churn": {"risk": risk, "factors": factors[:TOP_FACTORS], "all_factors": factors},
        "value": value,
    }


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' * (count != 1)}"


def tenure(days: int) -> str:
    """A tenure as people say it: '5 days', '3 months', '2 years 1 month'."""
    if days < 31:
        return _plural(days, "day")
    if days < 365:
        return _plural(days // 30, "month")
    years, months = divmod(days, 365)
    months //= 30
    return _plural(years, "year") + (f" {_plural(months, 'month')}" if months else "")


def outcome(interaction: InteractionFact) -> str:
    """What happened in one interaction, in a few words."""
    data, kind = interaction.data, interaction.type
    if kind == "call":
        return f"a call, {data.get('outcome') or 'outcome not recorded'}"
    if kind == "purchase":
        amount = f" {interaction.currency or ''} {interaction.amount:.2f}".rstrip() if interaction.amount else ""
        if interaction.is_refund:
            return f"a refund of{amount}" if amount else "a refund"
        return f"a purchase of {_plural(len(interaction.items), 'item')}" + (f" for{amount}" if amount else "")
    if kind == "survey" and interaction.survey:
        survey_kind, score = interaction.survey
        return f"a {survey_kind.upper()} answer of {score:g}"
    if kind == "visit":
        return "a store visit"
    if kind == "note":
        return "an agent note"
    return "a message from them" if interaction.inbound else "a message from us"


def _last_contact(facts: CustomerFacts, now: datetime) -> str:
    latest = next((i for i in facts.interactions if i.occurred_at <= now), None)
    if latest is None:
        return "no interactions yet"
    days = days_between(latest.occurred_at, now)
    when = "today" if days == 0 else f"{_plural(days, 'day')} ago"
    case = next((c for c in facts.cases if c.id == latest.case_id), None) if latest.case_id else None
    on_case = f' on "{case.subject or f"case {case.id}"}" ({case.status})' if case else ""
    return f"last contact {when} by {latest.channel}: {outcome(latest)}{on_case}"


def summary(facts: CustomerFacts, now: datetime, tier: str) -> str:
    """One or two sentences: who, tier, tenure, channels used, last contact and outcome, open cases."""
    since = facts.since
    known = f" for {tenure(days_between(since, now))}" if since else ""
    channels = [channel for channel, _ in Counter(i.channel for i in facts.interactions).most_common()]
    used = f", reaches us by {_join(channels)}" if channels else ""
    first = f"{facts.name}, a {tier} customer{known}{used}; {_last_contact(facts, now)}."
    open_cases = [case for case in facts.cases if case.is_open]
    count = max(facts.open_cases, len(open_cases))
    if not count:
        return first + " No open cases."
    subjects = "; ".join(f'"{case.subject}"' for case in open_cases[:2] if case.subject)
    return first + f" {_plural(count, 'open case').capitalize()}" + (f": {subjects}." if subjects else ".")


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def preferred_channel(facts: CustomerFacts, now: datetime) -> dict:
    """The channel they use most for contacts they start; ties go to the one used most recently."""
    theirs = [i for i in facts.interactions if i.by_customer and i.occurred_at <= now]
    if not theirs:
        return {"channel": None, "count": 0, "of": 0, "reason": "no contacts of their own yet"}
    counts = Counter(i.channel for i in theirs)
    recency = {}
    for position, interaction in enumerate(theirs):  # newest first: the first position is the latest use
        recency.setdefault(interaction.channel, position)
    channel = min(counts, key=lambda c: (-counts[c], recency[c]))
    reason = f"{channel}: {counts[channel]} of the {len(theirs)} contacts they started"
    return {"channel": channel, "count": counts[channel], "of": len(theirs), "reason": reason}


def customer_zone(facts: CustomerFacts) -> tuple[ZoneInfo, str]:
    """Their timezone attribute when it names a real zone, else UTC."""
    custom = facts.attributes.get("custom")
    candidates = [facts.attributes.get("timezone"), facts.attributes.get("custom.timezone")]
    candidates.append(custom.get("timezone") if isinstance(custom, dict) else None)
    for name in candidates:
        if isinstance(name, str) and name:
            try:
                return ZoneInfo(name), name
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC"), "UTC"


def contact_hours(facts: CustomerFacts, now: datetime) -> dict:
    """When they usually get in touch: the busiest hours of their inbound contacts, in their timezone."""
    zone, zone_name = customer_zone(facts)
    hours = [i.occurred_at.astimezone(zone).hour for i in facts.interactions if i.inbound and i.occurred_at <= now]
    histogram = [0] * 24
    for hour in hours:
        histogram[hour] += 1
    if not hours:
        return {"timezone": zone_name, "histogram": histogram, "usual": [], "reason": "no inbound contacts yet"}
    usual, covered = [], 0
    # Busiest first; an earlier hour wins a tie so the answer does not depend on dict order.
    for hour in sorted(range(24), key=lambda h: (-histogram[h], h)):
        if covered >= USUAL_HOURS_SHARE * len(hours) or not histogram[hour]:
            break
        usual.append(hour)
        covered += histogram[hour]
    usual.sort()
    windows = _hour_windows(usual)
    reason = f"{covered} of {len(hours)} inbound contacts between {', '.join(windows)} ({zone_name})"
    return {"timezone": zone_name, "histogram": histogram, "usual": usual, "windows": windows, "reason": reason}


def _hour_windows(hours: list[int]) -> list[str]:
    """Sorted hours as ranges: [9, 10, 11, 18] -> ['09:00-12:00', '18:00-19:00']."""
    windows, start = [], None
    for position, hour in enumerate(hours):
        start = hour if start is None else start
        if position + 1 == len(hours) or hours[position + 1] != hour + 1:
            windows.append(f"{start:02d}:00-{(hour + 1) % 24:02d}:00")
            start = None
    return windows
