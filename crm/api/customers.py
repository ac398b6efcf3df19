"""Customers: lookup by identifier, the profile with attributes and their provenance, agents' edits,
the unified timeline, and the notes and calls agents log."""

from __future__ import annotations

from flask_login import current_user
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select

from crm.api import bp
from crm.api.schemas import CustomerOut, InteractionOut, LookupQuery, TimelineOut, TimelineQuery
from crm.api.spec import operation
from crm.channels.canonical import CUSTOM_KEY, AttributesSchema, CustomValues
from crm.errors import Conflict, InvalidPayload, NotFound
from crm.extensions import db
from crm.profiles import attributes
from crm.profiles.cases import first_response_seconds
from crm.profiles.identifiers import InvalidIdentifier
from crm.profiles.lookup import normalise_for_lookup
from crm.profiles.models import Customer, Identifier
from crm.profiles.timeline import channel_details, timeline


class ProvenanceOut(Schema):
    value = fields.Raw()
    origin = fields.String(metadata={"description": "channel, or agent when pinned by an edit"})
    source_id = fields.Integer(allow_none=True)
    source = fields.String(allow_none=True, metadata={"description": "the source's slug"})
    interaction_id = fields.Integer(allow_none=True)
    observed_at = fields.String(metadata={"description": "when the interaction occurred, or the edit was made"})
    updated_by = fields.String(allow_none=True)


class AttributeValueOut(ProvenanceOut):
    pinned_over = fields.Nested(
        ProvenanceOut, allow_none=True, metadata={"description": "the channel value an agent's pin hides"}
    )


class CustomerProfileOut(CustomerOut):
    attributes = fields.Dict(keys=fields.String(), values=fields.Nested(AttributeValueOut))


class NullableCustomValues(CustomValues):
    """`custom` in an edit: as in the canonical interaction, and null clears a key's pinned value."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError("must be an object of key: value")
        cleared = {k: None for k, v in value.items() if v is None}
        errors = {str(k)[:80]: ["keys are 1-64 characters of a-z, 0-9 and _"] for k in cleared if not _key_ok(k)}
        try:
            kept = super()._deserialize({k: v for k, v in value.items() if v is not None}, attr, data, **kwargs)
        except ValidationError as exc:
            errors.update(exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages})
            kept = {}
        if errors:
            raise ValidationError(errors)
        return {**kept, **cleared}


def _key_ok(key) -> bool:
    return isinstance(key, str) and bool(CUSTOM_KEY.match(key))


class AttributesEdit(AttributesSchema):
    """The canonical attributes; a key given as null clears the agent's pinned value for it."""

    custom = NullableCustomValues(allow_none=True, metadata={"description": "key: value; null clears the key"})


class NoteIn(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=20_000))
    subject = fields.String(load_default=None, validate=validate.Length(max=300))
    occurred_at = fields.AwareDateTime(load_default=None, metadata={"description": "default: now"})
    idempotency_key = fields.String(
        load_default=None, validate=validate.Length(min=1, max=100), metadata={"description": "retries store one"}
    )


class CallIn(Schema):
    direction = fields.String(required=True, validate=validate.OneOf(("inbound", "outbound")))
    duration_s = fields.Float(load_default=None, validate=validate.Range(min=0, max=10**6))
    outcome = fields.String(
        load_default=None, validate=validate.OneOf(("answered", "missed", "voicemail", "busy", "failed"))
    )
    text = fields.String(load_default=None, validate=validate.Length(max=20_000), metadata={"description": "summary"})
    subject = fields.String(load_default=None, validate=validate.Length(max=300))
    occurred_at = fields.AwareDateTime(load_default=None, metadata={"description": "default: now"})
    idempotency_key = fields.String(load_default=None, validate=validate.Length(min=1, max=100))


class AcceptedOut(Schema):
    interaction_id = fields.Integer()
    customer_id = fields.Integer()
    status = fields.String(metadata={"description": "accepted: the worker attaches it to the customer"})


def get_customer(customer_id: int) -> Customer:
    customer = db.session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"no customer {customer_id}")
    return customer


def _active(customer_id: int) -> Customer:
    customer = get_customer(customer_id)
    if customer.status != "active":
        raise Conflict(f"customer {customer_id} was merged into customer {customer.merged_into_id}; use that one")
    return customer


def actor() -> str:
    return current_user.email


def customer_body(customer: Customer) -> dict:
    body = CustomerOut(exclude=("attributes",)).dump(customer)  # the rows; the effective values go below
    body["attributes"] = attributes.effective(customer.id, with_sources=True)
    return body


def case_body(case) -> dict | None:
    if case is None:
        return None
    return {
        "id": case.id,
        "status": case.status,
        "channel": case.channel,
        "subject": case.subject,
        "opened_at": case.opened_at.isoformat(),
        "reopen_count": case.reopen_count,
        "first_response_at": case.first_response_at.isoformat() if case.first_response_at else None,
        "first_response_seconds": first_response_seconds(case),
        "resolved_at": case.resolved_at.isoformat() if case.resolved_at else None,
        "resolution_seconds": case.resolution_seconds,
    }


def interaction_body(item, cases: dict) -> dict:
    body = InteractionOut(exclude=("case",)).dump(item)
    body["case"] = case_body(cases.get(item.case_id))
    body["details"] = channel_details(item)
    body["author_id"] = item.author_id
    return body


@operation(
    bp,
    "/customers/lookup",
    summary="Find the customer owning an identifier",
    tag="customers",
    permission="customers:read",
    query=LookupQuery,
    response=CustomerProfileOut,
    errors=(404,),
)
def lookup_customer(args):
    """The identifier is normalised the way interactions are (E.164 phones, lower-case emails...)."""
    kind, sep, value = args["identifier"].partition(":")
    if not sep or not value:
        raise InvalidPayload(
            "identifier must be kind:value", errors={"identifier": ["expected kind:value, e.g. email:ann@example.com"]}
        )
    try:
        normalised = normalise_for_lookup(kind, value)
    except InvalidIdentifier as exc:
        raise InvalidPayload(str(exc), errors={"identifier": [str(exc)]}) from exc
    ident = db.session.scalar(select(Identifier).where(Identifier.kind == kind, Identifier.value == normalised))
    if ident is None:
        raise NotFound(f"no customer has {kind} {normalised}")
    return customer_body(ident.customer)


@operation(
    bp,
    "/customers/<int:customer_id>",
    summary="A customer's profile",
    tag="customers",
    permission="customers:read",
    response=CustomerProfileOut,
    errors=(404,),
)
def show_customer(customer_id: int):
    """Identifiers, attributes with their provenance (source, interaction, time; an agent's pin shows the
    channel value beneath it), and aggregates. A merged customer names its survivor."""
    return customer_body(get_customer(customer_id))


@operation(
    bp,
    "/customers/<int:customer_id>",
    "PATCH",
    summary="Edit a customer's attributes (pinned over channel values)",
    tag="customers",
    permission="customers:write",
    body=AttributesEdit,
    response=CustomerProfileOut,
    errors=(404, 409),
)
def edit_customer(customer_id: int, payload: dict):
    """The attributes schema of the canonical interaction. Each value given is pinned: channel data that
    arrives later does not replace it until it is cleared, by sending the key as null
    (`{"first_name": null}`, `{"consent": {"sms": null}}`, `{"custom": {"tier": null}}`; `"custom": null`
    clears every custom pin). An address is one value: send all of its fields. Audited."""
    from crm import audit
    from crm.pipeline import refresh_customer

    if not payload:
        raise InvalidPayload("nothing to change", errors={"_schema": ["send at least one attribute"]})
    customer = _active(customer_id)
    edits = attributes.edits_from_patch(payload)
    keys = attributes.apply_edits(
        customer.id, edits, actor(), clear_custom="custom" in payload and not payload["custom"]
    )
    audit.record(actor(), "edit_attributes", "customer", customer.id, keys=keys)
    refresh_customer(customer)
    db.session.commit()
    return customer_body(customer)


@operation(
    bp,
    "/customers/<int:customer_id>/timeline",
    summary="The unified timeline",
    tag="customers",
    permission="customers:read",
    query=TimelineQuery,
    response=TimelineOut,
    errors=(404,),
)
def customer_timeline(customer_id: int, args):
    """All of the customer's interactions across channels, newest first, each with its case and its channel's
    details (a call's duration and outcome, an order's items and total...); pass next_cursor for the next page."""
    get_customer(customer_id)
    page = timeline(
        customer_id,
        limit=args["limit"],
        cursor=args["cursor"],
        channels=args["channel"],
        types=args["type"],
        since=args["since"],
        until=args["until"],
    )
    return {"items": [interaction_body(i, page.cases) for i in page.items], "next_cursor": page.next_cursor}


@operation(
    bp,
    "/customers/<int:customer_id>/notes",
    "POST",
    summary="Write a note on a customer",
    tag="customers",
    permission="customers:write",
    body=NoteIn,
    response=AcceptedOut,
    status=202,
    errors=(404,),
)
def add_note(customer_id: int, payload: dict):
    """Stored as an interaction of the internal `crm-notes` source with its author, and processed like any
    other: it appears on the timeline once the worker has attached it."""
    from crm.profiles.notes import record_note

    iid = record_note(
        customer_id,
        text=payload["text"],
        subject=payload["subject"],
        occurred_at=payload["occurred_at"],
        key=payload["idempotency_key"],
        author=current_user,
    )
    return {"interaction_id": iid, "customer_id": customer_id, "status": "accepted"}


@operation(
    bp,
    "/customers/<int:customer_id>/calls",
    "POST",
    summary="Log a call with a customer",
    tag="customers",
    permission="customers:write",
    body=CallIn,
    response=AcceptedOut,
    status=202,
    errors=(404,),
)
def log_customer_call(customer_id: int, payload: dict):
    """A phone interaction of the internal `crm-calls` source: an inbound call opens or continues the
    customer's phone case, an outbound one answers it."""
    from crm.profiles.notes import log_call

    iid = log_call(
        customer_id,
        direction=payload["direction"],
        duration_s=payload["duration_s"],
        outcome=payload["outcome"],
        text=payload["text"],
        subject=payload["subject"],
        occurred_at=payload["occurred_at"],
        key=payload["idempotency_key"],
        author=current_user,
    )
    return {"interaction_id": iid, "customer_id": customer_id, "status": "accepted"}
