"""Any canonical dict made storable before it is validated, whoever built it (webhook, adapter, demo, agent).

PostgreSQL refuses NUL in text and JSON, UTF-8 cannot hold lone surrogates, JSON has no Infinity or
NaN (and `1e400` parses as infinity); a value that slips through any of them would fail the insert
with a 500. `load_interactions` runs every item through `storable` before the schema.
"""

from __future__ import annotations

import math

from crm.channels.adapters.shape import scrub

# Deeper than this is no channel detail anyone reads, and deep trees cost stack in every JSON encoder.
MAX_DEPTH = 32


def storable(item: object) -> tuple[object, dict]:
    """A copy of `item` the database can hold, and the errors that stop it from being stored.

    Strings lose NUL (PostgreSQL refuses it in text and JSON) and lone surrogates (UTF-8 cannot
    encode them). Errors, keyed like marshmallow's, name each place with a non-finite number (JSON
    has no Infinity or NaN, and `1e400` parses as one) or nesting deeper than MAX_DEPTH.
    """
    errors: dict = {}
    root: list = [None]
    # Iterative: a tree as deep as json.loads allows would overflow a recursive walk.
    stack: list[tuple[object, list | dict, object, tuple]] = [(item, root, 0, ())]
    while stack:
        value, parent, slot, path = stack.pop()
        if isinstance(value, str):
            parent[slot] = scrub(value)
        elif isinstance(value, float) and not math.isfinite(value):
            parent[slot] = value  # kept, so that the schema's own message for the field can join this one
            _add_error(errors, path, "must be a finite number")
        elif isinstance(value, dict | list) and len(path) >= MAX_DEPTH:
            _add_error(errors, path, f"nested deeper than {MAX_DEPTH} levels")
        elif isinstance(value, dict):
            parent[slot] = copy = {}
            for key, child in value.items():
                name = scrub(key) if isinstance(key, str) else key
                copy[name] = None
                stack.append((child, copy, name, (*path, str(name))))
        elif isinstance(value, list):
            parent[slot] = copy = [None] * len(value)
            stack.extend((child, copy, index, (*path, str(index))) for index, child in enumerate(value))
        else:
            parent[slot] = value
    return root[0], errors


def merge_errors(first: dict, second: dict) -> dict:
    """Two marshmallow-style error trees as one; a place named by both keeps each message once."""
    merged = dict(first)
    for key, value in second.items():
        mine = merged.get(key)
        if isinstance(mine, dict) and isinstance(value, dict):
            merged[key] = merge_errors(mine, value)
        elif isinstance(mine, list) and isinstance(value, list):
            merged[key] = mine + [m for m in value if m not in mine]
        elif mine is None:
            merged[key] = value
    return merged


def _add_error(errors: dict, path: tuple, message: str) -> None:
    if not path:
        errors.setdefault("_schema", []).append(message)
        return
    node = errors
    for key in path[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):  # a message already stands here; one per place is enough
            return
    leaf = node.setdefault(path[-1], [])
    if isinstance(leaf, list):
        leaf.append(message)
