"""The compiled form of a rule tree: a few node types that the three back ends share.

`crm.segments.rules` validates the JSON a marketer writes and lowers it to these nodes, with every
relative time ("within the last 30 days") already turned into an instant from one `now`. The
Elasticsearch compiler, the SQL compiler and the in-memory evaluator each walk these nodes, so the
meaning of a condition is decided once, in the lowering, and the back ends only translate.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Const:
    value: bool


@dataclass(frozen=True)
class All:
    children: tuple


@dataclass(frozen=True)
class AnyOf:
    children: tuple


@dataclass(frozen=True)
class Not:
    child: object


@dataclass(frozen=True)
class Field:
    """A profile field of segment_fields: kind string (lower-cased), number or datetime (ISO ms string)."""

    name: str
    kind: str


@dataclass(frozen=True)
class Attr:
    """An effective attribute; slot s (lower-cased string), n (number), b (boolean), d (YYYY-MM-DD) or None (any)."""

    key: str
    slot: str | None


@dataclass(frozen=True)
class Cmp:
    """target op value, with op one of eq, in, contains, exists, lt, lte, gt, gte. A missing value never matches."""

    target: Field | Attr
    op: str
    value: object = None


@dataclass(frozen=True)
class Has:
    """A list field (identifiers, channels, segments) holds value."""

    field: str
    value: object


@dataclass(frozen=True)
class Window:
    """Which activity entries count: each set None means any; since is an ISO ms instant (inclusive)."""

    channels: frozenset | None = None
    types: frozenset | None = None
    directions: frozenset | None = None
    since: str | None = None
    sku: str | None = None
    category: str | None = None
    purchases_only: bool = False  # purchases that are not refunds
    currency: str | None = None


@dataclass(frozen=True)
class AtLeast:
    """The entries in the window number (measure count) or sum to (measure cents) at least k, k >= 1."""

    window: Window
    measure: str
    k: int


def all_of(*children) -> object:
    flat = [c for c in children if c != Const(True)]
    if any(c == Const(False) for c in flat):
        return Const(False)
    if not flat:
        return Const(True)
    return flat[0] if len(flat) == 1 else All(tuple(flat))


def any_of(*children) -> object:
    flat = [c for c in children if c != Const(False)]
    if any(c == Const(True) for c in flat):
        return Const(True)
    if not flat:
        return Const(False)
    return flat[0] if len(flat) == 1 else AnyOf(tuple(flat))


def negate(child) -> object:
    if isinstance(child, Const):
        return Const(not child.value)
    if isinstance(child, Not):
        return child.child
    return Not(child)


def at_least(window: Window, measure: str, k: int) -> object:
    """k <= 0 always holds: an empty window still counts to zero."""
    return Const(True) if k <= 0 else AtLeast(window, measure, k)


def compare_amount(window: Window, measure: str, op: str, value) -> object:
    """A count or a sum in cents compared with op, written with `at least` only (the one thing the index can do)."""
    if op == "between":
        low, high = value
        return all_of(at_least(window, measure, low), negate(at_least(window, measure, high + 1)))
    n = value
    return {
        "gte": lambda: at_least(window, measure, n),
        "gt": lambda: at_least(window, measure, n + 1),
        "lt": lambda: negate(at_least(window, measure, n)),
        "lte": lambda: negate(at_least(window, measure, n + 1)),
        "eq": lambda: all_of(at_least(window, measure, n), negate(at_least(window, measure, n + 1))),
        "ne": lambda: negate(all_of(at_least(window, measure, n), negate(at_least(window, measure, n + 1)))),
    }[op]()


def segment_refs(node) -> set[int]:
    """The segments a compiled tree reads the membership of."""
    if isinstance(node, (All, AnyOf)):
        return set().union(*(segment_refs(c) for c in node.children)) if node.children else set()
    if isinstance(node, Not):
        return segment_refs(node.child)
    if isinstance(node, Has) and node.field == "segments":
        return {int(node.value)}
    return set()
