"""Channel sources, for admins: list them with their recent deliveries."""

from __future__ import annotations

from marshmallow import Schema, fields
from sqlalchemy import select

from crm.api import bp
from crm.api.spec import operation
from crm.channels.models import Delivery, Source
from crm.extensions import db


class DeliveryOut(Schema):
    id = fields.Integer()
    received_at = fields.DateTime()
    status_code = fields.Integer()
    error = fields.String(allow_none=True)
    accepted = fields.Integer()
    replayed = fields.Integer()
    size_bytes = fields.Integer()
    duration_ms = fields.Integer(allow_none=True)


class SourceOut(Schema):
    id = fields.Integer()
    slug = fields.String()
    name = fields.String(allow_none=True)
    channel = fields.String()
    provider = fields.String()
    active = fields.Boolean()
    created_at = fields.DateTime()
    rotated_at = fields.DateTime(allow_none=True)
    webhook_path = fields.Function(lambda s: f"/webhooks/{s.slug}")
    recent_deliveries = fields.List(fields.Nested(DeliveryOut))


class SourceList(Schema):
    items = fields.List(fields.Nested(SourceOut))


@operation(
    bp,
    "/sources",
    summary="Channel sources and their last deliveries",
    tag="admin",
    permission="admin",
    response=SourceList,
)
def list_sources():
    """Secrets are never returned."""
    items = []
    for source in db.session.scalars(select(Source).order_by(Source.slug)):
        recent = list(
            db.session.scalars(
                select(Delivery).where(Delivery.source_id == source.id).order_by(Delivery.id.desc()).limit(10)
            )
        )
        body = SourceOut(exclude=("recent_deliveries",)).dump(source)
        body["recent_deliveries"] = DeliveryOut(many=True).dump(recent)
        items.append(body)
    return {"items": items}
