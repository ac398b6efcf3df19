"""CX metrics on plain rows, each returned with the counts behind it.

The API wires the SQL (overall, per channel, segment and period) and hands the rows here, so the
figure and its definition live in one place. Every function returns its figure under a named key and
the counts that make it, so the dashboard can say "NPS 23 from 120 responses", and a figure with no
rows behind it is None, never 0.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from statistics import fmean, median
from typing import TypeVar

from crm.personalization.facts import CaseFact, CustomerFacts, InteractionFact
from crm.personalization.value import money

T = TypeVar("T")


def survey_scores(rows: Iterable[float | int | InteractionFact], kind: str) -> list[float]:
    """Scores from plain numbers, or from survey interactions of the given kind (others skipped)."""
    scores = []
    for row in rows:
        if isinstance(row, InteractionFact):
            survey = row.survey
            if survey is not None and survey[0] == kind:
                scores.append(survey[1])
        elif row is not None:
            scores.append(float(row))
    return scores


def _percent(part: int, whole: int) -> float | None:
    return 100 * part / whole if whole else None


def nps(rows: Iterable[float | int | InteractionFact]) -> dict:
    """Net Promoter Score: % promoters (9-10) minus % detractors (0-6) of all responses, -100..100."""
    scores = survey_scores(rows, "nps")
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)
    figure = None if not scores else 100 * (promoters - detractors) / len(scores)
    return {
        "nps": figure,
        "responses": len(scores),
        "promoters": promoters,
        "passives": len(scores) - promoters - detractors,
        "detractors": detractors,
    }


def csat(rows: Iterable[float | int | InteractionFact]) -> dict:
    """CSAT: the share (%) of responses on the 1-5 scale that are 4 or 5."""
    scores = survey_scores(rows, "csat")
    satisfied = sum(1 for s in scores if s >= 4)
    return {"csat": _percent(satisfied, len(scores)), "responses": len(scores), "satisfied": satisfied}


def ces(rows: Iterable[float | int | InteractionFact]) -> dict:
    """Customer Effort Score: the mean response (1-7, lower is less effort)."""
    scores = survey_scores(rows, "ces")
    return {"ces": fmean(scores) if scores else None, "responses": len(scores), "total": sum(scores)}


def churn_rate(
    activity: Iterable[tuple[Hashable, datetime]],
    base_start: datetime,
    base_end: datetime,
    window_days: int = 90,
) -> dict:
    """Share (%) of customers active in [base_start, base_end) with no interaction in the next window_days.

    activity: (customer id, when) for each interaction. The window is [base_end, base_end + window_days);
    it is the caller's to make sure the window has passed, or the rate counts the future as silence.
    """
    window_end = base_end + timedelta(days=window_days)
    active: set[Hashable] = set()
    returned: set[Hashable] = set()
    for customer, at in activity:
        if base_start <= at < base_end:
            active.add(customer)
        elif base_end <= at < window_end:
            returned.add(customer)
    churned = len(active - returned)
    return {
        "churn_rate": _percent(churned, len(active)),
        "active": len(active),
        "churned": churned,
        "retained": len(active) - churned,
        "window_end": window_end,
    }


def average_cltv(rows: Iterable[Decimal | float | int | CustomerFacts]) -> dict:
    """Mean lifetime value (base currency, to the cent) over customers: amounts or CustomerFacts.ltv_amount."""
    values = [Decimal(row.ltv_amount if isinstance(row, CustomerFacts) else str(row)) for row in rows]
    total = sum(values, Decimal(0))
    average = money(total / len(values)) if values else None
    return {"average_cltv": average, "customers": len(values), "total": total}


def _durations(seconds: list[float], counted: str, missing: str, missing_count: int) -> dict:
    return {
        "median_s": median(seconds) if seconds else None,
        "mean_s": fmean(seconds) if seconds else None,
        counted: len(seconds),
        missing: missing_count,
    }


def first_response_time(cases: Iterable[CaseFact]) -> dict:
    """Seconds from a case opening to our first reply: median and mean over the cases answered."""
    seconds, unanswered = [], 0
    for case in cases:
        if case.first_response_at is None:
            unanswered += 1
        else:
            seconds.append((case.first_response_at - case.opened_at).total_seconds())
    return _durations(seconds, "responded", "unanswered", unanswered)


def time_to_resolution(cases: Iterable[CaseFact]) -> dict:
    """Seconds a case was open until resolved: median and mean over resolved cases.

    Uses the case's tracked open time (reopened cases count only their open spells) when profiles
    recorded it, else resolved_at - opened_at.
    """
    seconds, still_open = [], 0
    for case in cases:
        if case.status != "resolved" or case.resolved_at is None:
            still_open += 1
        elif case.resolution_seconds is not None:
            seconds.append(float(case.resolution_seconds))
        else:
            seconds.append((case.resolved_at - case.opened_at).total_seconds())
    return _durations(seconds, "resolved", "open", still_open)


def reopen_rate(cases: Iterable[CaseFact]) -> dict:
    """Share (%) of cases ever resolved that were reopened at least once.

    A reopened case was resolved before, so it is in the base even if it is open again now.
    """
    ever_resolved = reopened = 0
    for case in cases:
        if case.status == "resolved" or case.reopen_count > 0:
            ever_resolved += 1
            reopened += case.reopen_count > 0
    return {"reopen_rate": _percent(reopened, ever_resolved), "resolved": ever_resolved, "reopened": reopened}


def grouped(metric: Callable[[list[T]], dict], rows: Iterable[T], key: Callable[[T], Hashable]) -> dict[Hashable, dict]:
    """One metric per group (channel, segment, period...): grouped(nps, surveys, lambda i: i.channel)."""
    groups: dict[Hashable, list[T]] = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    return {group: metric(members) for group, members in sorted(groups.items(), key=lambda item: str(item[0]))}
