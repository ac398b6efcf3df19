"""Sentiment of what the customer wrote, and its trend over their recent messages.

VADER (the `vaderSentiment` package, lexicon shipped inside it, nothing downloaded) gives a compound
score in [-1, 1] per text. Only customer-authored text is read: inbound messages, the customer's own
lines of a chat, survey comments. Agent replies and notes would otherwise colour the customer's mood.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from functools import cache, lru_cache
from statistics import fmean

from crm.personalization.facts import CustomerFacts, InteractionFact

RECENT_COUNT = 5  # the trend compares the last 5 scored messages with the 5 before them
TREND_BAND = 0.15  # a change of mean compound score smaller than this is "stable"
NEGATIVE = -0.05  # VADER's own cut-off: compound <= -0.05 reads as negative
POSITIVE = 0.05
MAX_POINTS = 30  # days shown on the sparkline


@cache
def _analyzer():
    # Imported and built lazily: loading the lexicon takes tens of milliseconds.
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


@lru_cache(maxsize=4096)
def score_text(text: str) -> float:
    """VADER compound score of one text, in [-1, 1]."""
    return float(_analyzer().polarity_scores(text)["compound"])


def customer_text(interaction: InteractionFact) -> str | None:
    """What the customer wrote in this interaction, or None when they wrote nothing."""
    if interaction.type == "survey":
        comment = interaction.data.get("comment")
        return (comment.strip() or None) if isinstance(comment, str) else None
    if interaction.type != "message":
        return None
    messages = interaction.data.get("messages")
    if isinstance(messages, list) and messages:
        # A chat transcript: the customer's lines only.
        lines = [m.get("text") or "" for m in messages if isinstance(m, dict) and m.get("author") == "customer"]
        return " ".join(line.strip() for line in lines if line.strip()) or None
    if not interaction.inbound:
        return None
    parts = [part.strip() for part in (interaction.subject, interaction.text) if part and part.strip()]
    return "\n".join(parts) or None


def interaction_sentiment(interaction: InteractionFact) -> float | None:
    """The interaction's stored score when the pipeline wrote one, else VADER on the customer's text."""
    text = customer_text(interaction)
    if text is None:
        return None
    if interaction.sentiment is not None:
        return float(interaction.sentiment)
    return score_text(text)


def scored_messages(facts: CustomerFacts, now: datetime) -> list[tuple[InteractionFact, float]]:
    """(interaction, score) for every customer-written interaction up to `now`, newest first."""
    out = []
    for interaction in facts.interactions:
        if interaction.occurred_at > now:
            continue
        score = interaction_sentiment(interaction)
        if score is not None:
            out.append((interaction, score))
    return out


def sentiment_trend(facts: CustomerFacts, now: datetime) -> dict:
    """Mean sentiment of the last RECENT_COUNT customer messages against the RECENT_COUNT before.

    A count window rather than a calendar one: a customer who writes twice a year still has a trend.
    """
    scored = scored_messages(facts, now)
    recent = [score for _, score in scored[:RECENT_COUNT]]
    previous = [score for _, score in scored[RECENT_COUNT : 2 * RECENT_COUNT]]
    result = {
        "recent": round(fmean(recent), 3) if recent else 0.0,
        "previous": round(fmean(previous), 3) if previous else 0.0,
        "recent_count": len(recent),
        "previous_count": len(previous),
        "points": _daily_points(scored),
    }
    result["direction"] = _direction(recent, previous)
    result["reason"] = _trend_reason(result, scored, now)
    return result


def _direction(recent: list[float], previous: list[float]) -> str:
    if not recent or not previous:
        return "stable"
    change = fmean(recent) - fmean(previous)
    if change > TREND_BAND:
        return "improving"
    if change < -TREND_BAND:
        return "worsening"
    return "stable"


def _daily_points(scored: list[tuple[InteractionFact, float]]) -> list[tuple[date, float]]:
    by_day: dict[date, list[float]] = defaultdict(list)
    for interaction, score in scored:
        by_day[interaction.occurred_at.date()].append(score)
    days = sorted(by_day)[-MAX_POINTS:]
    return [(day, round(fmean(by_day[day]), 3)) for day in days]


def label(score: float) -> str:
    if score <= NEGATIVE:
        return "negative"
    if score >= POSITIVE:
        return "positive"
    return "neutral"


def _trend_reason(result: dict, scored: list[tuple[InteractionFact, float]], now: datetime) -> str:
    if not scored:
        return "no messages written by the customer yet"
    recent_n, previous_n = result["recent_count"], result["previous_count"]
    newest_days = max(0, (now - scored[0][0].occurred_at).days)
    mood = f"{result['recent']:+.2f} ({label(result['recent'])})"
    if recent_n == 1:
        return f"one message so far, scoring {mood}, {_ago(newest_days)}"
    if not previous_n:
        return f"only {recent_n} messages so far, averaging {mood}; the latest {_ago(newest_days)}"
    recent = f"the last {recent_n} messages average {mood}"
    before = f"the {previous_n} before {result['previous']:+.2f}"
    return f"{result['direction']}: {recent}, {before}; the latest {_ago(newest_days)}"


def _ago(days: int) -> str:
    if days == 0:
        return "today"
    return "1 day ago" if days == 1 else f"{days} days ago"
