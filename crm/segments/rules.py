"""The rule tree a marketer writes (JSON): validation with marshmallow, and lowering to crm.segments.tree.

A node is `{"all": [...]}`, `{"any": [...]}`, `{"not": {...}}` or a condition `{"condition": "<type>", ...}`
(docs/segments.md lists each type with examples). `validate_rule` checks a whole tree and reports every
bad node by its path (`$.all[1].any[0].value`); `lower(rule, now)` turns a valid tree into the nodes the
compilers and the evaluator share, resolving "within the last N days" against the one `now` given.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from crm.segments import values
from crm.segments.documents import CHANNELS, DATETIME_FIELDS, NUMBER_FIELDS, cents, iso_ms
from crm.segments.tree import (
    Attr,
    Cmp,
    Const,
    Field,
    Has,
    Window,
    all_of,
    any_of,
    at_least,
    compare_amount,
    negate,
)

INTERACTION_TYPES = ("message", "call", "visit", "purchase", "survey", "note")
DIRECTIONS = ("inbound", "outbound")
IDENTIFIER_KINDS = ("email", "phone", "chat", "loyalty", "external")
NPS_CATEGORIES = ("promoter", "passive", "detractor")
PROFILE_FIELDS = {
    "display_name": "string",
    "last_channel": "string",
    **{name: "number" for name in NUMBER_FIELDS},
    **{name: "datetime" for name in DATETIME_FIELDS},
}
MAX_DEPTH = 8
MAX_NODES = 200
MAX_DAYS = 36500


class Condition(Schema):
    class Meta:
        unknown = RAISE

    condition = fields.String(required=True)


def _one_or_many(choices: tuple[str, ...]) -> fields.Field:
    return values.OneOrMany(choices=choices, load_default=None)


class ProfileCondition(Condition):
    field = fields.String(required=True, validate=validate.OneOf(tuple(PROFILE_FIELDS)))
    op = fields.String(required=True)
    value = fields.Raw(load_default=None)

    @validates_schema
    def _value(self, data, **_):
        values.check(PROFILE_FIELDS[data["field"]], data["op"], data.get("value"))


class AttributeCondition(Condition):
    key = fields.String(required=True)
    type = fields.String(load_default=None, validate=validate.OneOf(values.ATTRIBUTE_TYPES))
    op = fields.String(required=True)
    value = fields.Raw(load_default=None)

    @validates_schema
    def _value(self, data, **_):
        kind = values.attribute_type(data["key"], data.get("type"), data["op"], data.get("value"))
        if kind is not None:
            values.check(kind, data["op"], data.get("value"))


class IdentifierCondition(Condition):
    kind = fields.String(required=True, validate=validate.OneOf(IDENTIFIER_KINDS))


class InteractionsCondition(Condition):
    channel = _one_or_many(CHANNELS)
    type = _one_or_many(INTERACTION_TYPES)
    direction = _one_or_many(DIRECTIONS)
    within_days = fields.Integer(strict=True, load_default=None, validate=validate.Range(min=1, max=MAX_DAYS))
    op = fields.String(required=True, validate=validate.OneOf(values.COUNT_OPS))
    value = fields.Raw(required=True)

    @validates_schema
    def _value(self, data, **_):
        values.check_count(data["op"], data["value"])


class LastInteractionCondition(Condition):
    channel = fields.String(load_default=None, validate=validate.OneOf(CHANNELS))
    op = fields.String(required=True)
    value = fields.Raw(load_default=None)

    @validates_schema
    def _value(self, data, **_):
        values.check("datetime", data["op"], data.get("value"))


class BoughtCondition(Condition):
    sku = fields.String(load_default=None, validate=validate.Length(min=1, max=100))
    category = fields.String(load_default=None, validate=validate.Length(min=1, max=100))
    within_days = fields.Integer(strict=True, load_default=None, validate=validate.Range(min=1, max=MAX_DAYS))

    @validates_schema
    def _what(self, data, **_):
        if (data.get("sku") is None) == (data.get("category") is None):
            raise ValidationError("give exactly one of sku or category", "sku")


class SpendCondition(Condition):
    within_days = fields.Integer(strict=True, load_default=None, validate=validate.Range(min=1, max=MAX_DAYS))
    currency = fields.String(
        load_default=None, validate=validate.Regexp(r"^[A-Z]{3}$", error="must be an ISO 4217 code such as USD")
    )
    op = fields.String(required=True, validate=validate.OneOf(values.COUNT_OPS))
    value = fields.Raw(required=True)

    @validates_schema
    def _value(self, data, **_):
        values.check_amount(data["op"], data["value"])


class NpsCondition(Condition):
    category = fields.String(required=True, validate=validate.OneOf(NPS_CATEGORIES))


class CsatCondition(Condition):
    at_most = fields.Float(required=True, allow_nan=False, validate=validate.Range(min=1, max=5))


class OpenCasesCondition(Condition):
    op = fields.String(required=True, validate=validate.OneOf(values.COUNT_OPS))
    value = fields.Raw(required=True)

    @validates_schema
    def _value(self, data, **_):
        values.check_count(data["op"], data["value"])


class JourneyStageCondition(Condition):
    op = fields.String(required=True, validate=validate.OneOf(("eq", "ne", "in", "exists")))
    value = fields.Raw(load_default=None)

    @validates_schema
    def _value(self, data, **_):
        values.check("string", data["op"], data.get("value"))


class SegmentCondition(Condition):
    segment_id = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))


CONDITIONS: dict[str, type[Condition]] = {
    "profile": ProfileCondition,
    "attribute": AttributeCondition,
    "identifier": IdentifierCondition,
    "interactions": InteractionsCondition,
    "last_interaction": LastInteractionCondition,
    "bought": BoughtCondition,
    "spend": SpendCondition,
    "nps": NpsCondition,
    "csat": CsatCondition,
    "open_cases": OpenCasesCondition,
    "journey_stage": JourneyStageCondition,
    "segment": SegmentCondition,
}
GROUPS = ("all", "any", "not")


class _Checker:
    """Walks a tree, validating each node; errors keyed by the JSON path of the bad node."""

    def __init__(self, segment_exists: Callable[[int], bool] | None):
        self.errors: dict[str, list] = {}
        self.nodes = 0
        self.segment_exists = segment_exists

    def fail(self, path: str, message) -> None:
        self.errors.setdefault(path, []).append(message)

    def node(self, data, path: str, depth: int):
        self.nodes += 1
        if self.nodes == MAX_NODES + 1:
            self.fail("$", f"a rule has at most {MAX_NODES} nodes")
        if depth > MAX_DEPTH:
            self.fail(path, f"nested deeper than {MAX_DEPTH} levels")
            return None
        if not isinstance(data, dict):
            self.fail(path, 'each node is an object: {"all": [...]}, {"any": [...]}, {"not": {...}} or a condition')
            return None
        groups = [k for k in GROUPS if k in data]
        if groups:
            return self.group(data, groups, path, depth)
        return self.condition(data, path)

    def group(self, data: dict, groups: list[str], path: str, depth: int):
        if len(data) != 1:
            self.fail(path, f"a {groups[0]!r} node has that one key and nothing else")
            return None
        key = groups[0]
        if key == "not":
            child = self.node(data["not"], f"{path}.not", depth + 1)
            return {"not": child}
        items = data[key]
        if not isinstance(items, list) or not items:
            self.fail(f"{path}.{key}", "must be a non-empty list of nodes")
            return None
        return {key: [self.node(item, f"{path}.{key}[{i}]", depth + 1) for i, item in enumerate(items)]}

    def condition(self, data: dict, path: str):
        kind = data.get("condition")
        if kind not in CONDITIONS:
            self.fail(f"{path}.condition", f"must be one of {', '.join(CONDITIONS)} (or use all / any / not)")
            return None
        try:
            loaded = CONDITIONS[kind]().load(data)
        except ValidationError as exc:
            for field, messages in _flat(exc.messages).items():
                for message in messages:
                    self.fail(f"{path}.{field}" if field != "_schema" else path, message)
            return None
        if kind == "segment" and self.segment_exists and not self.segment_exists(loaded["segment_id"]):
            self.fail(f"{path}.segment_id", f"no segment {loaded['segment_id']}")
        return {k: v for k, v in loaded.items() if v is not None}


def _flat(messages) -> dict[str, list]:
    if not isinstance(messages, dict):
        return {"_schema": list(messages) if isinstance(messages, list) else [messages]}
    out: dict[str, list] = {}
    for key, value in messages.items():
        if isinstance(value, dict):
            for sub, items in _flat(value).items():
                out[f"{key}.{sub}" if sub != "_schema" else str(key)] = items
        else:
            out[str(key)] = value if isinstance(value, list) else [value]
    return out


def validate_rule(data, *, segment_exists: Callable[[int], bool] | None = None) -> dict:
    """The rule as stored; raises ValidationError({"$.path": [message, ...]}) naming every bad node."""
    checker = _Checker(segment_exists)
    cleaned = checker.node(data, "$", 1)
    if checker.errors:
        raise ValidationError(checker.errors)
    return cleaned


def referenced_segments(rule: dict) -> set[int]:
    """Segment ids a stored rule reads the membership of (for cycle checks and deletes)."""
    return {sid for _, sid in segment_paths(rule)}


def segment_paths(rule: dict, path: str = "$") -> list[tuple[str, int]]:
    """(JSON path, segment id) of every segment condition in a stored rule."""
    for key in ("all", "any"):
        if key in rule:
            return [p for i, child in enumerate(rule[key]) for p in segment_paths(child, f"{path}.{key}[{i}]")]
    if "not" in rule:
        return segment_paths(rule["not"], f"{path}.not")
    return [(f"{path}.segment_id", rule["segment_id"])] if rule.get("condition") == "segment" else []


# --- lowering --------------------------------------------------------------------------------------


def lower(rule: dict, now: datetime) -> object:
    """A valid stored rule as tree nodes, with relative times resolved against `now`."""
    if "all" in rule:
        return all_of(*(lower(c, now) for c in rule["all"]))
    if "any" in rule:
        return any_of(*(lower(c, now) for c in rule["any"]))
    if "not" in rule:
        return negate(lower(rule["not"], now))
    return _LOWER[rule["condition"]](rule, now)


def _since(rule: dict, now: datetime) -> str | None:
    days = rule.get("within_days")
    return iso_ms(now - timedelta(days=days)) if days else None


def _set(value) -> frozenset | None:
    if value is None:
        return None
    return frozenset([value] if isinstance(value, str) else value)


def _interactions(rule: dict, now: datetime):
    window = Window(
        channels=_set(rule.get("channel")),
        types=_set(rule.get("type")),
        directions=_set(rule.get("direction")),
        since=_since(rule, now),
    )
    return compare_amount(window, "count", rule["op"], _int_value(rule["value"]))


def _int_value(value):
    return tuple(value) if isinstance(value, list) else value


def _spend(rule: dict, now: datetime):
    window = Window(
        purchases_only=True, currency=rule.get("currency") or values.base_currency(), since=_since(rule, now)
    )
    value = rule["value"]
    amount = (cents(value[0]), cents(value[1])) if isinstance(value, list) else cents(value)
    return compare_amount(window, "cents", rule["op"], amount)


def _bought(rule: dict, now: datetime):
    window = Window(purchases_only=True, sku=rule.get("sku"), category=rule.get("category"), since=_since(rule, now))
    return at_least(window, "count", 1)


def _attribute(rule: dict, now: datetime):
    kind = values.attribute_type(rule["key"], rule.get("type"), rule["op"], rule.get("value"))
    return values.compare(Attr(rule["key"], values.SLOTS.get(kind)), kind, rule["op"], rule.get("value"), now)


def _last_interaction(rule: dict, now: datetime):
    channel = rule.get("channel")
    target = Field(f"last_at.{channel}" if channel else "last_seen_at", "datetime")
    return values.compare(target, "datetime", rule["op"], rule.get("value"), now)


def _open_cases(rule: dict, now: datetime):
    return values.compare(Field("open_cases", "number"), "number", rule["op"], _int_value(rule["value"]), now)


_LOWER: dict[str, Callable] = {
    "profile": lambda r, now: values.compare(
        Field(r["field"], PROFILE_FIELDS[r["field"]]), PROFILE_FIELDS[r["field"]], r["op"], r.get("value"), now
    ),
    "attribute": _attribute,
    "identifier": lambda r, now: Has("identifiers", r["kind"]),
    "interactions": _interactions,
    "last_interaction": _last_interaction,
    "bought": _bought,
    "spend": _spend,
    "nps": lambda r, now: Cmp(Field("nps_category", "string"), "eq", r["category"]),
    "csat": lambda r, now: Cmp(Field("csat_score", "number"), "lte", float(r["at_most"])),
    "open_cases": _open_cases,
    "journey_stage": lambda r, now: values.compare(
        Field("journey_stage", "string"), "string", r["op"], r.get("value"), now
    ),
    "segment": lambda r, now: Has("segments", r["segment_id"]),
}

__all__ = ["CONDITIONS", "Const", "lower", "referenced_segments", "validate_rule"]
