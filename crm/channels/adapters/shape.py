"""Small pieces every adapter uses to shape a canonical dict: times, JSON bodies, trimming.

Adapters build plain dicts that `load_interactions` validates afterwards; these helpers keep the
dicts free of empty keys and within the schema's lengths, so a long email is clipped, not refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pycountry

from crm.errors import InvalidPayload, MalformedPayload

SUBJECT_MAX = 2000
TEXT_MAX = 1_000_000
NAME_MAX = 100
FULL_NAME_MAX = 200


def aware(moment: datetime) -> datetime:
    """`moment` with an offset; a naive time is taken as UTC (providers that omit it mean UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def rfc3339(moment: datetime) -> str:
    return aware(moment).isoformat()


def parse_iso(value: object) -> datetime | None:
    """An ISO 8601 / RFC 3339 string as an aware datetime, or None when it is not one."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return aware(datetime.fromisoformat(value))
    except ValueError:
        return None


def compact(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """A copy without None, "" and empty containers, so absent stays absent in the canonical dict."""
    return {k: v for k, v in mapping.items() if v is not None and v != "" and v != [] and v != {}}


def country_code(value: object) -> str | None:
    """An ISO 3166-1 alpha-2 code in upper case ('gb' -> 'GB'), or None for anything else: what the
    canonical schema accepts as an address's country, and what adapters pass on from a provider's field."""
    if not isinstance(value, str) or len(value.strip()) != 2:
        return None
    code = value.strip().upper()
    return code if pycountry.countries.get(alpha_2=code) is not None else None


def clip(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    return text if len(text) <= limit else text[: limit - 1] + "…"


def load_json(body: bytes) -> Any:
    """Strict JSON: UTF-8, no NaN/Infinity. Raises MalformedPayload naming what is wrong."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MalformedPayload(f"the body is not UTF-8: {exc.reason} at byte {exc.start}") from None
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise MalformedPayload(
            f"the body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except (ValueError, RecursionError) as exc:
        raise MalformedPayload(f"the body is not valid JSON: {exc}") from None
    # Valid UTF-8 holds neither NUL nor lone surrogates; only \u escapes can bring them in.
    return _scrub_tree(value) if "\\u" in text else value


def _scrub_tree(value: Any) -> Any:
    # Iterative, because a body nested as deep as json.loads allows would overflow a recursive walk.
    root = [value]
    stack: list[list | dict] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            items = list(node.items())
            node.clear()
            for key, item in items:
                node[scrub(key)] = scrub(item) if isinstance(item, str) else item
                if isinstance(item, dict | list):
                    stack.append(item)
        else:
            for index, item in enumerate(node):
                if isinstance(item, str):
                    node[index] = scrub(item)
                elif isinstance(item, dict | list):
                    stack.append(item)
    return root[0]


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def require_object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidPayload(
            f"expected {what} as a JSON object", errors={"_schema": [f"expected {what} as a JSON object"]}
        )
    return value


def text_or_none(value: Any) -> str | None:
    """A provider's scalar as a trimmed string; None for null, empty and non-scalars."""
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


# Labels a mislabelled UTF-8 message most often carries; valid UTF-8 under them is taken as UTF-8.
_OFTEN_MISLABELLED = frozenset(("us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1", "windows-1252", "cp1252"))


def decode_text(data: bytes, declared: str | None) -> str:
    """Bytes in a declared charset as text, never failing.

    The declared charset is tried first, except that non-ASCII bytes that are valid UTF-8 under an
    ASCII or Latin-1 label are UTF-8 (a multi-byte UTF-8 sequence is almost never real Latin-1 text).
    An unknown or wrong label falls back to UTF-8, then Windows-1252, then Latin-1, which decodes anything.
    """
    declared = (declared or "").strip().strip('"').lower() or None
    candidates = [declared] if declared else []
    if declared in _OFTEN_MISLABELLED and not data.isascii():
        candidates.insert(0, "utf-8")
    for charset in [*candidates, "utf-8", "windows-1252"]:
        try:
            return scrub(data.decode(charset))
        except (LookupError, UnicodeError, ValueError, TypeError):
            continue
    return scrub(data.decode("latin-1"))


def scrub(text: str) -> str:
    """Text safe to store: no NUL (PostgreSQL refuses it) and no lone surrogates (UTF-8 cannot hold them).

    Surrogates the email package made from undeclared 8-bit header bytes are decoded as text instead.
    """
    text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return decode_text(raw, None)
