"""The generic provider: canonical interactions posted as JSON, for every channel.

A body is one interaction or {"interactions": [...]}, taken as is (customer.attributes included):
the canonical schema is the contract, and `load_interactions` checks it after this. An email source
may instead post one raw message as message/rfc822, which the MIME adapter reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from crm.channels.adapters import email_mime
from crm.channels.adapters.shape import TEXT_MAX, clip, load_json
from crm.channels.signatures import media_type
from crm.errors import InvalidPayload, UnsupportedMediaType

if TYPE_CHECKING:
    from crm.channels.adapters import SourceInfo

MIME_TYPES = ("message/rfc822",)


def _is_json(kind: str) -> bool:
    # No Content-Type is read as JSON: curl without -H and many in-house senders post that way.
    return kind in ("", "application/json", "text/json") or kind.endswith("+json")


def parse(
    body: bytes,
    headers: Mapping[str, str],
    *,
    source: SourceInfo,
    received_at: datetime,
    form: Mapping[str, list[str]] | None = None,
) -> list[dict]:
    """JSON interactions, or one raw email (message/rfc822) for an email source.

    Raises UnsupportedMediaType for other content types, MalformedPayload for a body that is not
    JSON (or not MIME), InvalidPayload when it is JSON of the wrong shape.
    """
    kind = media_type(headers)
    if kind in MIME_TYPES:
        if source.channel != "email":
            raise UnsupportedMediaType(
                f"message/rfc822 is accepted by email sources only; {source.slug} is {source.channel}"
            )
        return email_mime.parse(body, headers, source=source, received_at=received_at)
    if not _is_json(kind):
        accepted = "application/json" + (" or message/rfc822" if source.channel == "email" else "")
        raise UnsupportedMediaType(f"Content-Type {kind!r} is not accepted here; send {accepted}")
    items = _items(load_json(body))
    return [_with_chat_text(item) if source.channel == "chat" else item for item in items]


def _items(document: Any) -> list[dict]:
    if isinstance(document, dict) and "interactions" in document:
        items = document["interactions"]
        if not isinstance(items, list):
            raise InvalidPayload(
                "interactions must be a list", errors={"interactions": ["must be a list of interactions"]}
            )
        wrong = {
            str(i): ["must be an interaction object"] for i, item in enumerate(items) if not isinstance(item, dict)
        }
        if wrong:
            raise InvalidPayload("every interaction must be an object", errors={"interactions": wrong})
        return items
    if isinstance(document, dict):
        return [document]
    raise InvalidPayload(
        'expected one interaction object or {"interactions": [...]}',
        errors={"_schema": ['expected one interaction object or {"interactions": [...]}']},
    )


def _with_chat_text(item: dict) -> dict:
    """A transcript without its own text gets the messages' text, so search and sentiment can read it."""
    data = item.get("data")
    messages = data.get("messages") if isinstance(data, dict) else None
    if item.get("text") or not isinstance(messages, list):
        return item
    lines = [
        f"{m.get('author')}: {m.get('text')}"
        for m in messages
        if isinstance(m, dict) and isinstance(m.get("text"), str) and m.get("text")
    ]
    return {**item, "text": clip("\n".join(lines), TEXT_MAX)} if lines else item
