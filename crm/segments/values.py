"""Typed values in rule conditions: which operators each type takes, checking a value, lowering a comparison.

Types: string (compared lower-cased), number, boolean, date (a YYYY-MM-DD day, for attributes) and
datetime (an instant, for profile times). `ne` and `exists: false` are the negation of `eq` and
`exists`, so a customer without the value is "not equal"; every other operator needs the value.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta

from flask import current_app, has_app_context
from marshmallow import ValidationError, fields

from crm.segments.documents import is_date_value, iso_ms
from crm.segments.tree import Cmp, all_of, negate

ATTRIBUTE_TYPES = ("string", "number", "boolean", "date")
SLOTS = {"string": "s", "number": "n", "boolean": "b", "date": "d"}
COUNT_OPS = ("eq", "ne", "lt", "lte", "gt", "gte", "between")
OPS = {
    "string": ("eq", "ne", "in", "contains", "exists"),
    "number": ("eq", "ne", "in", "lt", "lte", "gt", "gte", "between", "exists"),
    "boolean": ("eq", "ne", "exists"),
    "date": ("before", "after", "between", "within_last_days", "exists"),
    "datetime": ("before", "after", "between", "within_last_days", "exists"),
}
KNOWN_ATTRIBUTES = {
    "first_name": "string",
    "last_name": "string",
    "name": "string",
    "locale": "string",
    "birth_date": "date",
    **{f"address.{part}": "string" for part in ("line1", "line2", "city", "postcode", "region", "country")},
    **{f"consent.{channel}": "boolean" for channel in ("email", "sms", "phone")},
}
CUSTOM_KEY = re.compile(r"^custom\.[a-z0-9_]{1,64}$")
MAX_LIST = 500
MAX_STRING = 1024


class OneOrMany(fields.Field):
    """A name from a fixed list, or a non-empty list of them."""

    def __init__(self, choices: tuple[str, ...], **kwargs):
        super().__init__(**kwargs)
        self.choices = choices

    def _deserialize(self, value, attr, data, **kwargs):
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
            raise ValidationError(f"a name or a non-empty list of names, of {', '.join(self.choices)}")
        bad = [i for i in items if i not in self.choices]
        if bad:
            raise ValidationError(f"unknown {', '.join(bad)}; one of {', '.join(self.choices)}")
        return value


def base_currency() -> str:
    return current_app.config["BASE_CURRENCY"] if has_app_context() else "USD"


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _fail(message: str, field: str = "value"):
    raise ValidationError(message, field)


def attribute_type(key: str, given: str | None, op: str, value) -> str | None:
    """The type an attribute condition compares as: fixed for known keys, given or inferred for custom ones."""
    if key in KNOWN_ATTRIBUTES:
        fixed = KNOWN_ATTRIBUTES[key]
        if given is not None and given != fixed:
            _fail(f"{key} is a {fixed} attribute", "type")
        return fixed
    if not CUSTOM_KEY.match(key):
        _fail(f"unknown attribute; one of {', '.join(KNOWN_ATTRIBUTES)} or custom.<key> (a-z, 0-9, _)", "key")
    if given is not None:
        return given
    sample = value[0] if isinstance(value, list) and value else value
    if op == "exists" and value in (None, True, False):
        return None  # any type: the key has a value
    if op in ("before", "after", "within_last_days") or is_date_value(sample):
        return "date"
    if isinstance(sample, bool):
        return "boolean"
    if _is_number(sample):
        return "number"
    return "string"


def check(kind: str, op: str, value) -> None:
    """Raise ValidationError naming op or value when they do not fit the type."""
    if op not in OPS[kind]:
        _fail(f"a {kind} takes one of {', '.join(OPS[kind])}", "op")
    if op == "exists":
        if value is not None and not isinstance(value, bool):
            _fail("exists takes true (the default) or false")
        return
    if op == "in":
        if not isinstance(value, list) or not 1 <= len(value) <= MAX_LIST:
            _fail(f"in takes a list of 1 to {MAX_LIST} values")
        for item in value:
            _check_scalar(kind, item)
        return
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            _fail("between takes [low, high]")
        for item in value:
            _check_scalar(kind, item)
        low, high = (_instant(v) for v in value) if kind == "datetime" else value
        if low > high:
            _fail("between takes [low, high] with low <= high")
        return
    if op == "within_last_days":
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 36500:
            _fail("within_last_days takes a whole number of days, 1 to 36500")
        return
    if op == "contains" and (not isinstance(value, str) or not value):
        _fail("contains takes a non-empty string")
    _check_scalar(kind, value)


def _check_scalar(kind: str, value) -> None:
    if kind == "string" and not (isinstance(value, str) and len(value) <= MAX_STRING):
        _fail(f"must be a string of at most {MAX_STRING} characters")
    if kind == "number" and not _is_number(value):
        _fail("must be a number")
    if kind == "boolean" and not isinstance(value, bool):
        _fail("must be true or false")
    if kind == "date" and not is_date_value(value):
        _fail("must be a date, YYYY-MM-DD")
    if kind == "datetime":
        try:
            _instant(value)
        except (TypeError, ValueError):
            _fail("must be a date (YYYY-MM-DD) or a date-time with an offset (2026-05-01T09:00:00Z)")


def check_count(op: str, value) -> None:
    def whole(v) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 1_000_000

    if op == "between":
        if not (isinstance(value, list) and len(value) == 2 and all(whole(v) for v in value) and value[0] <= value[1]):
            _fail("between takes [low, high]: whole numbers, low <= high")
    elif not whole(value):
        _fail("must be a whole number, 0 or more")


def check_amount(op: str, value) -> None:
    def amount(v) -> bool:
        return _is_number(v) and 0 <= v <= 1e12

    if op == "between":
        if not (isinstance(value, list) and len(value) == 2 and all(amount(v) for v in value) and value[0] <= value[1]):
            _fail("between takes [low, high]: amounts of 0 or more, low <= high")
    elif not amount(value):
        _fail("must be an amount of 0 or more")


def _instant(value) -> datetime:
    """A date (midnight UTC) or an aware date-time."""
    if not isinstance(value, str):
        raise TypeError("not a string")
    if is_date_value(value):
        return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("no offset")
    return parsed


def _scalar(kind: str, value):
    if kind == "string":
        return value.lower()
    if kind == "number":
        return float(value)
    if kind == "datetime":
        return iso_ms(_instant(value))
    return value


def _days_ago(kind: str, now: datetime, days: int) -> str:
    then = now - timedelta(days=days)
    return then.astimezone(UTC).date().isoformat() if kind == "date" else iso_ms(then)


def compare(target, kind: str, op: str, value, now: datetime):
    """One comparison as tree nodes: ne, between, before/after, within_last_days and exists:false rewritten."""
    if op == "exists":
        node = Cmp(target, "exists")
        return node if value in (None, True) else negate(node)
    if op in ("eq", "ne"):
        node = Cmp(target, "eq", _scalar(kind, value))
        return node if op == "eq" else negate(node)
    if op == "in":
        return Cmp(target, "in", tuple(sorted({_scalar(kind, v) for v in value}, key=repr)))
    if op == "between":
        low, high = (_scalar(kind, v) for v in value)
        return all_of(Cmp(target, "gte", low), Cmp(target, "lte", high))
    if op == "before":
        return Cmp(target, "lt", _scalar(kind, value))
    if op == "after":
        return Cmp(target, "gt", _scalar(kind, value))
    if op == "within_last_days":
        return Cmp(target, "gte", _days_ago(kind, now, value))
    return Cmp(target, op, _scalar(kind, value))
