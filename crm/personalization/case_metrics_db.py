"""Case metrics for the dashboard: first response time, time to resolution, reopen rate, over the cases
opened in a scope (metrics_scope), overall or per channel, segment or period.

On PostgreSQL the figures are aggregated in SQL (percentile_cont for the medians), so a year of cases
costs one indexed scan and no rows in Python. SQLite has no percentile aggregate: there the rows are
read and the pure functions of metrics.py make the figures. The definitions are those functions':

    first response time  median and mean seconds from opening to our first reply (answered cases)
    time to resolution   median and mean seconds open until resolved: the tracked open spells
                         (resolution_seconds) when profiles recorded them, else resolved - opened
    reopen rate          of the cases ever resolved (resolved now, or reopened once), the share reopened
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import and_, case, func, or_, select

from crm.extensions import db
from crm.personalization import metrics
from crm.personalization.facts import CaseFact
from crm.personalization.metrics_scope import Scope, norm_key, scoped
from crm.profiles.models import Case


def case_metrics(scope: Scope, by: str | None) -> dict[object, dict]:
    """key -> {first_response_time, time_to_resolution, reopen_rate}."""
    if db.engine.dialect.name == "postgresql":
        return _aggregated(scope, by)
    return _from_rows(scope, by)


def _seconds(interval):
    return func.extract("epoch", interval)


def _aggregated(scope: Scope, by: str | None) -> dict[object, dict]:
    response = _seconds(Case.first_response_at - Case.opened_at)
    resolved = and_(Case.status == "resolved", Case.resolved_at.is_not(None))
    open_for = case((resolved, func.coalesce(Case.resolution_seconds, _seconds(Case.resolved_at - Case.opened_at))))
    ever_resolved = or_(Case.status == "resolved", Case.reopen_count > 0)
    stmt = select(
        func.count().label("cases"),
        func.count(Case.first_response_at).label("responded"),
        func.percentile_cont(0.5).within_group(response).label("response_median"),
        func.avg(response).label("response_mean"),
        func.count(open_for).label("resolved"),
        func.percentile_cont(0.5).within_group(open_for).label("open_median"),
        func.avg(open_for).label("open_mean"),
        func.count(case((ever_resolved, 1))).label("ever_resolved"),
        func.count(case((and_(ever_resolved, Case.reopen_count > 0), 1))).label("reopened"),
    )
    stmt, key = scoped(
        stmt, scope, customer_col=Case.customer_id, channel_col=Case.channel, time_col=Case.opened_at, by=by
    )
    out = {}
    for row in db.session.execute(stmt.group_by(key)):
        out[norm_key(by, row.key)] = {
            "first_response_time": _durations(row.response_median, row.response_mean, "responded", row.responded,
                                              "unanswered", row.cases - row.responded),
            "time_to_resolution": _durations(row.open_median, row.open_mean, "resolved", row.resolved,
                                             "open", row.cases - row.resolved),
            "reopen_rate": _reopen(row.ever_resolved, row.reopened),
        }  # fmt: skip
    return out


def _durations(median, mean, counted: str, count: int, missing: str, missing_count: int) -> dict:
    return {
        "median_s": float(median) if median is not None else None,
        "mean_s": float(mean) if mean is not None else None,
        counted: count,
        missing: missing_count,
    }


def _reopen(ever_resolved: int, reopened: int) -> dict:
    value = 100 * reopened / ever_resolved if ever_resolved else None
    return {"value": value, "resolved": ever_resolved, "reopened": reopened}


CASE_FACT_COLUMNS = (
    Case.id,
    Case.status,
    Case.channel,
    Case.opened_at,
    Case.first_response_at,
    Case.resolved_at,
    Case.reopen_count,
    Case.resolution_seconds,
)


def case_fact(row) -> CaseFact:
    """A case as the pure metrics read it, from a row holding CASE_FACT_COLUMNS (the subject left out)."""
    return CaseFact(
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


def _from_rows(scope: Scope, by: str | None) -> dict[object, dict]:
    stmt, _ = scoped(
        select(*CASE_FACT_COLUMNS),
        scope,
        customer_col=Case.customer_id,
        channel_col=Case.channel,
        time_col=Case.opened_at,
        by=by,
    )
    groups: dict[object, list[CaseFact]] = defaultdict(list)
    for row in db.session.execute(stmt):
        groups[norm_key(by, row.key)].append(case_fact(row))
    return {key: case_figures(cases) for key, cases in groups.items()}


def case_figures(cases: list[CaseFact]) -> dict:
    """The three figures of a list of cases, by the pure functions (also what an empty scope shows)."""
    reopen = metrics.reopen_rate(cases)
    return {
        "first_response_time": metrics.first_response_time(cases),
        "time_to_resolution": metrics.time_to_resolution(cases),
        "reopen_rate": _reopen(reopen["resolved"], reopen["reopened"]),
    }
