"""The SQL compiler: a compiled tree as a WHERE clause on customers, for SQLite (embedded) and PostgreSQL.

It reads the tables themselves (customers, identifiers, attributes, interactions, memberships) with
the meaning of crm.segments.documents: an agent's pinned attribute over the channel's, strings folded
to lower case, behaviour over the most recent ACTIVITY_LIMIT interactions. Every piece is two-valued
(EXISTS, IN, or "value is not null and ..."), so `not` never meets SQL's NULL and agrees with the
evaluator. JSON is read with each dialect's own functions.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import (
    Float,
    Integer,
    Numeric,
    and_,
    case,
    cast,
    event,
    exists,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine

from crm.extensions import db
from crm.profiles.models import Customer, CustomerAttribute, Identifier, Interaction
from crm.segments.documents import ACTIVITY_LIMIT, recent_interactions
from crm.segments.models import SegmentMember
from crm.segments.tree import All, AnyOf, AtLeast, Attr, Cmp, Const, Field, Has, Not, Window

DATE_GLOB = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"


def _python_lower(value):
    return value.lower() if isinstance(value, str) else value


@event.listens_for(Engine, "connect")
def _sqlite_fold(dbapi_connection, _record) -> None:
    # SQLite's lower() folds ASCII only; the documents fold with Python's str.lower, so SQLite gets that.
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        dbapi_connection.create_function("crm_fold", 1, _python_lower, deterministic=True)


def _postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def fold(expr):
    if _postgres():
        return func.lower(expr)
    # Connections opened before this module was imported lack the function: give it to this session's.
    _sqlite_fold(db.session.connection().connection.driver_connection, None)
    return func.crm_fold(expr)


def compile_where(node):
    """A boolean SQL expression over `customers` (the caller adds status = 'active')."""
    if isinstance(node, Const):
        return true() if node.value else false()
    if isinstance(node, All):
        return and_(*(compile_where(c) for c in node.children))
    if isinstance(node, AnyOf):
        return or_(*(compile_where(c) for c in node.children))
    if isinstance(node, Not):
        return not_(compile_where(node.child))
    if isinstance(node, Has):
        return _has(node)
    if isinstance(node, Cmp):
        return _attribute(node) if isinstance(node.target, Attr) else _field(node)
    if isinstance(node, AtLeast):
        return _at_least(node)
    raise TypeError(f"not a rule node: {node!r}")


def _has(node: Has):
    if node.field == "identifiers":
        return exists().where(Identifier.customer_id == Customer.id, Identifier.kind == node.value)
    if node.field == "channels":
        return exists().where(Interaction.customer_id == Customer.id, Interaction.channel == node.value)
    if node.field == "segments":
        return exists().where(SegmentMember.customer_id == Customer.id, SegmentMember.segment_id == node.value)
    raise ValueError(f"unknown list field {node.field}")


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _field_expr(target: Field):
    if target.name.startswith("last_at."):
        channel = target.name.split(".", 1)[1]
        return (
            select(func.max(Interaction.occurred_at))
            .where(Interaction.customer_id == Customer.id, Interaction.channel == channel)
            .scalar_subquery()
        )
    if target.name == "nps_category":
        score = Customer.nps_score
        return case((score >= 9, "promoter"), (score >= 7, "passive"), (score.is_not(None), "detractor"), else_=None)
    column = getattr(Customer, target.name)
    return fold(column) if target.kind == "string" else column


def _predicate(expr, op: str, value):
    if op == "exists":
        return expr.is_not(None)
    if op == "eq":
        return expr == value
    if op == "in":
        return expr.in_(list(value))
    if op == "contains":
        escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return expr.like(f"%{escaped}%", escape="\\")
    return {"lt": expr < value, "lte": expr <= value, "gt": expr > value, "gte": expr >= value}[op]


def _field(node: Cmp):
    expr = _field_expr(node.target)
    op, value = node.op, node.value
    if node.target.kind == "datetime" and op != "exists":
        value = _instant(value)
        # The index and the evaluator hold times to the millisecond; the database to the microsecond.
        # "after v" there means at or after the next millisecond here (and "at most v", before it).
        if op in ("gt", "lte"):
            op, value = ("gte" if op == "gt" else "lt"), value + timedelta(milliseconds=1)
    return and_(expr.is_not(None), _predicate(expr, op, value))


# --- attributes: the effective row's JSON value, read as the slot's type ---------------------------


def _location(key: str) -> tuple[str, list[str]]:
    """The attribute row key and the JSON path inside its value for a condition key."""
    if key.startswith("address."):
        return "address", [key.split(".", 1)[1]]
    if key.startswith("consent."):
        return key, ["granted"]
    return key, []


def _json_parts(value, path: list[str]):
    """(type name, text) of the JSON at path, in each dialect's spelling."""
    if _postgres():
        pg_path = literal_column("'{" + ",".join(path) + "}'::text[]")
        return func.jsonb_typeof(value.op("#>")(pg_path)), value.op("#>>")(pg_path)
    sqlite_path = "$" + "".join(f".{p}" for p in path)
    return func.json_type(value, sqlite_path), func.json_extract(value, sqlite_path)


def _typed(value, path: list[str], slot: str | None):
    kind, text = _json_parts(value, path)
    pg = _postgres()
    string, number = ("string", ("number",)) if pg else ("text", ("integer", "real"))
    if slot is None:
        return kind.in_([string, *number, *(("boolean",) if pg else ("true", "false"))])
    if slot == "s":
        return case((kind == string, fold(text)), else_=None)
    if slot == "n":
        return case((kind.in_(number), cast(text, Float)), else_=None)
    if slot == "b":
        if pg:
            return case((kind == "boolean", text == "true"), else_=None)
        return case((kind.in_(("true", "false")), kind == "true"), else_=None)
    date_like = text.op("~")(r"^\d{4}-\d{2}-\d{2}$") if pg else text.op("GLOB")(DATE_GLOB)
    return case((and_(kind == string, date_like), text), else_=None)


def _attribute(node: Cmp):
    key, path = _location(node.target.key)
    row = CustomerAttribute.__table__.alias("attr")
    agent = CustomerAttribute.__table__.alias("pinned")
    effective = or_(
        row.c.origin == "agent",
        ~exists().where(agent.c.customer_id == row.c.customer_id, agent.c.key == row.c.key, agent.c.origin == "agent"),
    )
    typed = _typed(row.c.value, path, node.target.slot)
    condition = typed if node.target.slot is None else and_(typed.is_not(None), _predicate(typed, node.op, node.value))
    return exists().where(row.c.customer_id == Customer.id, row.c.key == key, effective, condition)


# --- behaviour: counts and sums over the most recent interactions ---------------------------------


def _data_text(data, name: str):
    return data.op("->>")(name) if _postgres() else func.json_extract(data, f"$.{name}")


def _refund(data):
    if _postgres():
        return case(
            (func.jsonb_typeof(data.op("->")("refund")) == "boolean", data.op("->>")("refund") == "true"), else_=False
        )
    return func.coalesce(func.json_type(data, "$.refund") == "true", False)


def _has_item(data, field: str, value: str):
    if _postgres():
        wanted = cast(literal(json.dumps([{field: value}])), JSONB)
        return data.op("->")("items").op("@>")(wanted)
    items = func.json_each(data, "$.items").table_valued("value").alias("item")
    return exists().select_from(items).where(func.json_extract(items.c.value, f"$.{field}") == value)


def _cents(data):
    text = _data_text(data, "total")
    if _postgres():
        numeric = case(
            (
                func.jsonb_typeof(data.op("->")("total")).in_(("string", "number")),
                cast(text, Numeric),
            ),
            else_=None,
        )
        return func.greatest(func.round(numeric * 100), 0)
    return func.max(cast(func.round(cast(text, Float) * 100), Integer), 0)


def window_conditions(recent, window: Window) -> list:
    out = []
    for column, chosen in ((recent.c.channel, window.channels), (recent.c.type, window.types)):
        if chosen is not None:
            out.append(column.in_(sorted(chosen)))
    if window.directions is not None:
        out.append(recent.c.direction.in_(sorted(window.directions)))
    if window.since is not None:
        out.append(recent.c.occurred_at >= _instant(window.since))
    data = recent.c.data
    if window.purchases_only:
        out.extend([recent.c.type == "purchase", not_(_refund(data))])
    if window.currency is not None:
        base = current_app.config["BASE_CURRENCY"]
        out.append(func.coalesce(func.nullif(_data_text(data, "currency"), ""), base) == window.currency)
    if window.sku is not None:
        out.append(_has_item(data, "sku", window.sku))
    if window.category is not None:
        out.append(_has_item(data, "category", window.category))
    return out


def _at_least(node: AtLeast):
    recent = recent_interactions(None)
    measure = func.count() if node.measure == "count" else func.coalesce(func.sum(_cents(recent.c.data)), 0)
    qualifying = (
        select(recent.c.customer_id)
        .where(recent.c.rn <= ACTIVITY_LIMIT, *window_conditions(recent, node.window))
        .group_by(recent.c.customer_id)
        .having(measure >= node.k)
    )
    return Customer.id.in_(qualifying)
