"""GET /api/v1/search: the one search box, across customers and interactions."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from crm import search
from crm.api import bp
from crm.api.schemas import CHANNEL_NAMES, CsvList
from crm.api.spec import operation
from crm.search.query import MAX_WINDOW, SCOPES, SearchRequest
from crm.search.results import present


class SearchQuery(Schema):
    q = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={
            "description": "a name (partial or with a typo), an email or part of one, a phone in any format, "
            "an order number, a loyalty id or a phrase from a message"
        },
    )
    scope = fields.String(load_default="all", validate=validate.OneOf(SCOPES))
    channel = CsvList(choices=CHANNEL_NAMES, load_default=None, metadata={"description": "comma-separated"})
    since = fields.AwareDateTime(
        load_default=None, metadata={"description": "interactions from; customers active since"}
    )
    until = fields.AwareDateTime(
        load_default=None, metadata={"description": "interactions before; customers seen before"}
    )
    segment = fields.Integer(load_default=None, validate=validate.Range(min=1), metadata={"description": "segment id"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))

    @validates_schema
    def _bounds(self, data, **_):
        if not (data.get("q") or "").strip():
            raise ValidationError("type something to search for", "q")
        if data.get("since") and data.get("until") and data["since"] >= data["until"]:
            raise ValidationError("since must be before until", "since")
        if data.get("page", 1) * data.get("per_page", 20) > MAX_WINDOW:
            raise ValidationError(f"page * per_page may be at most {MAX_WINDOW}: narrow the search instead", "page")


class MatchedIdentifierOut(Schema):
    kind = fields.String()
    value = fields.String()
    highlight = fields.String()


class CustomerHighlightOut(Schema):
    name = fields.String(metadata={"description": "the name with the matching words in <em>"})
    identifiers = fields.List(fields.Nested(MatchedIdentifierOut))


class CustomerHitOut(Schema):
    id = fields.Integer()
    display_name = fields.String(allow_none=True)
    emails = fields.List(fields.String())
    phones = fields.List(fields.String())
    last_seen_at = fields.String(allow_none=True)
    last_channel = fields.String(allow_none=True)
    interaction_count = fields.Integer()
    journey_stage = fields.String(allow_none=True)


class InteractionHitOut(Schema):
    id = fields.Integer()
    customer_id = fields.Integer(allow_none=True)
    customer_name = fields.String(allow_none=True)
    channel = fields.String()
    type = fields.String()
    direction = fields.String()
    occurred_at = fields.String()
    subject = fields.String(allow_none=True)
    order_number = fields.String(allow_none=True)


class InteractionHighlightOut(Schema):
    subject = fields.List(fields.String())
    text = fields.List(fields.String(), metadata={"description": "up to two fragments, matches in <em>"})
    order_number = fields.List(fields.String())


class SearchHitOut(Schema):
    kind = fields.String(metadata={"description": "customer or interaction"})
    id = fields.Integer()
    score = fields.Float(metadata={"description": "the match tier; equal scores are ordered by recent activity"})
    activity_at = fields.String(allow_none=True)
    customer = fields.Nested(CustomerHitOut)
    interaction = fields.Nested(InteractionHitOut)
    highlight = fields.Dict(metadata={"description": "CustomerHighlight or InteractionHighlight, by kind"})


class TotalsOut(Schema):
    customers = fields.Integer()
    interactions = fields.Integer()


class SearchOut(Schema):
    query = fields.String()
    backend = fields.String(metadata={"description": "elasticsearch, or sql without it"})
    items = fields.List(fields.Nested(SearchHitOut))
    total = fields.Nested(TotalsOut)
    page = fields.Integer()
    per_page = fields.Integer()
    next_page = fields.Integer(allow_none=True)
    notes = fields.List(fields.String(), metadata={"description": "anything the answer had to leave out"})


@operation(
    bp,
    "/search",
    summary="Search customers and interactions",
    tag="search",
    permission="search",
    query=SearchQuery,
    response=SearchOut,
)
def search_everything(args):
    """One box: partial names, one typo in a name, full or partial emails, phones in any format, order
    numbers, loyalty ids and message phrases. Results are ranked by how they matched (an exact
    identifier first, then order numbers, phone endings, partial emails, names, then message text);
    equal matches come most recently active first. Filter by channel, date range and segment; pages
    of up to 100, at most 1000 results deep."""
    request = SearchRequest(
        query=search.parse_query(args["q"]),
        scope=args["scope"],
        channels=args["channel"] or [],
        since=args["since"],
        until=args["until"],
        segment_id=args["segment"],
        page=args["page"],
        per_page=args["per_page"],
    )
    page = search.search(request)
    total = page.totals["customer"] + page.totals["interaction"]
    deeper = request.offset + request.per_page
    return {
        "query": request.query.raw,
        "backend": page.backend,
        "items": present(page, request.query),
        "total": {"customers": page.totals["customer"], "interactions": page.totals["interaction"]},
        "page": request.page,
        "per_page": request.per_page,
        "next_page": request.page + 1 if total > deeper and deeper + request.per_page <= MAX_WINDOW else None,
        "notes": page.notes,
    }
