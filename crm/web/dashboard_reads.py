"""The one dashboard figure the metrics API does not give: how long resolved cases took, as a histogram.

The API gives the median and mean time to resolution; the chart needs the spread. Same scope as the
API (cases opened in [since, until), on a channel, of a segment's members), counted into fixed buckets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import select

from crm.extensions import db
from crm.profiles.models import Case
from crm.segments.models import SegmentMember

# Upper bounds in hours, and how each bucket reads.
BUCKETS = ((1, "under 1 h"), (4, "1–4 h"), (24, "4–24 h"), (72, "1–3 days"), (168, "3–7 days"), (None, "over 7 days"))


@dataclass(frozen=True)
class CaseScope:
    since: date
    until: date
    channel: str | None = None
    segment_id: int | None = None


def bucket_of(seconds: float) -> int:
    hours = seconds / 3600
    return next(i for i, (bound, _) in enumerate(BUCKETS) if bound is None or hours < bound)


def histogram(seconds: list[float]) -> list[dict]:
    counts = [0] * len(BUCKETS)
    for value in seconds:
        counts[bucket_of(value)] += 1
    return [{"label": label, "count": count} for (_, label), count in zip(BUCKETS, counts, strict=True)]


def resolution_seconds(scope: CaseScope) -> list[float]:
    """Seconds open until resolved, for resolved cases opened in the scope."""
    start = datetime.combine(scope.since, time.min, tzinfo=UTC)
    end = datetime.combine(scope.until, time.min, tzinfo=UTC)
    stmt = select(Case.resolution_seconds, Case.opened_at, Case.resolved_at).where(
        Case.status == "resolved", Case.opened_at >= start, Case.opened_at < end
    )
    if scope.channel:
        stmt = stmt.where(Case.channel == scope.channel)
    if scope.segment_id:
        stmt = stmt.join(SegmentMember, SegmentMember.customer_id == Case.customer_id).where(
            SegmentMember.segment_id == scope.segment_id
        )
    out = []
    for tracked, opened, resolved in db.session.execute(stmt):
        # Cases resolved before open time was tracked count from opening to resolution.
        value = tracked if tracked is not None else (resolved - opened).total_seconds() if resolved else None
        if value is not None:
            out.append(max(float(value), 0.0))
    return out
