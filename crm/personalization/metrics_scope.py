"""The scope of a CX metrics query: a date range, filters, period buckets, and the SQL that applies them.

Shared by metrics_db (surveys, churn, CLTV) and case_metrics_db (cases). A range is [since, until) in
UTC; periods are UTC days, weeks (from Monday) or calendar months, clipped to the range.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Integer, func, literal, literal_column, select
from sqlalchemy.orm import aliased

from crm.extensions import db
from crm.segments.models import SegmentMember

PERIODS = ("day", "week", "month")
MAX_BUCKETS = 400


@dataclass(frozen=True)
class Scope:
    since: datetime
    until: datetime
    channel: str | None = None
    segment_id: int | None = None
    period: str = "week"
    churn_window_days: int = 90


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def bucket_floor(day: date, period: str) -> date:
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def next_bucket(start: date, period: str) -> date:
    if period == "week":
        return start + timedelta(days=7)
    if period == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start + timedelta(days=1)


def buckets(scope: Scope) -> list[tuple[date, datetime, datetime]]:
    """(bucket key, start, end) for every bucket the range touches, clipped to the range."""
    out = []
    start = bucket_floor(scope.since.date(), scope.period)
    while day_start(start) < scope.until:
        end = next_bucket(start, scope.period)
        out.append((start, max(day_start(start), scope.since), min(day_start(end), scope.until)))
        start = end
    return out


def _bucket_expr(column, period: str):
    """The bucket's first day, as a date-like value, in SQL."""
    if db.engine.dialect.name == "postgresql":
        return func.date_trunc(literal_column(f"'{period}'"), func.timezone(literal_column("'UTC'"), column))
    if period == "month":
        return func.strftime(literal_column("'%Y-%m-01'"), column)
    if period == "week":
        back = (func.cast(func.strftime(literal_column("'%w'"), column), Integer) + 6) % 7
        return func.date(column, func.printf(literal_column("'-%d days'"), back))
    return func.date(column)


def _as_date(value) -> date:
    return value.date() if isinstance(value, datetime) else date.fromisoformat(str(value)[:10])


def scoped(stmt, scope: Scope, *, customer_col, channel_col, time_col, by: str | None):
    """Add the range and filters to a statement, and the group key column (labelled "key")."""
    stmt = stmt.where(time_col >= scope.since, time_col < scope.until, customer_col.is_not(None))
    if scope.channel:
        stmt = stmt.where(channel_col == scope.channel)
    if scope.segment_id is not None:
        members = select(SegmentMember.customer_id).where(SegmentMember.segment_id == scope.segment_id)
        stmt = stmt.where(customer_col.in_(members))
    if by == "channel":
        key = channel_col
    elif by == "segment":
        member = aliased(SegmentMember)
        stmt = stmt.join(member, member.customer_id == customer_col)
        key = member.segment_id
    elif by == "period":
        key = _bucket_expr(time_col, scope.period)
    else:
        key = literal(None)
    return stmt.add_columns(key.label("key")), key


def norm_key(by: str | None, key):
    return _as_date(key) if by == "period" and key is not None else key
