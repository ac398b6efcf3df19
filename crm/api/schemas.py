"""Output and query schemas of the API (the input of webhooks is crm/channels/canonical.py)."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from crm.channels.canonical import INTERACTION_TYPES

CHANNEL_NAMES = ("email", "chat", "phone", "store", "internal")


class CsvList(fields.Field):
    """A comma-separated query parameter: ?channel=email,chat."""

    def __init__(self, choices=None, **kwargs):
        super().__init__(**kwargs)
        self.choices = choices

    def _deserialize(self, value, attr, data, **kwargs):
        items = [v.strip() for v in str(value).split(",") if v.strip()]
        if self.choices:
            bad = [v for v in items if v not in self.choices]
            if bad:
                raise ValidationError(f"unknown value(s) {', '.join(bad)}; one of {', '.join(self.choices)}")
        return items


class TimelineQuery(Schema):
    limit = fields.Integer(load_default=25, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None)
    channel = CsvList(choices=CHANNEL_NAMES, load_default=None, metadata={"description": "comma-separated"})
    type = CsvList(choices=INTERACTION_TYPES, load_default=None, metadata={"description": "comma-separated"})
    since = fields.AwareDateTime(load_default=None)
    until = fields.AwareDateTime(load_default=None)

    @validates_schema
    def _range(self, data, **_):
        if data.get("since") and data.get("until") and data["since"] >= data["until"]:
            raise ValidationError("since must be before until", "since")


class LookupQuery(Schema):
    identifier = fields.String(
        required=True, metadata={"description": "kind:value, e.g. email:ann@example.com or phone:+1 415 555 0132"}
    )


class CaseOut(Schema):
    id = fields.Integer()
    status = fields.String()
    channel = fields.String()
    subject = fields.String(allow_none=True)
    opened_at = fields.DateTime()
    first_response_at = fields.DateTime(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    reopen_count = fields.Integer()
    first_response_seconds = fields.Float(allow_none=True)
    resolution_seconds = fields.Float(allow_none=True)


class InteractionOut(Schema):
    id = fields.Integer()
    customer_id = fields.Integer(allow_none=True)
    source_id = fields.Integer()
    external_id = fields.String()
    channel = fields.String()
    type = fields.String()
    direction = fields.String()
    occurred_at = fields.DateTime()
    received_at = fields.DateTime()
    processed_at = fields.DateTime(allow_none=True)
    subject = fields.String(allow_none=True)
    text = fields.String(allow_none=True)
    data = fields.Dict()
    sentiment = fields.Float(allow_none=True)
    case = fields.Nested(CaseOut, allow_none=True)
    identifiers = fields.List(fields.Dict())
    details = fields.Dict(metadata={"description": "the channel's own details: a call's outcome, an order's total"})
    author_id = fields.Integer(allow_none=True, metadata={"description": "the agent who wrote a note or logged a call"})


class TimelineOut(Schema):
    items = fields.List(fields.Nested(InteractionOut))
    next_cursor = fields.String(allow_none=True)


class IdentifierOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    value = fields.String()
    raw = fields.String(allow_none=True)
    source_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


class AttributeOut(Schema):
    value = fields.Raw()
    origin = fields.String(metadata={"description": "channel, or agent when pinned by an edit"})
    source_id = fields.Integer(allow_none=True)
    interaction_id = fields.Integer(allow_none=True)
    observed_at = fields.String()
    updated_by = fields.String(allow_none=True)


class CustomerOut(Schema):
    id = fields.Integer()
    status = fields.String()
    merged_into_id = fields.Integer(allow_none=True)
    display_name = fields.String(allow_none=True)
    created_at = fields.DateTime()
    version = fields.Integer()
    first_seen_at = fields.DateTime(allow_none=True)
    last_seen_at = fields.DateTime(allow_none=True)
    last_channel = fields.String(allow_none=True)
    interaction_count = fields.Integer()
    counts = fields.Dict()
    lifetime_value = fields.Dict(metadata={"description": "purchases minus refunds, per currency"})
    orders_count = fields.Integer()
    last_purchase_at = fields.DateTime(allow_none=True)
    nps_score = fields.Integer(allow_none=True)
    csat_score = fields.Float(allow_none=True)
    ces_score = fields.Float(allow_none=True)
    open_cases = fields.Integer()
    sentiment_avg = fields.Float(allow_none=True)
    journey_stage = fields.String(allow_none=True)
    churn_risk = fields.Float(allow_none=True)
    identifiers = fields.List(fields.Nested(IdentifierOut))
    attributes = fields.Dict(keys=fields.String(), values=fields.Nested(AttributeOut))
