"""Cases: a customer's cases, one case, and resolving it (first response and resolution times kept)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm.api import bp
from crm.api.customers import actor, case_body, get_customer
from crm.api.spec import operation
from crm.errors import NotFound
from crm.extensions import db
from crm.profiles.cases import CASE_STATUSES, cases_of, resolve_case
from crm.profiles.models import Case, Customer


class CaseDetailOut(Schema):
    id = fields.Integer()
    customer_id = fields.Integer()
    status = fields.String(metadata={"description": "open or resolved"})
    channel = fields.String()
    subject = fields.String(allow_none=True)
    opened_at = fields.String()
    reopen_count = fields.Integer()
    first_response_at = fields.String(allow_none=True)
    first_response_seconds = fields.Float(allow_none=True, metadata={"description": "opened to first reply"})
    resolved_at = fields.String(allow_none=True)
    resolved_by = fields.String(allow_none=True)
    resolution_seconds = fields.Float(allow_none=True, metadata={"description": "the sum of its open spells"})
    last_activity_at = fields.String(allow_none=True)


class CaseList(Schema):
    items = fields.List(fields.Nested(CaseDetailOut))
    next_cursor = fields.String(allow_none=True, metadata={"description": "pass as cursor for the next page"})


class CaseQuery(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf(CASE_STATUSES))
    limit = fields.Integer(load_default=25, validate=validate.Range(min=1, max=200))
    cursor = fields.Integer(load_default=None, validate=validate.Range(min=1))


def case_detail(case: Case) -> dict:
    body = case_body(case)
    body.update(
        customer_id=case.customer_id,
        resolved_by=case.resolved_by,
        last_activity_at=case.last_activity_at.isoformat() if case.last_activity_at else None,
    )
    return body


@operation(
    bp,
    "/customers/<int:customer_id>/cases",
    summary="A customer's cases",
    tag="cases",
    permission="customers:read",
    query=CaseQuery,
    response=CaseList,
    errors=(404,),
)
def customer_cases(customer_id: int, args):
    """Newest first; filter by status."""
    get_customer(customer_id)
    rows, cursor = cases_of(customer_id, status=args["status"], limit=args["limit"], before_id=args["cursor"])
    return {"items": [case_detail(c) for c in rows], "next_cursor": str(cursor) if cursor else None}


def _case(case_id: int) -> Case:
    case = db.session.get(Case, case_id)
    if case is None:
        raise NotFound(f"no case {case_id}")
    return case


@operation(
    bp,
    "/cases/<int:case_id>",
    summary="One case",
    tag="cases",
    permission="customers:read",
    response=CaseDetailOut,
    errors=(404,),
)
def show_case(case_id: int):
    return case_detail(_case(case_id))


@operation(
    bp,
    "/cases/<int:case_id>/resolve",
    "POST",
    summary="Resolve a case",
    tag="cases",
    permission="customers:write",
    response=CaseDetailOut,
    errors=(404, 409),
)
def resolve_case_operation(case_id: int):
    """An inbound message or call after this reopens it (counted in reopen_count); the time it was open
    adds to resolution_seconds."""
    from crm.pipeline import refresh_customer

    case = resolve_case(case_id, actor())
    refresh_customer(db.session.get(Customer, case.customer_id))
    db.session.commit()
    return case_detail(case)
