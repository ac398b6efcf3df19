"""The marshmallow schemas of the experiments API (crm/api/experiments.py): what comes in, what goes out.

Input is strict (an unknown field is an error, so a typo never silently drops a setting) and every
rule of a sound experiment is checked here with the field it concerns: shares summing to 100 %, one
control without a treatment, a treatment for every other variant, an end in the future.
"""

from __future__ import annotations

from decimal import Decimal

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates_schema

from crm.columns import utcnow
from crm.experiments.metrics import METRICS
from crm.experiments.models import STATUSES

VARIANT_NAME = r"^[a-z0-9][a-z0-9_-]{0,63}$"
AWARE = {"invalid_awareness": "give the time zone too, e.g. 2027-01-31T00:00:00+00:00"}
METRIC_HELP = "one of " + ", ".join(f"{m.name} ({m.definition})" for m in METRICS.values())


class Strict(Schema):
    class Meta:
        unknown = RAISE


class ExperimentVariantIn(Strict):
    name = fields.String(
        required=True,
        validate=validate.Regexp(VARIANT_NAME, error="lower-case letters, digits, _ and -, at most 64"),
    )
    share = fields.Float(
        required=True,
        validate=validate.Range(min=0, max=100, min_inclusive=False),
        metadata={"description": "percent of assigned customers; the shares sum to 100"},
    )
    control = fields.Boolean(load_default=None, metadata={"description": "the holdout; a variant named control is one"})
    action = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=300),
        metadata={"description": "the next best action agents see for this variant's customers"},
    )


class ExperimentWebhookIn(Strict):
    url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False)
    secret = fields.String(
        load_default=None,
        validate=validate.Length(min=16, max=512),
        metadata={"description": "HMAC secret; generated and returned once when absent"},
    )


class ExperimentIn(Strict):
    name = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=200), validate.Regexp(r"^[^:]*$", error="a name may not contain ':'")],
    )
    hypothesis = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    segment_id = fields.Integer(required=True)
    variants = fields.List(fields.Nested(ExperimentVariantIn), required=True, validate=validate.Length(min=2, max=10))
    starts_at = fields.AwareDateTime(
        load_default=None, error_messages=AWARE, metadata={"description": "default: when it is started"}
    )
    ends_at = fields.AwareDateTime(required=True, error_messages=AWARE)
    primary_metric = fields.String(
        required=True, validate=validate.OneOf(METRICS), metadata={"description": METRIC_HELP}
    )
    guardrail_metrics = fields.List(fields.String(validate=validate.OneOf(METRICS)), load_default=list)
    window_days = fields.Integer(
        load_default=30,
        validate=validate.Range(min=1, max=365),
        metadata={"description": "N: each customer is measured over the N days after their assignment"},
    )
    min_sample = fields.Integer(
        load_default=100,
        validate=validate.Range(min=10, max=10_000_000),
        metadata={"description": "customers measured per variant before a winner may be called"},
    )
    assign_existing = fields.Boolean(
        load_default=True, metadata={"description": "assign the segment's members at the start, not only new entrants"}
    )
    webhook = fields.Nested(ExperimentWebhookIn, load_default=None, allow_none=True)

    @validates_schema(skip_on_field_errors=False)
    def _sound(self, data, **_):
        errors: dict[str, list[str]] = {}
        variants = data.get("variants") or []
        if not all(isinstance(v, dict) and "name" in v and "share" in v for v in variants):
            variants = []  # a variant is malformed: its own errors say so, the sums would only confuse
        names = [v["name"] for v in variants]
        if len(set(names)) != len(names):
            errors.setdefault("variants", []).append("variant names must be unique")
        total = sum((Decimal(str(v["share"])) for v in variants), Decimal(0))
        if variants and total != 100:
            errors.setdefault("variants", []).append(f"shares must sum to 100 %, they sum to {total} %")
        errors.update(_control_errors(variants, has_webhook=bool(data.get("webhook"))))
        primary, guards = data.get("primary_metric"), data.get("guardrail_metrics") or []
        if primary in guards:
            errors.setdefault("guardrail_metrics", []).append("the primary metric cannot also be a guard-rail")
        if len(set(guards)) != len(guards):
            errors.setdefault("guardrail_metrics", []).append("each guard-rail once")
        ends, starts = data.get("ends_at"), data.get("starts_at")
        if ends is not None and ends <= utcnow():
            errors.setdefault("ends_at", []).append("the end must be in the future")
        if ends is not None and starts is not None and ends <= starts:
            errors.setdefault("ends_at", []).append("the end must come after the start")
        if errors:
            raise ValidationError(errors)

    @post_load
    def _mark_control(self, data, **_):
        data["variants"] = [
            {"name": v["name"], "share": v["share"], "control": _is_control(v), "action": v.get("action")}
            for v in data["variants"]
        ]
        return data


def _is_control(variant: dict) -> bool:
    if variant.get("control") is not None:
        return bool(variant["control"])
    return variant["name"] == "control"


def _control_errors(variants: list[dict], has_webhook: bool) -> dict[str, list[str]]:
    controls = [v for v in variants if _is_control(v)]
    problems = []
    if len(controls) != 1:
        problems.append(
            f"exactly one variant must be the control (control: true, or named control); found {len(controls)}"
        )
    for v in controls:
        if v.get("action"):
            problems.append(f"the control {v['name']!r} gets no treatment: leave its action empty")
    if not has_webhook:
        bare = [v["name"] for v in variants if not _is_control(v) and not v.get("action")]
        if bare:
            problems.append(
                f"{', '.join(bare)} would get no treatment: give an action, or a webhook for the experiment"
            )
    return {"variants": problems} if problems else {}


class ExperimentsQuery(Schema):
    limit = fields.Integer(load_default=25, validate=validate.Range(min=1, max=200))
    cursor = fields.Integer(load_default=None, metadata={"description": "next_cursor of the previous page"})
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))


class ExperimentAssignmentsQuery(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.Integer(load_default=None, metadata={"description": "next_cursor of the previous page"})
    variant = fields.String(load_default=None)


class ExperimentVariantOut(Schema):
    name = fields.String()
    share = fields.Float()
    control = fields.Boolean()
    action = fields.String(allow_none=True)
    assigned = fields.Integer(metadata={"description": "customers assigned so far"})


class ExperimentWebhookOut(Schema):
    id = fields.Integer()
    url = fields.String()
    events = fields.List(fields.String())
    secret = fields.String(metadata={"description": "only in the answer to the create that generated it"})


class ExperimentSegmentRef(Schema):
    id = fields.Integer(allow_none=True)
    name = fields.String(allow_none=True)


class ExperimentOut(Schema):
    id = fields.Integer()
    name = fields.String()
    hypothesis = fields.String()
    segment = fields.Nested(ExperimentSegmentRef)
    variants = fields.List(fields.Nested(ExperimentVariantOut))
    status = fields.String(metadata={"description": " | ".join(STATUSES)})
    running = fields.Boolean(metadata={"description": "assigning customers right now"})
    starts_at = fields.DateTime(allow_none=True)
    ends_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    stopped_at = fields.DateTime(allow_none=True)
    primary_metric = fields.String()
    guardrail_metrics = fields.List(fields.String())
    window_days = fields.Integer()
    min_sample = fields.Integer()
    assign_existing = fields.Boolean()
    webhook = fields.Nested(ExperimentWebhookOut, allow_none=True)
    created_by = fields.String(allow_none=True)
    created_at = fields.DateTime()


class ExperimentList(Schema):
    items = fields.List(fields.Nested(ExperimentOut))
    next_cursor = fields.Integer(allow_none=True)


class ExperimentAssignmentOut(Schema):
    customer_id = fields.Integer()
    variant = fields.String()
    bucket = fields.Float(metadata={"description": "sha256(key:customer id) as a number in [0, 1)"})
    assigned_at = fields.DateTime()
    cause = fields.String(metadata={"description": "realtime | sweep"})
    interaction_id = fields.Integer(allow_none=True)


class ExperimentAssignmentList(Schema):
    items = fields.List(fields.Nested(ExperimentAssignmentOut))
    next_cursor = fields.Integer(allow_none=True)


class ExperimentResultVariantOut(Schema):
    name = fields.String()
    share = fields.Float()
    control = fields.Boolean()
    action = fields.String(allow_none=True)
    assigned = fields.Integer()
    measured = fields.Integer(metadata={"description": "assigned at least window_days ago"})


class ExperimentMetricFigureOut(Schema):
    variant = fields.String()
    n = fields.Integer(metadata={"description": "customers the metric applies to"})
    value = fields.Float(allow_none=True, metadata={"description": "a rate is a fraction 0..1"})
    successes = fields.Integer(allow_none=True)
    display = fields.String()


class ExperimentComparisonOut(Schema):
    variant = fields.String()
    method = fields.String(metadata={"description": "two_proportion_z | welch_t"})
    difference = fields.Float(allow_none=True, metadata={"description": "treatment minus control"})
    relative = fields.Float(allow_none=True)
    ci_low = fields.Float(allow_none=True, metadata={"description": "95 % confidence interval"})
    ci_high = fields.Float(allow_none=True)
    p_value = fields.Float(allow_none=True)
    significant = fields.Boolean()
    direction = fields.String(metadata={"description": "better | worse | same"})
    display = fields.String()


class ExperimentMetricResultOut(Schema):
    metric = fields.String()
    label = fields.String()
    role = fields.String(metadata={"description": "primary | guardrail"})
    kind = fields.String(metadata={"description": "rate | mean"})
    unit = fields.String()
    higher_is_better = fields.Boolean()
    definition = fields.String()
    variants = fields.List(fields.Nested(ExperimentMetricFigureOut))
    comparisons = fields.List(fields.Nested(ExperimentComparisonOut))


class ExperimentVerdictOut(Schema):
    status = fields.String(
        metadata={"description": "winner | worse | guardrail_breach | no_difference | insufficient_data"}
    )
    winner = fields.String(allow_none=True)
    text = fields.String()


class ExperimentSeriesOut(Schema):
    metric = fields.String()
    label = fields.String()
    kind = fields.String()
    dates = fields.List(fields.String())
    variants = fields.Dict(keys=fields.String(), values=fields.List(fields.Float(allow_none=True)))


class ExperimentResultsOut(Schema):
    experiment = fields.Nested(ExperimentOut)
    as_of = fields.DateTime()
    window_days = fields.Integer()
    min_sample = fields.Integer()
    control = fields.String()
    variants = fields.List(fields.Nested(ExperimentResultVariantOut))
    metrics = fields.List(fields.Nested(ExperimentMetricResultOut))
    verdict = fields.Nested(ExperimentVerdictOut)
    series = fields.Nested(
        ExperimentSeriesOut,
        metadata={"description": "the primary metric, cumulative, by the day customers were measured"},
    )


def experiment_body(
    experiment,
    assigned: dict[str, int],
    *,
    segment_name: str | None = None,
    now=None,
    webhook=None,
    secret: str | None = None,
) -> dict:
    """The API's view of one experiment (ExperimentOut), with its assigned counts per variant."""
    body = {
        "id": experiment.id,
        "name": experiment.name,
        "hypothesis": experiment.hypothesis,
        "segment": {"id": experiment.segment_id, "name": segment_name},
        "variants": [{**v, "assigned": assigned.get(v["name"], 0)} for v in experiment.variants],
        "status": experiment.status,
        "running": experiment.is_running(now or utcnow()),
        "webhook": None,
    }
    for name in ("starts_at", "ends_at", "started_at", "stopped_at", "created_at"):
        body[name] = getattr(experiment, name)
    for name in ("primary_metric", "guardrail_metrics", "window_days", "min_sample", "assign_existing", "created_by"):
        body[name] = getattr(experiment, name)
    if webhook is not None:
        body["webhook"] = {"id": webhook.id, "url": webhook.url, "events": list(webhook.events or [])}
        if secret:
            body["webhook"]["secret"] = secret
    return ExperimentOut().dump(body)
