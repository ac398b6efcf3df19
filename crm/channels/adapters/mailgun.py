"""Mailgun inbound-route posts (a route's forward() to our webhook) -> one email interaction.

Mailgun has already parsed the message into UTF-8 form fields (form-encoded, or multipart when the
message has attachments). Its headers arrive both as fields of their own (`Message-Id`, `References`)
and as `message-headers`, a JSON list of [name, value] pairs; the fields win, the list fills gaps.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from crm.channels.adapters.htmltext import html_to_text
from crm.channels.adapters.mail import MailFacts, decode_words, mailboxes, message_ids, to_interaction
from crm.channels.adapters.shape import aware, scrub
from crm.channels.signatures import Form, read_form
from crm.errors import InvalidPayload

if TYPE_CHECKING:
    from crm.channels.adapters import SourceInfo


class _Fields:
    """A Mailgun post's values by name: its own fields first, then `message-headers`, case-insensitively."""

    def __init__(self, form: Form) -> None:
        self.form = form
        self._lower = {k.lower(): v for k, v in form.fields.items()}
        self._headers = _message_headers(form.first("message-headers"))

    def get(self, *names: str) -> str | None:
        for name in names:
            values = self.form.fields.get(name) or self._lower.get(name.lower())
            if values and values[0].strip():
                return scrub(values[0])
        for name in names:
            value = self._headers.get(name.lower())
            if value:
                return scrub(value)
        return None


def _message_headers(raw: str | None) -> dict[str, str]:
    if not raw:
        return {}
    try:
        pairs = json.loads(raw)
    except (ValueError, RecursionError):
        pairs = None
    if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 for p in pairs):
        raise InvalidPayload(
            "message-headers is not Mailgun's list of headers",
            errors={"message-headers": ["must be a JSON list of [name, value] pairs"]},
        )
    headers: dict[str, str] = {}
    for name, value in pairs:
        # The first occurrence wins, as with a message's own headers (Received is repeated, top first).
        headers.setdefault(str(name).lower(), decode_words(str(value)))
    return headers


def parse(
    body: bytes,
    headers: Mapping[str, str],
    *,
    source: SourceInfo,
    received_at: datetime,
    form: Mapping[str, list[str]] | None = None,
) -> list[dict]:
    """One routed message -> one message interaction (inbound, or outbound from the business's own address).

    Raises MalformedPayload for a body that is not a form, InvalidPayload when the post has no
    sender or no party outside the business, or a message-headers field that is not JSON pairs.
    """
    fields = _Fields(read_form(body, headers, form))
    sender = mailboxes([fields.get("from", "From") or fields.get("sender") or ""])
    to = mailboxes([fields.get("To") or fields.get("recipient") or ""])
    text, body_format, stripped = _text(fields)
    facts = MailFacts(
        sender=sender[0] if sender else None,
        to=to,
        cc=mailboxes([fields.get("Cc") or ""]),
        subject=fields.get("subject", "Subject"),
        text=text,
        occurred_at=_date(fields) or aware(received_at),
        message_id=next(iter(message_ids(fields.get("Message-Id", "Message-ID"))), None),
        in_reply_to=message_ids(fields.get("In-Reply-To")),
        references=message_ids(fields.get("References")),
        attachments=_attachments(fields),
        content_hash=_content_hash(fields),
        extra={
            "recipient": fields.get("recipient"),
            "envelope_sender": fields.get("sender"),
            "body_format": body_format,
            "quoted_text_stripped": True if stripped else None,
        },
    )
    return [to_interaction(facts, source.settings)]


def _text(fields: _Fields) -> tuple[str | None, str | None, bool]:
    """(text, "plain" or "html", whether quoted replies were stripped by Mailgun).

    Mailgun's stripped-text is the new part of a reply without the quoted thread and signature; the
    thread is already on the timeline, so it is the text kept when Mailgun found one.
    """
    for name, kind, stripped in (("stripped-text", "plain", True), ("body-plain", "plain", False)):
        value = fields.get(name)
        if value and value.strip():
            return value.strip(), kind, stripped
    html = fields.get("stripped-html") or fields.get("body-html")
    if html and (text := html_to_text(html)):
        return text, "html", False
    return None, None, False


def _date(fields: _Fields) -> datetime | None:
    value = fields.get("Date")
    if value:
        try:
            return aware(parsedate_to_datetime(value))
        except (TypeError, ValueError, IndexError, OverflowError):
            pass
    # Without a Date header, Mailgun's own timestamp is when the message reached Mailgun.
    stamp = fields.get("timestamp")
    if stamp and stamp.isascii() and stamp.isdigit() and len(stamp) <= 11:
        return datetime.fromtimestamp(int(stamp), UTC)
    return None


def _attachments(fields: _Fields) -> list[dict[str, Any]]:
    """Uploaded attachment-N files, described; inline ones marked through content-id-map."""
    inline = {}
    raw_map = fields.get("content-id-map")
    if raw_map:
        try:
            cid_map = json.loads(raw_map)
        except (ValueError, RecursionError):
            cid_map = {}
        if isinstance(cid_map, dict):
            inline = {str(field): str(cid) for cid, field in cid_map.items()}
    found = []
    for part in fields.form.files:
        if not part.field.startswith("attachment"):
            continue
        entry: dict[str, Any] = {"filename": part.filename, "content_type": part.content_type, "size": part.size}
        if part.field in inline:
            entry.update(inline=True, content_id=inline[part.field])
        found.append({k: v for k, v in entry.items() if v is not None})
    return found


def _content_hash(fields: _Fields) -> str:
    # Without a Message-Id, what identifies the message is its content, not the post: a retry of the
    # same message carries a new token and timestamp but the same headers and body.
    parts = [fields.get(n) or "" for n in ("from", "recipient", "subject", "Date", "body-plain")]
    return "sha256:" + hashlib.sha256("\x1f".join(parts).encode("utf-8", "replace")).hexdigest()
