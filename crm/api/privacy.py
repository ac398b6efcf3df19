"""Privacy requests, for admins: export everything about a customer, or erase it."""

from __future__ import annotations

from marshmallow import Schema, fields

from crm.api import bp
from crm.api.customers import actor
from crm.api.spec import operation
from crm.extensions import db
from crm.profiles.privacy import erase_customer, export_customer


class ExportOut(Schema):
    exported_at = fields.String()
    customer = fields.Dict()
    merged_customers = fields.List(fields.Dict(), metadata={"description": "customers merged into this one"})
    identifiers = fields.List(fields.Dict())
    attributes = fields.Dict(metadata={"description": "effective values with provenance, and every row"})
    interactions = fields.List(fields.Dict(), metadata={"description": "each with its raw payload"})
    cases = fields.List(fields.Dict())
    merges = fields.List(fields.Dict())
    segment_memberships = fields.Dict()
    duplicate_suggestions = fields.List(fields.Dict())
    action_feedback = fields.List(fields.Dict())
    privacy_requests = fields.List(fields.Dict())


class ErasedOut(Schema):
    customer_id = fields.Integer()
    erased = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={"description": "rows, by kind"})


@operation(
    bp,
    "/customers/<int:customer_id>/export",
    summary="Export everything about a customer",
    tag="privacy",
    permission="admin",
    response=ExportOut,
    errors=(404, 409),
)
def export_customer_operation(customer_id: int):
    """Profile, identifiers, attributes with provenance, interactions with raw payloads, cases, merges,
    segment memberships, duplicate suggestions; recorded as a privacy request."""
    doc = export_customer(customer_id, actor())
    db.session.commit()
    return doc


def _erase(customer_id: int) -> dict:
    return {"customer_id": customer_id, "erased": erase_customer(customer_id, actor())}


@operation(
    bp,
    "/customers/<int:customer_id>",
    "DELETE",
    summary="Erase a customer",
    tag="privacy",
    permission="admin",
    response=ErasedOut,
    errors=(404, 409),
)
def delete_customer(customer_id: int):
    """Deletes the customer and everyone merged into it: rows, raw payloads, search documents, suggestions,
    memberships. What remains is a privacy request and an audit entry with ids and counts only."""
    return _erase(customer_id)


@operation(
    bp,
    "/customers/<int:customer_id>/erase",
    "POST",
    summary="Erase a customer",
    tag="privacy",
    permission="admin",
    response=ErasedOut,
    errors=(404, 409),
)
def erase_customer_operation(customer_id: int):
    """The same as `DELETE /customers/{customer_id}`, for clients that cannot send DELETE."""
    return _erase(customer_id)
