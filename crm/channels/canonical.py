"""The canonical interaction: the one shape every adapter produces and every source may post.

This schema is the public contract (README, OpenAPI). Adapters turn a provider's payload into plain
dicts of this shape; `load_interactions` validates them, so a generic post and a Shopify order go
through the same checks and give the same field-by-field errors.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta

from marshmallow import (
    EXCLUDE,
    INCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates,
    validates_schema,
)

from crm.channels.adapters.shape import country_code
from crm.channels.storable import merge_errors, storable

INTERACTION_TYPES = ("message", "call", "visit", "purchase", "survey", "note")
DIRECTIONS = ("inbound", "outbound")
IDENTIFIER_FIELDS = ("email", "phone", "chat_handle", "loyalty_id", "external_id")
CUSTOM_KEY = re.compile(r"^[a-z0-9_]{1,64}$")
MAX_CUSTOM_KEYS = 100
MAX_VALUE_BYTES = 1024
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
# A provider's clock may run ahead a little; an interaction dated days ahead would outrank every real
# one in "the latest value wins".
FUTURE_SLACK = timedelta(days=1)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _short(max_len: int) -> validate.Length:
    return validate.Length(max=max_len)


class AddressSchema(Schema):
    class Meta:
        unknown = RAISE

    line1 = fields.String(validate=_short(200), allow_none=True)
    line2 = fields.String(validate=_short(200), allow_none=True)
    city = fields.String(validate=_short(100), allow_none=True)
    postcode = fields.String(validate=_short(20), allow_none=True)
    region = fields.String(validate=_short(100), allow_none=True)
    country = fields.String(allow_none=True, metadata={"description": "ISO 3166-1 alpha-2, e.g. GB"})

    @validates("country")
    def _country(self, value, **_):
        if value is not None and (len(value) != 2 or country_code(value) is None):
            raise ValidationError("must be an ISO 3166-1 alpha-2 country code, e.g. GB")


class ConsentSchema(Schema):
    class Meta:
        unknown = RAISE

    email = fields.Boolean(allow_none=True)
    sms = fields.Boolean(allow_none=True)
    phone = fields.Boolean(allow_none=True)
    at = fields.AwareDateTime(allow_none=True, metadata={"description": "when consent was given or withdrawn"})


class CustomValues(fields.Field):
    """`custom`: {key: string, number, boolean or YYYY-MM-DD date}; lower-case keys, bounded sizes."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError("must be an object of key: value")
        errors: dict[str, list[str]] = {}
        if len(value) > MAX_CUSTOM_KEYS:
            raise ValidationError(f"at most {MAX_CUSTOM_KEYS} keys")
        out = {}
        for key, item in value.items():
            if not isinstance(key, str) or not CUSTOM_KEY.match(key):
                errors[str(key)[:80]] = ["keys are 1-64 characters of a-z, 0-9 and _"]
                continue
            if isinstance(item, bool) or isinstance(item, (int, float)) and not isinstance(item, bool):
                if isinstance(item, float) and not math.isfinite(item):
                    errors[key] = ["must be a finite number"]
                    continue
                out[key] = item
            elif isinstance(item, str):
                if len(item.encode()) > MAX_VALUE_BYTES:
                    errors[key] = [f"at most {MAX_VALUE_BYTES} bytes"]
                    continue
                if _DATE.match(item):
                    try:
                        date.fromisoformat(item)
                    except ValueError:
                        errors[key] = ["looks like a date but is not a valid YYYY-MM-DD"]
                        continue
                out[key] = item
            else:
                errors[key] = ["must be a string, number, boolean or YYYY-MM-DD date"]
        if errors:
            raise ValidationError(errors)
        return out

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class AttributesSchema(Schema):
    class Meta:
        unknown = RAISE

    first_name = fields.String(validate=_short(100), allow_none=True)
    last_name = fields.String(validate=_short(100), allow_none=True)
    birth_date = fields.Date(allow_none=True, metadata={"description": "YYYY-MM-DD"})
    address = fields.Nested(AddressSchema, allow_none=True)
    locale = fields.String(validate=validate.Regexp(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$"), allow_none=True)
    consent = fields.Nested(ConsentSchema, allow_none=True)
    custom = CustomValues(allow_none=True, metadata={"description": "key: string, number, boolean or date"})

    @validates("birth_date")
    def _birth_date(self, value, **_):
        if value is not None and not (date(1900, 1, 1) <= value <= date.today()):
            raise ValidationError("must be between 1900-01-01 and today")


class CustomerInSchema(Schema):
    class Meta:
        unknown = RAISE

    email = fields.String(validate=_short(320), allow_none=True)
    phone = fields.String(validate=_short(64), allow_none=True)
    name = fields.String(validate=_short(200), allow_none=True)
    chat_handle = fields.String(validate=_short(200), allow_none=True)
    loyalty_id = fields.String(validate=_short(100), allow_none=True)
    external_id = fields.String(validate=_short(200), allow_none=True)
    attributes = fields.Nested(AttributesSchema, allow_none=True)

    @validates_schema
    def _one_identifier(self, data, **_):
        if not any((data.get(k) or "").strip() for k in IDENTIFIER_FIELDS):
            raise ValidationError(
                f"at least one identifier is required: one of {', '.join(IDENTIFIER_FIELDS)}", "_schema"
            )


class ItemSchema(Schema):
    class Meta:
        unknown = INCLUDE

    sku = fields.String(validate=_short(100), allow_none=True)
    name = fields.String(validate=_short(300), allow_none=True)
    category = fields.String(validate=_short(100), allow_none=True)
    quantity = fields.Float(validate=validate.Range(min=0), load_default=1)
    unit_price = fields.Decimal(as_string=True, allow_nan=False, allow_none=True)


class ChatMessageSchema(Schema):
    class Meta:
        unknown = INCLUDE

    author = fields.String(required=True, validate=validate.OneOf(("customer", "agent", "bot")))
    at = fields.AwareDateTime(allow_none=True)
    text = fields.String(required=True, validate=_short(100_000))


class MailboxSchema(Schema):
    """One party of an email: `from`, and each of `to` and `cc`."""

    class Meta:
        unknown = INCLUDE

    email = fields.String(validate=_short(320), allow_none=True)
    name = fields.String(validate=_short(200), allow_none=True)


PARTY = {"oneOf": [{"type": "string", "maxLength": 320}, {"$ref": "#/components/schemas/Mailbox"}]}


def _party(value: object) -> object:
    if isinstance(value, str):
        if len(value) > 320:
            raise ValidationError("at most 320 characters")
        return value
    if isinstance(value, dict):
        return MailboxSchema().load(value)
    raise ValidationError("must be a mailbox object {email, name} or a string (a number, a handle)")


class Party(fields.Field):
    """A party of a message or call: a mailbox object for email, a number or handle as a string otherwise."""

    def __init__(self, **kwargs):
        super().__init__(metadata={**PARTY, "description": "a mailbox {email, name}, or a number or handle"}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return _party(value)

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class Parties(fields.Field):
    """Recipients: a list of parties (an email's `to`, `cc`), or one (the number a call went to)."""

    def __init__(self, **kwargs):
        schema = {"oneOf": [*PARTY["oneOf"], {"type": "array", "items": PARTY}], "description": "one party or a list"}
        super().__init__(metadata=schema, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list):
            return _party(value)
        out, errors = [], {}
        for index, item in enumerate(value):
            try:
                out.append(_party(item))
            except ValidationError as exc:
                errors[index] = exc.messages
        if errors:
            raise ValidationError(errors)
        return out

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class AttachmentSchema(Schema):
    """An attachment described, never stored: its bytes stay in the raw payload."""

    class Meta:
        unknown = INCLUDE

    filename = fields.String(validate=_short(1000), allow_none=True)
    content_type = fields.String(validate=_short(200), allow_none=True)
    size = fields.Integer(validate=validate.Range(min=0), allow_none=True, metadata={"description": "bytes"})
    inline = fields.Boolean(allow_none=True)
    content_id = fields.String(validate=_short(998), allow_none=True)


class DataSchema(Schema):
    """Channel details. Known keys are checked; other keys are kept as given."""

    class Meta:
        unknown = INCLUDE

    # phone
    duration_s = fields.Float(validate=validate.Range(min=0), allow_none=True)
    outcome = fields.String(
        validate=validate.OneOf(("answered", "missed", "voicemail", "busy", "failed")), allow_none=True
    )
    recording_url = fields.Url(allow_none=True)
    # store
    store_id = fields.String(validate=_short(100), allow_none=True)
    store_name = fields.String(validate=_short(200), allow_none=True)
    currency = fields.String(
        validate=validate.Regexp(r"^[A-Z]{3}$", error="must be an ISO 4217 code such as USD"), allow_none=True
    )
    items = fields.List(fields.Nested(ItemSchema), validate=validate.Length(max=1000), allow_none=True)
    total = fields.Decimal(as_string=True, allow_nan=False, allow_none=True)
    order_number = fields.String(validate=_short(100), allow_none=True)
    refund = fields.Boolean(allow_none=True)
    # survey
    kind = fields.String(validate=validate.OneOf(("nps", "csat", "ces")), allow_none=True)
    score = fields.Float(allow_none=True)
    comment = fields.String(validate=_short(20_000), allow_none=True)
    # chat
    conversation_id = fields.String(validate=_short(200), allow_none=True)
    messages = fields.List(fields.Nested(ChatMessageSchema), validate=validate.Length(max=5000), allow_none=True)
    # email threading (set by the email adapters; may be given by a generic email source)
    message_id = fields.String(validate=_short(998), allow_none=True)
    in_reply_to = fields.String(validate=_short(998), allow_none=True)
    references = fields.List(fields.String(validate=_short(998)), allow_none=True)
    thread_id = fields.String(validate=_short(998), allow_none=True)
    # "from" is a Python keyword: the attribute keeps the key as posted.
    from_ = Party(data_key="from", attribute="from", allow_none=True)
    to = Parties(allow_none=True)
    cc = Parties(allow_none=True)
    attachments = fields.List(fields.Nested(AttachmentSchema), allow_none=True)

    @validates_schema
    def _survey_score(self, data, **_):
        kind, score = data.get("kind"), data.get("score")
        if kind and score is not None:
            low, high = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}[kind]
            if not low <= score <= high:
                raise ValidationError(f"a {kind} score is between {low} and {high}", "score")


class InteractionInSchema(Schema):
    """One canonical interaction, as posted to a generic source or produced by an adapter."""

    class Meta:
        unknown = RAISE

    external_id = fields.String(required=True, validate=validate.Length(min=1, max=255))
    occurred_at = fields.AwareDateTime(required=True, metadata={"description": "RFC 3339 with an offset"})
    type = fields.String(required=True, validate=validate.OneOf(INTERACTION_TYPES))
    direction = fields.String(required=True, validate=validate.OneOf(DIRECTIONS))
    customer = fields.Nested(CustomerInSchema, required=True)
    subject = fields.String(validate=_short(2000), allow_none=True)
    text = fields.String(validate=_short(1_000_000), allow_none=True)
    data = fields.Nested(DataSchema, load_default=dict)

    @validates("occurred_at")
    def _occurred_at(self, value, **_):
        if not EARLIEST <= value <= datetime.now(UTC) + FUTURE_SLACK:
            raise ValidationError("must be between 1900-01-01 and a day from now")

    @validates_schema
    def _type_details(self, data, **_):
        details = data.get("data") or {}
        if data.get("type") == "survey" and (details.get("kind") is None or details.get("score") is None):
            raise ValidationError("a survey needs data.kind (nps, csat or ces) and data.score", "data")


class BatchInSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    interactions = fields.List(fields.Nested(InteractionInSchema), required=True, validate=validate.Length(min=1))


def load_interactions(items: list[dict], *, max_batch: int = 1000) -> list[dict]:
    """Validate canonical dicts; raises ValidationError with errors keyed by position then field."""
    if len(items) > max_batch:
        raise ValidationError({"interactions": [f"at most {max_batch} interactions per request"]})
    schema = InteractionInSchema()
    loaded, errors = [], {}
    for position, item in enumerate(items):
        clean, unstorable = storable(item)
        try:
            loaded.append(schema.load(clean))
        except ValidationError as exc:
            unstorable = merge_errors(
                unstorable, exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
            )
        if unstorable:
            errors[str(position)] = unstorable
    if errors:
        raise ValidationError({"interactions": errors} if len(items) > 1 else errors["0"])
    seen: set[str] = set()
    for position, item in enumerate(loaded):
        if item["external_id"] in seen:
            errors[str(position)] = {"external_id": ["appears twice in this request"]}
        seen.add(item["external_id"])
    if errors:
        raise ValidationError({"interactions": errors})
    return loaded
