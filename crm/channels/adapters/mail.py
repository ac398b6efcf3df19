"""What makes a message an email interaction, whatever carried it (raw MIME or a Mailgun post).

Both email adapters gather the same facts (sender, recipients, subject, text, threading ids,
attachments) and hand them here: the direction comes from the source's own addresses, the customer is
the party that is not the business, and the thread is rooted at the first message it references.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.header import decode_header, make_header
from email.utils import getaddresses
from typing import Any

from crm.channels.adapters.shape import FULL_NAME_MAX, NAME_MAX, SUBJECT_MAX, TEXT_MAX, clip, compact, rfc3339
from crm.errors import InvalidPayload

EXTERNAL_ID_MAX = 255
MAX_REFERENCES = 50
_MSG_ID = re.compile(r"<[^<>\s]+>")
_HONORIFICS = frozenset(("mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "madam"))
_SUFFIXES = frozenset(("jr", "sr", "ii", "iii", "iv", "phd", "md", "esq"))


@dataclass(frozen=True)
class Mailbox:
    email: str
    name: str | None = None

    def as_data(self) -> dict[str, str]:
        return compact({"email": self.email, "name": self.name})


@dataclass
class MailFacts:
    """An email as both adapters see it, before it is shaped into a canonical interaction."""

    sender: Mailbox | None
    to: list[Mailbox]
    cc: list[Mailbox]
    subject: str | None
    text: str | None
    occurred_at: datetime
    message_id: str | None
    in_reply_to: list[str]
    references: list[str]
    attachments: list[dict[str, Any]]
    content_hash: str  # "sha256:..." of what identifies this message when it has no Message-ID
    extra: dict[str, Any] = field(default_factory=dict)


def decode_words(value: str) -> str:
    """RFC 2047 encoded words decoded; a value that cannot be decoded is kept as given."""
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except (ValueError, LookupError, UnicodeError):
        return value


def mailboxes(values: Iterable[str]) -> list[Mailbox]:
    """The addresses in header values such as 'Ana <ana@x.es>, "Doe, J" <j@d.org>' (invalid ones dropped)."""
    found: list[Mailbox] = []
    for name, address in getaddresses([v for v in values if v]):
        address = address.strip().strip("<>")
        if "@" not in address or " " in address:
            continue
        name = decode_words(name).strip().strip('"').strip() or None
        found.append(Mailbox(address, None if name and name.lower() == address.lower() else name))
    return found


def message_ids(value: str | None) -> list[str]:
    """The msg-ids in a Message-ID, In-Reply-To or References value, in order."""
    if not value:
        return []
    ids = _MSG_ID.findall(value) or value.split()
    return [i for i in ids if len(i) <= 998]


def split_name(display: str | None) -> tuple[str | None, str | None]:
    """First and last name from an email display name.

    'Ana María López' -> ('Ana', 'María López'); 'López, Ana' -> ('Ana', 'López'); honorifics and
    suffixes are dropped; a one-word name is a first name. Chinese, Japanese and Korean names are
    written family name first ('山田 太郎' -> ('太郎', '山田')), and one written without a space is
    not split: where the family name ends is not ours to guess.
    """
    if not display or "@" in display:
        return None, None
    display = " ".join(display.replace('"', " ").split())
    before, comma, after = display.partition(",")
    if comma and after.strip().strip(".").lower() in _SUFFIXES:
        display = before  # "Jane Doe, PhD"
    elif comma and before.strip() and after.strip():
        return clip(after.strip(), NAME_MAX), clip(before.strip(), NAME_MAX)
    tokens = [t for t in display.split() if t.strip(".").lower() not in _HONORIFICS | _SUFFIXES]
    if not tokens or (len(tokens) == 1 and _is_unspaced_script(tokens[0])):
        return None, None
    if len(tokens) == 1:
        return clip(tokens[0], NAME_MAX), None
    if len(tokens) == 2 and all(_is_unspaced_script(t) for t in tokens):
        return clip(tokens[1], NAME_MAX), clip(tokens[0], NAME_MAX)
    return clip(tokens[0], NAME_MAX), clip(" ".join(tokens[1:]), NAME_MAX)


def _is_unspaced_script(word: str) -> bool:
    return any(unicodedata.name(ch, "").startswith(("CJK", "HIRAGANA", "KATAKANA", "HANGUL")) for ch in word)


def is_own(address: str, settings: Mapping[str, Any]) -> bool:
    """Whether `address` belongs to the business: listed in own_addresses, or at one of own_domains."""
    address = address.lower()
    own_addresses = {a.lower() for a in settings.get("own_addresses") or [] if isinstance(a, str)}
    if address in own_addresses:
        return True
    domain = address.rpartition("@")[2]
    for own in settings.get("own_domains") or []:
        own = str(own).lower().lstrip("@")
        if own and (domain == own or domain.endswith("." + own)):
            return True
    return False


def _parties(facts: MailFacts, settings: Mapping[str, Any]) -> tuple[str, Mailbox]:
    if facts.sender is None:
        raise InvalidPayload("the message has no From address", errors={"from": ["a message needs a From address"]})
    if not is_own(facts.sender.email, settings):
        return "inbound", facts.sender
    for recipient in [*facts.to, *facts.cc]:
        if not is_own(recipient.email, settings):
            return "outbound", recipient
    raise InvalidPayload(
        "the message is from the business to the business only",
        errors={"to": ["no recipient outside the source's own addresses and domains; no customer to attach it to"]},
    )


def customer_of(mailbox: Mailbox) -> dict[str, Any]:
    first, last = split_name(mailbox.name)
    attributes = compact({"first_name": first, "last_name": last})
    # "Doe, Jane" is shown as people say it, so one person's name reads the same from every channel.
    name = f"{first} {last}" if first and last and "," in (mailbox.name or "") else mailbox.name
    return compact({"email": mailbox.email, "name": clip(name, FULL_NAME_MAX), "attributes": attributes})


def external_id_for(message_id: str | None, content_hash: str) -> str:
    if not message_id:
        return content_hash
    if len(message_id) > EXTERNAL_ID_MAX:
        return "sha256:" + hashlib.sha256(message_id.encode("utf-8", "surrogateescape")).hexdigest()
    return message_id


def _bounded(references: list[str]) -> list[str]:
    # The first reference is the thread's root and the last ones the nearest parents; the middle of
    # a very long chain carries nothing the timeline uses.
    if len(references) <= MAX_REFERENCES:
        return references
    return [references[0], *references[-(MAX_REFERENCES - 1) :]]


def to_interaction(facts: MailFacts, settings: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical interaction for one email."""
    direction, customer = _parties(facts, settings)
    references = _bounded(facts.references)
    in_reply_to = facts.in_reply_to[0] if facts.in_reply_to else None
    thread_id = (references[:1] or [in_reply_to or facts.message_id or external_id_for(None, facts.content_hash)])[0]
    # One newline convention for every email, whether it came as CRLF MIME or as a form field.
    full_text = facts.text.replace("\r\n", "\n").replace("\r", "\n") if facts.text else facts.text
    text = clip(full_text, TEXT_MAX)
    data = compact(
        {
            "from": facts.sender.as_data() if facts.sender else None,
            "to": [m.as_data() for m in facts.to],
            "cc": [m.as_data() for m in facts.cc],
            "message_id": facts.message_id,
            "in_reply_to": in_reply_to,
            "references": references,
            "thread_id": thread_id,
            "attachments": facts.attachments,
            "text_truncated": True
            if text is not None and facts.text is not None and len(text) < len(facts.text)
            else None,
            **facts.extra,
        }
    )
    return compact(
        {
            "external_id": external_id_for(facts.message_id, facts.content_hash),
            "occurred_at": rfc3339(facts.occurred_at),
            "type": "message",
            "direction": direction,
            "customer": customer_of(customer),
            "subject": clip(" ".join(facts.subject.split()), SUBJECT_MAX) if facts.subject else None,
            "text": text,
            "data": data,
        }
    )
