"""CX metrics for the dashboard: NPS, CSAT, CES, churn rate, average CLTV, first response time, time to
resolution and reopen rate, overall and per channel, segment and period, with the counts behind each."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from crm.api import bp
from crm.api.schemas import CHANNEL_NAMES, CsvList
from crm.api.spec import operation
from crm.columns import utcnow
from crm.errors import NotFound
from crm.extensions import db
from crm.personalization import metrics_db
from crm.segments.models import Segment

DEFAULT_DAYS = 90


class MetricsQuery(Schema):
    since = fields.Date(load_default=None, metadata={"description": "first day (UTC); default: 90 days before until"})
    until = fields.Date(load_default=None, metadata={"description": "first day not included; default: tomorrow"})
    metric = CsvList(
        choices=metrics_db.METRICS, load_default=None, metadata={"description": "comma-separated; default all"}
    )
    by = CsvList(
        choices=metrics_db.GROUPINGS,
        load_default=None,
        metadata={"description": "comma-separated breakdowns: channel, segment, period"},
    )
    period = fields.String(load_default="week", validate=validate.OneOf(metrics_db.PERIODS))
    channel = fields.String(load_default=None, validate=validate.OneOf(CHANNEL_NAMES))
    segment = fields.Integer(
        load_default=None, validate=validate.Range(min=1, max=2**31 - 1), metadata={"description": "a segment id"}
    )
    churn_window_days = fields.Integer(load_default=90, validate=validate.Range(min=1, max=730))

    @validates_schema
    def _range(self, data, **_):
        if data.get("since") and data.get("until") and data["since"] >= data["until"]:
            raise ValidationError("since must be before until", "since")


class NpsOut(Schema):
    value = fields.Float(allow_none=True, metadata={"description": "% promoters (9-10) - % detractors (0-6)"})
    responses = fields.Integer()
    promoters = fields.Integer()
    passives = fields.Integer()
    detractors = fields.Integer()


class CsatOut(Schema):
    value = fields.Float(allow_none=True, metadata={"description": "% of responses that are 4 or 5 (of 5)"})
    responses = fields.Integer()
    satisfied = fields.Integer()


class CesOut(Schema):
    value = fields.Float(allow_none=True, metadata={"description": "mean response, 1-7, lower is less effort"})
    responses = fields.Integer()
    total = fields.Float()


class ChurnRateOut(Schema):
    value = fields.Float(allow_none=True, metadata={"description": "% of active customers not seen in the window"})
    active = fields.Integer()
    churned = fields.Integer()
    retained = fields.Integer()
    window_days = fields.Integer()
    window_end = fields.DateTime()
    complete = fields.Boolean(metadata={"description": "false while the window after the range has not passed"})


class CltvOut(Schema):
    value = fields.Decimal(as_string=True, allow_none=True, metadata={"description": "mean lifetime value"})
    customers = fields.Integer()
    total = fields.Decimal(as_string=True)
    currency = fields.String()


class DurationOut(Schema):
    median_s = fields.Float(allow_none=True)
    mean_s = fields.Float(allow_none=True)
    responded = fields.Integer()
    unanswered = fields.Integer()
    resolved = fields.Integer()
    open = fields.Integer()


class ReopenOut(Schema):
    value = fields.Float(allow_none=True, metadata={"description": "% of cases ever resolved that were reopened"})
    resolved = fields.Integer()
    reopened = fields.Integer()


class FiguresOut(Schema):
    nps = fields.Nested(NpsOut)
    csat = fields.Nested(CsatOut)
    ces = fields.Nested(CesOut)
    churn_rate = fields.Nested(ChurnRateOut)
    average_cltv = fields.Nested(CltvOut)
    first_response_time = fields.Nested(DurationOut)
    time_to_resolution = fields.Nested(DurationOut)
    reopen_rate = fields.Nested(ReopenOut)


class GroupOut(Schema):
    key = fields.Raw(metadata={"description": "the channel, segment id or the bucket's first day"})
    name = fields.String(metadata={"description": "segments: the segment's name"})
    start = fields.DateTime(metadata={"description": "periods: the bucket, clipped to the range"})
    end = fields.DateTime()
    metrics = fields.Nested(FiguresOut)


class MetricsOut(Schema):
    since = fields.Date()
    until = fields.Date()
    period = fields.String()
    channel = fields.String(allow_none=True)
    segment = fields.Integer(allow_none=True)
    base_currency = fields.String()
    overall = fields.Nested(FiguresOut)
    by_channel = fields.List(fields.Nested(GroupOut))
    by_segment = fields.List(fields.Nested(GroupOut))
    by_period = fields.List(fields.Nested(GroupOut))


def _scope(args) -> metrics_db.Scope:
    until = args["until"] or (utcnow().date() + timedelta(days=1))
    since = args["since"] or (until - timedelta(days=DEFAULT_DAYS))
    if since >= until:
        raise ValidationError({"since": ["since must be before until"]})
    scope = metrics_db.Scope(
        since=metrics_db.day_start(since),
        until=metrics_db.day_start(until),
        channel=args["channel"],
        segment_id=args["segment"],
        period=args["period"],
        churn_window_days=args["churn_window_days"],
    )
    if "period" in (args["by"] or ()) and len(metrics_db.buckets(scope)) > metrics_db.MAX_BUCKETS:
        raise ValidationError(
            {"period": [f"more than {metrics_db.MAX_BUCKETS} {scope.period} buckets; pick a longer period"]}
        )
    if scope.segment_id is not None and db.session.get(Segment, scope.segment_id) is None:
        raise NotFound(f"no segment {scope.segment_id}")
    return scope


def _groups(grouping: str, found: dict, scope: metrics_db.Scope) -> list[dict]:
    if grouping == "period":
        return [
            {"key": key.isoformat(), "start": start, "end": end, "metrics": found.get(key, {})}
            for key, start, end in metrics_db.buckets(scope)
        ]
    if grouping == "segment":
        names = metrics_db.segment_names(found)
        return [
            {"key": key, "name": names.get(key, str(key)), "metrics": figures}
            for key, figures in sorted(found.items(), key=lambda item: names.get(item[0], ""))
        ]
    return [{"key": key, "metrics": figures} for key, figures in sorted(found.items(), key=lambda item: str(item[0]))]


@operation(
    bp,
    "/metrics",
    summary="CX metrics, overall and per channel, segment and period",
    tag="metrics",
    permission="metrics:read",
    query=MetricsQuery,
    response=MetricsOut,
    errors=(404,),
)
def cx_metrics(args):
    """Every figure comes with the counts behind it ("NPS 23 from 120 responses"); a figure with nothing behind
    it is null, never 0. The range is [since, until) in UTC; periods are UTC days, weeks from Monday or calendar
    months, clipped to the range. Churn counts customers active in the range (or bucket) with no interaction in
    the churn_window_days after it, and says whether that window has passed (`complete`)."""
    scope = _scope(args)
    wanted = tuple(args["metric"] or metrics_db.METRICS)
    by = tuple(dict.fromkeys(args["by"] or ()))
    currency = current_app.config["BASE_CURRENCY"]
    found = metrics_db.cx_metrics(scope, wanted, by, utcnow(), currency)
    body = {
        "since": scope.since.date(),
        "until": scope.until.date(),
        "period": scope.period,
        "channel": scope.channel,
        "segment": scope.segment_id,
        "base_currency": currency,
        "overall": found[None].get(None, {}),
    }
    for grouping in by:
        body[f"by_{grouping}"] = _groups(grouping, found[grouping], scope)
    return MetricsOut().dump(body)
