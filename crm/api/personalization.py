"""The agent view (profile, first timeline page, context, next best actions, recommendations in one
call, cached per customer version) and agents closing next best actions."""

from __future__ import annotations

import json

from flask import Response
from flask_login import current_user
from marshmallow import Schema, fields, pre_dump, validate

from crm.api import bp
from crm.api.customers import CustomerProfileOut, customer_body, get_customer, interaction_body
from crm.api.schemas import TimelineOut
from crm.api.spec import operation
from crm.errors import NotFound
from crm.personalization import agent_view
from crm.personalization.feedback import record_feedback
from crm.profiles.timeline import timeline


class JourneyOut(Schema):
    stage = fields.String(metadata={"description": "awareness, consideration, first purchase, repeat, advocate, ..."})
    reason = fields.String(metadata={"description": "the rule that placed them, with what it saw"})


class SentimentPointOut(Schema):
    day = fields.Date()
    score = fields.Float()


class SentimentOut(Schema):
    recent = fields.Float(metadata={"description": "mean VADER compound score of their last 5 messages"})
    previous = fields.Float(metadata={"description": "the same for the 5 before"})
    recent_count = fields.Integer()
    previous_count = fields.Integer()
    direction = fields.String(metadata={"description": "improving, worsening or stable"})
    reason = fields.String()
    points = fields.List(fields.Nested(SentimentPointOut), metadata={"description": "daily mean, oldest first"})

    @pre_dump
    def _points(self, data, **_):
        return {**data, "points": [{"day": day, "score": score} for day, score in data.get("points", ())]}


class TopicOut(Schema):
    topic = fields.String()
    count = fields.Integer(metadata={"description": "messages that mention it"})
    example = fields.String()
    last_at = fields.DateTime()
    sentiment = fields.Float(metadata={"description": "pain points: mean sentiment of the negative messages"})


class PreferredChannelOut(Schema):
    channel = fields.String(allow_none=True)
    count = fields.Integer()
    of = fields.Integer()
    reason = fields.String()


class ContactHoursOut(Schema):
    timezone = fields.String()
    histogram = fields.List(fields.Integer(), metadata={"description": "inbound contacts per hour of day, 0-23"})
    usual = fields.List(fields.Integer())
    windows = fields.List(fields.String(), metadata={"description": "e.g. 09:00-12:00"})
    reason = fields.String()


class ChurnFactorOut(Schema):
    factor = fields.String()
    weight = fields.Float(metadata={"description": "its contribution to the log-odds"})
    value = fields.Raw()
    text = fields.String()


class ChurnOut(Schema):
    risk = fields.Float(metadata={"description": "0-1"})
    factors = fields.List(fields.Nested(ChurnFactorOut), metadata={"description": "the top three"})
    all_factors = fields.List(fields.Nested(ChurnFactorOut))


class ValueInputsOut(Schema):
    average_order_value = fields.Decimal(as_string=True)
    orders_per_year = fields.Float()
    expected_years = fields.Float()
    retention = fields.Float()
    horizon_years = fields.Integer()


class ValueOut(Schema):
    historical = fields.Dict(keys=fields.String(), values=fields.Decimal(as_string=True))
    historical_base = fields.Decimal(as_string=True)
    base_currency = fields.String()
    projected = fields.Decimal(as_string=True)
    method = fields.String()
    method_text = fields.String()
    inputs = fields.Nested(ValueInputsOut)
    tier = fields.String()
    tier_reason = fields.String()


class ContextOut(Schema):
    summary = fields.String()
    journey = fields.Nested(JourneyOut)
    sentiment = fields.Nested(SentimentOut)
    topics = fields.List(fields.Nested(TopicOut))
    pain_points = fields.List(fields.Nested(TopicOut))
    preferred_channel = fields.Nested(PreferredChannelOut)
    contact_hours = fields.Nested(ContactHoursOut)
    churn = fields.Nested(ChurnOut)
    value = fields.Nested(ValueOut)


class ActionOut(Schema):
    key = fields.String(metadata={"description": "stable for the situation; POST .../actions/<key>/done or /dismiss"})
    title = fields.String()
    reason = fields.String()
    priority = fields.Integer()
    rule = fields.String()


class RecommendationOut(Schema):
    sku = fields.String()
    name = fields.String()
    score = fields.Float()
    reason = fields.String()
    source = fields.String(metadata={"description": "bought_together, segment or popular"})


class AgentViewOut(Schema):
    customer_id = fields.Integer()
    version = fields.Integer(metadata={"description": "the customer version the view was computed for"})
    generated_at = fields.DateTime()
    profile = fields.Nested(CustomerProfileOut)
    timeline = fields.Nested(TimelineOut, metadata={"description": "the first page; next_cursor continues it"})
    context = fields.Nested(ContextOut)
    actions = fields.List(fields.Nested(ActionOut))
    recommendations = fields.List(fields.Nested(RecommendationOut))


class AgentViewQuery(Schema):
    timeline_limit = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100))


class FeedbackIn(Schema):
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class FeedbackOut(Schema):
    customer_id = fields.Integer()
    key = fields.String(attribute="action_key")
    status = fields.String(metadata={"description": "done or dismissed"})
    actor = fields.String()
    note = fields.String(allow_none=True)
    at = fields.DateTime()


_PERSONALIZED = AgentViewOut(exclude=("profile", "timeline"))


@operation(
    bp,
    "/customers/<int:customer_id>/agent-view",
    summary="Everything an agent reads first, in one call",
    tag="personalization",
    permission="customers:read",
    query=AgentViewQuery,
    response=AgentViewOut,
    errors=(404,),
)
def customer_agent_view(customer_id: int, args):
    """The profile, the first timeline page, the context (summary, journey, sentiment, topics, habits, churn,
    value), next best actions and recommendations, each with its reason. Cached per customer version: a new
    interaction or a closed action gives a new version and a fresh view. `X-Cache` says hit or miss."""
    customer = _customer(customer_id)
    variant = f"t{args['timeline_limit']}"
    body = agent_view.cached(customer, variant)
    if body is not None:
        return _json(body, "hit")
    personalized = agent_view.personalize_later(customer)  # its Elasticsearch search runs meanwhile
    page = timeline(customer.id, limit=args["timeline_limit"])
    profile = customer_body(customer)
    items = [interaction_body(i, page.cases) for i in page.items]
    view = _PERSONALIZED.dump(personalized())
    view["profile"] = profile
    view["timeline"] = {"items": items, "next_cursor": page.next_cursor}
    body = json.dumps(view, ensure_ascii=False, separators=(",", ":")).encode()
    agent_view.remember(customer, body, variant)
    return _json(body, "miss")


def _customer(customer_id: int):
    # An id past 64 bits names nobody (and SQLite cannot even bind it): a 404, not a driver error.
    if not 0 < customer_id < 2**63:
        raise NotFound(f"no customer {customer_id}")
    return get_customer(customer_id)


def _json(body: bytes, cache: str) -> Response:
    response = Response(body, mimetype="application/json")
    response.headers["X-Cache"] = cache
    return response


def _close(customer_id: int, key: str, status: str, payload: dict):
    row, created = record_feedback(customer_id, key, status, current_user.email, payload.get("note"))
    return FeedbackOut().dump(row), 201 if created else 200


@operation(
    bp,
    "/customers/<int:customer_id>/actions/<path:key>/done",
    "POST",
    summary="Mark a next best action done",
    tag="personalization",
    permission="actions",
    body=FeedbackIn,
    body_required=False,
    response=FeedbackOut,
    status=201,
    errors=(404, 409),
)
def mark_action_done(customer_id: int, key: str, payload):
    """Recorded with who and when (and the optional note); the action does not come back. Marking it done
    again answers 200 with the first record; an action dismissed already answers 409."""
    return _close(customer_id, key, "done", payload)


@operation(
    bp,
    "/customers/<int:customer_id>/actions/<path:key>/dismiss",
    "POST",
    summary="Dismiss a next best action",
    tag="personalization",
    permission="actions",
    body=FeedbackIn,
    body_required=False,
    response=FeedbackOut,
    status=201,
    errors=(404, 409),
)
def dismiss_action(customer_id: int, key: str, payload):
    """Recorded with who and when (and the optional note); the action does not come back."""
    return _close(customer_id, key, "dismissed", payload)
