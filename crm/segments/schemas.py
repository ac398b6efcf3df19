"""The marshmallow schemas of the segments API (crm/api/segments.py): what comes in, what goes out."""

from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from crm.segments.definitions import KINDS, segment_exists
from crm.segments.rules import validate_rule

RULE_HELP = (
    'A rule tree: {"all": [...]}, {"any": [...]}, {"not": {...}} or a condition {"condition": "<type>", ...}; '
    "see docs/segments.md. Errors name the path of each bad node, e.g. $.all[1].value."
)


class RuleField(fields.Field):
    """A rule tree, validated node by node (the errors keyed by each bad node's path)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {"description": RULE_HELP, "type": "object"})
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return validate_rule(value, segment_exists=segment_exists)

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class Strict(Schema):
    class Meta:
        unknown = RAISE


class SegmentPreviewIn(Strict):
    rule = RuleField(required=True)


class SegmentMemberOut(Schema):
    id = fields.Integer()
    display_name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    last_seen_at = fields.DateTime(allow_none=True)
    journey_stage = fields.String(allow_none=True)
    ltv_amount = fields.Float()
    orders_count = fields.Integer()


class SegmentBreakdownOut(Schema):
    channel = fields.Dict(
        keys=fields.String(), values=fields.Integer(), metadata={"description": "members per channel used"}
    )
    journey_stage = fields.Dict(
        keys=fields.String(), values=fields.Integer(), metadata={"description": "'unset' when none"}
    )


class SegmentPreviewOut(Schema):
    count = fields.Integer()
    members = fields.List(
        fields.Nested(SegmentMemberOut), metadata={"description": "the first 20, most recently seen first"}
    )
    breakdown = fields.Nested(SegmentBreakdownOut)
    backend = fields.String(metadata={"description": "elasticsearch (full mode) or sql (embedded)"})
    now = fields.DateTime(metadata={"description": "the instant 'within the last N days' was measured from"})
    took_ms = fields.Float()


class SegmentIn(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(load_default=None, validate=validate.Length(max=5000))
    kind = fields.String(
        load_default="dynamic",
        validate=validate.OneOf(KINDS),
        metadata={"description": "dynamic: kept current; static: a snapshot taken when saved"},
    )
    rule = RuleField(required=True)


class SegmentPatch(Strict):
    name = fields.String(validate=validate.Length(min=1, max=200))
    description = fields.String(allow_none=True, validate=validate.Length(max=5000))
    kind = fields.String(validate=validate.OneOf(KINDS))
    rule = RuleField()

    @validates_schema
    def _something(self, data, **_):
        if not data:
            raise ValidationError("give at least one of name, description, kind, rule")


class SegmentOut(Schema):
    id = fields.Integer()
    name = fields.String()
    description = fields.String(allow_none=True)
    kind = fields.String()
    rule = RuleField()
    created_by = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    refreshed_at = fields.DateTime(allow_none=True, metadata={"description": "when members were last worked out"})
    status = fields.Function(
        lambda s: "ready" if s.refreshed_at else "pending", metadata={"description": "pending until first worked out"}
    )
    member_count = fields.Integer()


class SegmentPageQuery(Strict):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.String(load_default=None)


class SegmentEventsQuery(SegmentPageQuery):
    customer_id = fields.Integer(load_default=None)


class OutboundDeliveriesQuery(SegmentPageQuery):
    status = fields.String(load_default=None, validate=validate.OneOf(("pending", "delivered", "failed")))


class SegmentListOut(Schema):
    items = fields.List(fields.Nested(SegmentOut))
    next_cursor = fields.String(allow_none=True)


class SegmentMemberEntryOut(SegmentMemberOut):
    entered_at = fields.DateTime()


class SegmentMembersOut(Schema):
    items = fields.List(fields.Nested(SegmentMemberEntryOut))
    next_cursor = fields.String(allow_none=True)


class SegmentEventOut(Schema):
    id = fields.Integer()
    customer_id = fields.Integer()
    event = fields.String(metadata={"description": "enter or leave"})
    at = fields.DateTime()
    interaction_id = fields.Integer(allow_none=True, metadata={"description": "the interaction that caused it"})


class SegmentEventsOut(Schema):
    items = fields.List(fields.Nested(SegmentEventOut))
    next_cursor = fields.String(allow_none=True)


class SegmentWebhookIn(Strict):
    url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False)
    secret = fields.String(load_default=None, validate=validate.Length(min=16, max=512))
    events = fields.List(
        fields.String(validate=validate.OneOf(("enter", "leave"))),
        load_default=lambda: ["enter", "leave"],
        validate=validate.Length(min=1),
    )


class SegmentWebhookOut(Schema):
    id = fields.Integer()
    segment_id = fields.Integer()
    url = fields.String()
    events = fields.List(fields.String())
    active = fields.Boolean()
    created_at = fields.DateTime()


class SegmentWebhookCreated(SegmentWebhookOut):
    secret = fields.String(metadata={"description": "shown once: verify X-CRM-Signature with it"})


class SegmentWebhookListOut(Schema):
    items = fields.List(fields.Nested(SegmentWebhookOut))


class OutboundAttemptOut(Schema):
    at = fields.DateTime()
    response_status = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)
    duration_ms = fields.Integer()


class OutboundDeliveryOut(Schema):
    id = fields.Integer()
    webhook_id = fields.Integer()
    event_id = fields.Integer(allow_none=True)
    kind = fields.String()
    status = fields.String(metadata={"description": "pending, delivered or failed (after the last retry)"})
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime()
    last_error = fields.String(allow_none=True)
    response_status = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    delivered_at = fields.DateTime(allow_none=True)
    payload = fields.Dict()
    log = fields.List(fields.Nested(OutboundAttemptOut))


class OutboundDeliveriesOut(Schema):
    items = fields.List(fields.Nested(OutboundDeliveryOut))
    next_cursor = fields.String(allow_none=True)


class SegmentExportOut(Schema):
    id = fields.Integer()
    segment_id = fields.Integer()
    status = fields.String(metadata={"description": "queued, running, done or failed"})
    total = fields.Integer()
    done = fields.Integer()
    progress = fields.Function(
        lambda e: 1.0 if e.status == "done" else round(min(e.done / e.total, 1.0), 4) if e.total else 0.0,
        metadata={"description": "0 to 1"},
    )
    requested_by = fields.String(allow_none=True)
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    error = fields.String(allow_none=True)
    status_url = fields.Function(lambda e: f"/api/v1/segments/exports/{e.id}")
    download_url = fields.Function(
        lambda e: f"/api/v1/segments/exports/{e.id}/download" if e.status == "done" else None
    )
