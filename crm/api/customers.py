"""Customers: lookup by identifier, the profile, the unified timeline."""

from __future__ import annotations

from sqlalchemy import select

from crm.api import bp
from crm.api.schemas import CustomerOut, InteractionOut, LookupQuery, TimelineOut, TimelineQuery
from crm.api.spec import operation
from crm.errors import InvalidPayload, NotFound
from crm.extensions import db
from crm.profiles import attributes
from crm.profiles.identifiers import InvalidIdentifier
from crm.profiles.lookup import normalise_for_lookup
from crm.profiles.models import Customer, Identifier
from crm.profiles.timeline import timeline


def get_customer(customer_id: int) -> Customer:
    customer = db.session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"no customer {customer_id}")
    return customer


def customer_body(customer: Customer) -> dict:
    body = CustomerOut().dump(customer)
    body["attributes"] = attributes.effective(customer.id)
    return body


def interaction_body(item, cases: dict) -> dict:
    body = InteractionOut(exclude=("case",)).dump(item)
    case = cases.get(item.case_id)
    body["case"] = (
        None
        if case is None
        else {
            "id": case.id,
            "status": case.status,
            "channel": case.channel,
            "subject": case.subject,
            "opened_at": case.opened_at.isoformat(),
            "reopen_count": case.reopen_count,
            "first_response_at": case.first_response_at.isoformat() if case.first_response_at else None,
            "resolved_at": case.resolved_at.isoformat() if case.resolved_at else None,
        }
    )
    return body


@operation(
    bp,
    "/customers/lookup",
    summary="Find the customer owning an identifier",
    tag="customers",
    permission="customers:read",
    query=LookupQuery,
    response=CustomerOut,
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
    response=CustomerOut,
    errors=(404,),
)
def show_customer(customer_id: int):
    """Identifiers, attributes with their provenance, and aggregates. A merged customer names its survivor."""
    return customer_body(get_customer(customer_id))


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
    """All of the customer's interactions across channels, newest first; pass next_cursor to get the next page."""
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
