"""Identity: a customer's merges, merging two customers by hand, undoing a merge, and the duplicate
suggestions a person confirms (a recorded, undoable merge) or dismisses (never suggested again)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm.api import bp
from crm.api.customers import CustomerProfileOut, actor, customer_body, get_customer
from crm.api.spec import operation
from crm.errors import NotFound
from crm.extensions import db
from crm.profiles import suggestions
from crm.profiles.merge import merge_by_person, merges_of
from crm.profiles.models import Merge


class MergeOut(Schema):
    id = fields.Integer()
    survivor_id = fields.Integer()
    merged_id = fields.Integer()
    identifier_kind = fields.String(allow_none=True, metadata={"description": "the identifier that linked them"})
    identifier_value = fields.String(allow_none=True)
    interaction_id = fields.Integer(allow_none=True, metadata={"description": "the interaction that carried it"})
    reason = fields.String(metadata={"description": "shared_identifier, manual or suggestion"})
    actor = fields.String()
    created_at = fields.DateTime()
    undone_at = fields.DateTime(allow_none=True)
    undone_by = fields.String(allow_none=True)


class MergeList(Schema):
    items = fields.List(fields.Nested(MergeOut))
    next_cursor = fields.String(allow_none=True)


class PageQuery(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None)


class ManualMergeIn(Schema):
    other_id = fields.Integer(
        required=True, strict=True, metadata={"description": "the customer merged into this one (this one survives)"}
    )


class UndoOut(Schema):
    merge = fields.Nested(MergeOut)
    survivor = fields.Nested(CustomerProfileOut)
    restored = fields.Nested(CustomerProfileOut, metadata={"description": "the customer brought back"})


class SuggestionOut(Schema):
    id = fields.Integer()
    customer_a_id = fields.Integer()
    customer_b_id = fields.Integer()
    score = fields.Float(metadata={"description": "0-1"})
    reasons = fields.List(fields.String(), metadata={"description": "why, in words a person reads"})
    kind = fields.String(metadata={"description": "fuzzy, over_limit or blocked_pair"})
    status = fields.String(metadata={"description": "open, confirmed or dismissed"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    decided_by = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    merge_id = fields.Integer(allow_none=True)


class SuggestionList(Schema):
    items = fields.List(fields.Nested(SuggestionOut))
    next_cursor = fields.String(allow_none=True)


class SuggestionQuery(PageQuery):
    customer_id = fields.Integer(load_default=None)
    status = fields.String(load_default=None, validate=validate.OneOf(suggestions.STATUSES))


@operation(
    bp,
    "/customers/<int:customer_id>/merges",
    summary="The merges a customer took part in",
    tag="identity",
    permission="customers:read",
    query=PageQuery,
    response=MergeList,
    errors=(404,),
)
def customer_merges(customer_id: int, args):
    """As survivor or as merged customer, newest first, each with the identifier and interaction that linked them."""
    get_customer(customer_id)
    rows, cursor = merges_of(customer_id, limit=args["limit"], cursor=args["cursor"])
    return {"items": MergeOut(many=True).dump(rows), "next_cursor": cursor}


@operation(
    bp,
    "/customers/<int:customer_id>/merge",
    "POST",
    summary="Merge another customer into this one",
    tag="identity",
    permission="customers:write",
    body=ManualMergeIn,
    response=MergeOut,
    status=201,
    errors=(404, 409),
)
def merge_customer(customer_id: int, payload: dict):
    """This customer survives; the other's identifiers, interactions, cases and memberships move to it.
    Recorded with who asked, and undoable."""
    row = merge_by_person(customer_id, payload["other_id"], actor=actor(), reason="manual")
    db.session.commit()
    return MergeOut().dump(row), 201


@operation(
    bp,
    "/merges/<int:merge_id>",
    summary="One merge",
    tag="identity",
    permission="customers:read",
    response=MergeOut,
    errors=(404,),
)
def show_merge(merge_id: int):
    row = db.session.get(Merge, merge_id)
    if row is None:
        raise NotFound(f"no merge {merge_id}")
    return MergeOut().dump(row)


@operation(
    bp,
    "/merges/<int:merge_id>/undo",
    "POST",
    summary="Undo a merge",
    tag="identity",
    permission="customers:write",
    response=UndoOut,
    errors=(404, 409),
)
def undo_merge_operation(merge_id: int):
    """Both customers come back as they were: identifiers, interactions, cases, memberships and attributes;
    what arrived since goes where its identifiers point. The pair is not merged automatically again."""
    from crm.profiles.undo import undo_merge

    row = undo_merge(merge_id, actor())
    db.session.commit()
    survivor, restored = get_customer(row.survivor_id), get_customer(row.merged_id)
    return {"merge": MergeOut().dump(row), "survivor": customer_body(survivor), "restored": customer_body(restored)}


@operation(
    bp,
    "/duplicate-suggestions",
    summary="Possible duplicates for a person to confirm or dismiss",
    tag="identity",
    permission="customers:read",
    query=SuggestionQuery,
    response=SuggestionList,
)
def list_duplicate_suggestions(args):
    """Newest first, each with both customer ids, a score and its reasons; filter by customer_id and status."""
    rows, cursor = suggestions.list_suggestions(
        customer_id=args["customer_id"], status=args["status"], limit=args["limit"], cursor=args["cursor"]
    )
    return {"items": SuggestionOut(many=True).dump(rows), "next_cursor": cursor}


@operation(
    bp,
    "/duplicate-suggestions/<int:suggestion_id>/confirm",
    "POST",
    summary="Confirm a duplicate: merge the pair",
    tag="identity",
    permission="customers:write",
    response=SuggestionOut,
    errors=(404, 409),
)
def confirm_duplicate(suggestion_id: int):
    """The newer customer merges into the older one, as a recorded merge (`merge_id`) that can be undone."""
    row = suggestions.confirm(suggestion_id, actor())
    db.session.commit()
    return SuggestionOut().dump(row)


@operation(
    bp,
    "/duplicate-suggestions/<int:suggestion_id>/dismiss",
    "POST",
    summary="Dismiss a duplicate: two different people",
    tag="identity",
    permission="customers:write",
    response=SuggestionOut,
    errors=(404, 409),
)
def dismiss_duplicate(suggestion_id: int):
    """The pair is never suggested again."""
    row = suggestions.dismiss(suggestion_id, actor())
    db.session.commit()
    return SuggestionOut().dump(row)
