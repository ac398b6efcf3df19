"""CX metrics for the dashboard, computed in SQL over the raw rows, overall and per channel, segment and
period, each with the counts behind it.

Definitions (the same as the pure crm/personalization/metrics.py; the case metrics are in
case_metrics_db.py, the range, filters and buckets in metrics_scope.py):

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
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import case, exists, func, select
from sqlalchemy.orm import aliased

from crm.extensions import db
from crm.personalization.case_metrics_db import case_figures, case_metrics
from crm.personalization.metrics_scope import MAX_BUCKETS, PERIODS, Scope, buckets, day_start, norm_key, scoped
from crm.personalization.value import money
from crm.profiles.models import Customer, Interaction
from crm.segments.models import Segment

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
    stmt, key = scoped(
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
        entry = out[norm_key(by, row.key)]
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
    stmt, _ = scoped(
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
        out[norm_key(by, row.key)] = {
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
        norm_key(by, row.key): churn_figure(row.active, row.retained or 0, scope, now)
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


__all__ = [
    "GROUPINGS",
    "MAX_BUCKETS",
    "METRICS",
    "PERIODS",
    "Scope",
    "buckets",
    "case_metrics",
    "cx_metrics",
    "day_start",
    "segment_names",
]
