"""CX metrics for the dashboard, computed in SQL over the raw rows, overall and per channel, segment and
period, each with the counts behind it.

Definitions (the same as the pure crm/personalization/metrics.py, which the case metrics reuse):

    NPS, CSAT, CES       survey interactions that occurred in the range (their channel, their customer's
                         segments, the bucket they occurred in)
    churn rate           customers with an interaction in the range (on the channel, in the segment, in
                         the bucket) and none at all in the window_days after it; `complete` is false
                         while that window has not passed yet
    average CLTV         mean lifetime value (base currency, purchases minus refunds, to date) of the
                         customers with an interaction in the range
    first response time  cases opened in the range: median and mean seconds to our first reply
    time to resolution   cases opened in the range: median and mean seconds open until resolved
    reopen rate          cases opened in the range and ever resolved: the share reopened

Segments are current memberships. A range is [since, until) in UTC; periods are UTC days, weeks
(from Monday) or calendar months, clipped to the range.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import Integer, case, exists, func, literal, literal_column, select
from sqlalchemy.orm import aliased

from crm.extensions import db
from crm.personalization import metrics
from crm.personalization.facts import CaseFact
from crm.personalization.value import money
from crm.profiles.models import Case, Customer, Interaction
from crm.segments.models import Segment, SegmentMember

METRICS = (
    "nps",
    "csat",
    "ces",
    "churn_rate",
    "average_cltv",
    "first_response_time",
    "time_to_resolution",
    "reopen_rate",
)
GROUPINGS = ("channel", "segment", "period")
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


def _scoped(stmt, scope: Scope, *, customer_col, channel_col, time_col, by: str | None):
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


def _norm_key(by: str | None, key):
    return _as_date(key) if by == "period" and key is not None else key


def survey_metrics(scope: Scope, by: str | None = None) -> dict[object, dict]:
    """key -> {nps, csat, ces} from survey counts."""
    kind = Interaction.data["kind"].as_string()
    score = Interaction.data["score"].as_float()

    def count_if(condition):
        return func.sum(case((condition, 1), else_=0))

    stmt = select(
        kind.label("kind"),
        func.count(score).label("responses"),
        count_if(score >= 9).label("high9"),
        count_if(score <= 6).label("low6"),
        count_if(score >= 4).label("high4"),
        func.sum(score).label("total"),
    ).where(Interaction.type == "survey", score.is_not(None))
    stmt, key = _scoped(
        stmt,
        scope,
        customer_col=Interaction.customer_id,
        channel_col=Interaction.channel,
        time_col=Interaction.occurred_at,
        by=by,
    )
    stmt = stmt.group_by(kind, key)
    out: dict[object, dict] = defaultdict(
        lambda: {"nps": nps_figure(0, 0, 0), "csat": csat_figure(0, 0), "ces": ces_figure(0, 0.0)}
    )
    for row in db.session.execute(stmt):
        entry = out[_norm_key(by, row.key)]
        if row.kind == "nps":
            entry["nps"] = nps_figure(row.responses, row.high9 or 0, row.low6 or 0)
        elif row.kind == "csat":
            entry["csat"] = csat_figure(row.responses, row.high4 or 0)
        elif row.kind == "ces":
            entry["ces"] = ces_figure(row.responses, float(row.total or 0))
    return dict(out)


def nps_figure(responses: int, promoters: int, detractors: int) -> dict:
    value = 100 * (promoters - detractors) / responses if responses else None
    passives = responses - promoters - detractors
    return {
        "value": value,
        "responses": responses,
        "promoters": promoters,
        "passives": passives,
        "detractors": detractors,
    }


def csat_figure(responses: int, satisfied: int) -> dict:
    return {"value": 100 * satisfied / responses if responses else None, "responses": responses, "satisfied": satisfied}


def ces_figure(responses: int, total: float) -> dict:
    return {"value": total / responses if responses else None, "responses": responses, "total": total}


def _active(scope: Scope, by: str | None):
    """SELECT DISTINCT customer_id, key of customers with an interaction in the scope."""
    stmt = select(Interaction.customer_id.label("customer_id"))
    stmt, _ = _scoped(
        stmt,
        scope,
        customer_col=Interaction.customer_id,
        channel_col=Interaction.channel,
        time_col=Interaction.occurred_at,
        by=by,
    )
    return stmt.distinct().subquery()


def average_cltv(scope: Scope, by: str | None, currency: str) -> dict[object, dict]:
    active = _active(scope, by)
    stmt = (
        select(active.c.key, func.count().label("customers"), func.sum(Customer.ltv_amount).label("total"))
        .join(Customer, Customer.id == active.c.customer_id)
        .group_by(active.c.key)
    )
    out = {}
    for row in db.session.execute(stmt):
        total = Decimal(str(row.total or 0))
        out[_norm_key(by, row.key)] = {
            "average_cltv": cltv_figure(row.customers, total, currency),
        }
    return out


def cltv_figure(customers: int, total: Decimal, currency: str) -> dict:
    value = money(total / customers) if customers else None
    return {"value": value, "customers": customers, "total": money(total), "currency": currency}


def churn(scope: Scope, by: str | None, now: datetime) -> dict[object, dict]:
    """key -> {churn_rate}: for periods one query per bucket, since each bucket has its own window."""
    if by == "period":
        out = {}
        for key, start, end in buckets(scope):
            bucket_scope = Scope(start, end, scope.channel, scope.segment_id, scope.period, scope.churn_window_days)
            figure = _churn_query(bucket_scope, None, now).get(None)
            out[key] = {"churn_rate": figure or churn_figure(0, 0, bucket_scope, now)}
        return out
    return {key: {"churn_rate": figure} for key, figure in _churn_query(scope, by, now).items()}


def _churn_query(scope: Scope, by: str | None, now: datetime) -> dict[object, dict]:
    active = _active(scope, by)
    window_end = scope.until + timedelta(days=scope.churn_window_days)
    later = aliased(Interaction)
    came_back = exists().where(
        later.customer_id == active.c.customer_id, later.occurred_at >= scope.until, later.occurred_at < window_end
    )
    stmt = select(
        active.c.key, func.count().label("active"), func.sum(case((came_back, 1), else_=0)).label("retained")
    ).group_by(active.c.key)
    return {
        _norm_key(by, row.key): churn_figure(row.active, row.retained or 0, scope, now)
        for row in db.session.execute(stmt)
    }


def churn_figure(active: int, retained: int, scope: Scope, now: datetime) -> dict:
    window_end = scope.until + timedelta(days=scope.churn_window_days)
    churned = active - retained
    return {
        "value": 100 * churned / active if active else None,
        "active": active,
        "churned": churned,
        "retained": retained,
        "window_days": scope.churn_window_days,
        "window_end": window_end,
        "complete": window_end <= now,
    }


def case_metrics(scope: Scope, by: str | None) -> dict[object, dict]:
    """key -> {first_response_time, time_to_resolution, reopen_rate}: the rows in SQL, the figures pure."""
    stmt = select(
        Case.id,
        Case.status,
        Case.channel,
        Case.opened_at,
        Case.first_response_at,
        Case.resolved_at,
        Case.reopen_count,
        Case.resolution_seconds,
    )
    stmt, _ = _scoped(
        stmt, scope, customer_col=Case.customer_id, channel_col=Case.channel, time_col=Case.opened_at, by=by
    )
    groups: dict[object, list[CaseFact]] = defaultdict(list)
    for row in db.session.execute(stmt):
        groups[_norm_key(by, row.key)].append(
            CaseFact(
                id=row.id,
                status=row.status,
                channel=row.channel,
                subject=None,
                opened_at=row.opened_at,
                first_response_at=row.first_response_at,
                resolved_at=row.resolved_at,
                reopen_count=row.reopen_count or 0,
                resolution_seconds=row.resolution_seconds,
            )
        )
    return {key: case_figures(cases) for key, cases in groups.items()}


def case_figures(cases: list[CaseFact]) -> dict:
    reopen = metrics.reopen_rate(cases)
    return {
        "first_response_time": metrics.first_response_time(cases),
        "time_to_resolution": metrics.time_to_resolution(cases),
        "reopen_rate": {"value": reopen["reopen_rate"], "resolved": reopen["resolved"], "reopened": reopen["reopened"]},
    }


def empty_figures(scope: Scope, now: datetime, currency: str) -> dict:
    """Every metric with nothing behind it: None figures and zero counts."""
    return {
        "nps": nps_figure(0, 0, 0),
        "csat": csat_figure(0, 0),
        "ces": ces_figure(0, 0.0),
        "churn_rate": churn_figure(0, 0, scope, now),
        "average_cltv": cltv_figure(0, Decimal(0), currency),
        **case_figures([]),
    }


def cx_metrics(
    scope: Scope, wanted: tuple[str, ...], by: tuple[str, ...], now: datetime, currency: str
) -> dict[str | None, dict[object, dict]]:
    """grouping (None for overall) -> group key -> metric -> figure."""
    out: dict[str | None, dict[object, dict]] = {}
    for grouping in (None, *by):
        groups: dict[object, dict] = defaultdict(dict)
        if {"nps", "csat", "ces"} & set(wanted):
            _merge(groups, survey_metrics(scope, grouping))
        if "churn_rate" in wanted:
            _merge(groups, churn(scope, grouping, now))
        if "average_cltv" in wanted:
            _merge(groups, average_cltv(scope, grouping, currency))
        if {"first_response_time", "time_to_resolution", "reopen_rate"} & set(wanted):
            _merge(groups, case_metrics(scope, grouping))
        if grouping is None:
            groups.setdefault(None, {})
        if grouping == "period":
            for key, _, _ in buckets(scope):
                groups.setdefault(key, {})
        empty = empty_figures(scope, now, currency)
        out[grouping] = {
            key: {name: figures.get(name, empty[name]) for name in wanted} for key, figures in groups.items()
        }
    return out


def _merge(into: dict[object, dict], found: dict[object, dict]) -> None:
    for key, figures in found.items():
        into[key].update(figures)


def segment_names(ids) -> dict[int, str]:
    ids = [i for i in ids if i is not None]
    if not ids:
        return {}
    return dict(db.session.execute(select(Segment.id, Segment.name).where(Segment.id.in_(ids))).all())


__all__ = ["METRICS", "GROUPINGS", "PERIODS", "MAX_BUCKETS", "Scope", "buckets", "cx_metrics", "segment_names"]
