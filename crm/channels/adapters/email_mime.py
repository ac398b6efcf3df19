"""Raw RFC 5322 / MIME messages (Content-Type message/rfc822 posted to a generic email source).

Parsed with the standard library's `email` package (policy.default): RFC 2047 headers, the text/plain
body or else text from the HTML one, attachments described (name, type, size) but not stored inline,
threading ids. Real-world mail lies about its charsets and breaks its headers; nothing here trusts a
label or lets a bad header stop the message from being read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from datetime import datetime
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from typing import TYPE_CHECKING, Any

from crm.channels.adapters.htmltext import html_to_text
from crm.channels.adapters.mail import Mailbox, MailFacts, decode_words, mailboxes, message_ids, to_interaction
from crm.channels.adapters.shape import aware, decode_text, scrub
from crm.errors import MalformedPayload

if TYPE_CHECKING:
    from crm.channels.adapters import SourceInfo

MAX_ATTACHMENTS = 200
MAX_DEPTH = 30


def parse(
    body: bytes,
    headers: Mapping[str, str],
    *,
    source: SourceInfo,
    received_at: datetime,
    form: Mapping[str, list[str]] | None = None,
) -> list[dict]:
    """One raw email -> one message interaction (inbound, or outbound when From is the business's own).

    Raises MalformedPayload when the body is not an email at all, InvalidPayload when it has no From
    or no party outside the business.
    """
    message = read_message(body)
    body_part, text, body_format = _body_text(message)
    to, cc = _addresses(message, "To"), _addresses(message, "Cc")
    facts = MailFacts(
        sender=next(iter(_addresses(message, "From") or _addresses(message, "Sender")), None),
        to=to,
        cc=cc,
        subject=_header(message, "Subject"),
        text=text,
        occurred_at=_date(message) or aware(received_at),
        message_id=next(iter(message_ids(_header(message, "Message-ID"))), None),
        in_reply_to=message_ids(_header(message, "In-Reply-To")),
        references=message_ids(_header(message, "References")),
        attachments=_attachments(message, body_part),
        content_hash="sha256:" + hashlib.sha256(body).hexdigest(),
        extra={"body_format": body_format},
    )
    return [to_interaction(facts, source.settings)]


def read_message(body: bytes) -> EmailMessage:
    """The parsed message; MalformedPayload when the bytes have no header section."""
    if not body.strip():
        raise MalformedPayload("the body is empty, not an email message")
    try:
        message = BytesParser(policy=policy.default).parsebytes(body)
    except RecursionError:
        raise MalformedPayload(
            f"the message nests its MIME parts too deeply (at most {MAX_DEPTH} levels are read)"
        ) from None
    if not message.keys():
        raise MalformedPayload("the body is not an RFC 5322 message: it does not start with headers")
    return message  # type: ignore[return-value]


def _raw_header(message: Message, name: str) -> str | None:
    wanted = name.lower()
    for key, value in message.raw_items():
        if key.lower() == wanted:
            return value if isinstance(value, str) else str(value)
    return None


def _header(message: Message, name: str) -> str | None:
    """A header's decoded value (RFC 2047 words decoded, 8-bit bytes decoded), or None."""
    try:
        value = message.get(name)
        text = None if value is None else str(value)
    except Exception:  # the stdlib header parser has crash bugs on hostile input
        raw = _raw_header(message, name)
        text = None if raw is None else decode_words(" ".join(raw.split()))
    text = scrub(text).strip() if text is not None else None
    return text or None


def _addresses(message: Message, name: str) -> list[Mailbox]:
    try:
        value = message.get(name)
        if value is None:
            return []
        found = [
            Mailbox(scrub(a.addr_spec), scrub(a.display_name) or None)
            for a in getattr(value, "addresses", ())
            if a.username and a.domain
        ]
        if found or not str(value).strip():
            return found
    except Exception:  # as above; fall back to the lenient parser on the raw value
        pass
    raw = _raw_header(message, name)
    return [Mailbox(scrub(m.email), scrub(m.name) if m.name else None) for m in mailboxes([raw or ""])]


def _date(message: Message) -> datetime | None:
    try:
        value = message.get("Date")
        moment = getattr(value, "datetime", None)
    except Exception:  # a broken Date is the same as no Date: the receipt time is used
        return None
    return aware(moment) if isinstance(moment, datetime) else None


def part_text(part: Message) -> str:
    """A text part's content, decoded from its transfer encoding and its (possibly wrong) charset."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # a broken base64 or quoted-printable body reads as empty
        payload = None
    if not isinstance(payload, bytes):
        return ""
    try:
        charset = part.get_content_charset()
    except Exception:  # a parameter the stdlib cannot parse
        charset = None
    return decode_text(payload, charset)


def _body_text(message: EmailMessage) -> tuple[Message | None, str | None, str | None]:
    """(the body part, its text, "plain" or "html"): text/plain first, else the HTML as text."""
    for kind in ("plain", "html"):
        try:
            part = message.get_body(preferencelist=(kind,))
        except Exception:  # a structure get_body cannot walk has no body we can find
            part = None
        if part is None:
            continue
        text = part_text(part)
        if kind == "html":
            text = html_to_text(text)
        if text.strip():
            return part, text.strip(), kind
    return None, None, None


def _leaves(part: Message, depth: int = 0) -> Iterator[Message]:
    # Real mail nests a handful of levels; deeper parts are hostile input and are not described.
    if part.get_content_maintype() == "multipart" and part.is_multipart():
        if depth >= MAX_DEPTH:
            return
        for sub in part.get_payload():
            if isinstance(sub, Message):
                yield from _leaves(sub, depth + 1)
    else:
        yield part


def _is_attachment(part: Message) -> bool:
    # Text parts without a filename are the body or its alternatives; everything else the sender attached.
    disposition = (part.get_content_disposition() or "").lower()
    return not (part.get_content_maintype() == "text" and disposition != "attachment" and not _filename(part))


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:  # a parameter the stdlib cannot parse
        name = None
    if not name:
        return None
    return scrub(decode_words(str(name))).strip() or None


def _size(part: Message) -> int:
    try:
        if part.get_content_maintype() == "message" and part.is_multipart():
            return sum(len(m.as_bytes()) for m in part.get_payload() if isinstance(m, Message))
        payload = part.get_payload(decode=True)
    except Exception:  # a size we cannot compute is reported as 0, not as a failure
        return 0
    return len(payload) if isinstance(payload, bytes) else 0


def _attachments(message: EmailMessage, body_part: Message | None) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for part in _leaves(message):
        if part is body_part or not _is_attachment(part):
            continue
        inline = (part.get_content_disposition() or "").lower() == "inline"
        content_id = _header(part, "Content-ID")
        entry = {"filename": _filename(part), "content_type": part.get_content_type(), "size": _size(part)}
        entry.update({"inline": True} if inline else {})
        entry.update({"content_id": content_id} if content_id else {})
        found.append({k: v for k, v in entry.items() if v is not None})
        if len(found) >= MAX_ATTACHMENTS:
            break
    return found
