"""Twilio Voice status callbacks (form-encoded) -> one call interaction per finished call.

Twilio posts a callback for each call event it was asked to report (initiated, ringing, answered,
completed...). Only a final status is a call worth a timeline entry; CallSid is its idempotency key,
so Twilio's retries and the events before the final one store nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from crm.channels.adapters.shape import FULL_NAME_MAX, aware, clip, compact, country_code, rfc3339
from crm.channels.signatures import Form, read_form
from crm.errors import InvalidPayload

if TYPE_CHECKING:
    from crm.channels.adapters import SourceInfo

FINAL_STATUSES = ("completed", "busy", "no-answer", "failed", "canceled")
INTERMEDIATE_STATUSES = ("queued", "initiated", "ringing", "in-progress", "answered")
# A withheld caller ID arrives as a word or as that word spelled on a phone keypad (+266696687 is
# ANONYMOUS). Taking one for a phone number would merge every withheld caller into one customer.
_WITHHELD = frozenset(("anonymous", "restricted", "unknown", "blocked", "unavailable", "private"))
_WITHHELD_KEYPAD = frozenset(("266696687", "7378742833", "8656696", "2562533", "86282452253"))
_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-.]{4,30}$")


def parse(
    body: bytes,
    headers: Mapping[str, str],
    *,
    source: SourceInfo,
    received_at: datetime,
    form: Mapping[str, list[str]] | None = None,
) -> list[dict]:
    """A finished call -> [one call interaction]; anything else -> [].

    Returns [] for an intermediate status (queued, initiated, ringing, in-progress), for a call whose
    customer side has no phone number (withheld caller ID, a Twilio Client or SIP endpoint), for a leg whose
    customer side is one of the source's `own_numbers` (an agent's phone a call was forwarded to).
    Raises InvalidPayload when CallSid, CallStatus or Direction is missing or unknown.
    """
    fields = read_form(body, headers, form)
    call_sid, status, direction = _required(fields)
    if status not in FINAL_STATUSES:
        return []
    number = ((fields.first("From") if direction == "inbound" else fields.first("To")) or "").strip()
    if not _is_customer_number(number, source.settings):
        return []
    outcome = _outcome(status, fields, direction, source.settings)
    duration = _duration(fields.first("CallDuration"), "CallDuration")
    customer = _customer(number, fields, "From" if direction == "inbound" else "To")
    return [
        compact(
            {
                "external_id": call_sid,
                "occurred_at": rfc3339(_timestamp(fields.first("Timestamp")) or aware(received_at)),
                "type": "call",
                "direction": direction,
                "customer": customer,
                "subject": _subject(direction, outcome, duration),
                "data": _data(fields, status, outcome, duration),
            }
        )
    ]


def _required(fields: Form) -> tuple[str, str, str]:
    call_sid = (fields.first("CallSid") or "").strip()
    status = (fields.first("CallStatus") or "").strip().lower()
    raw_direction = (fields.first("Direction") or "").strip().lower()
    errors: dict[str, list[str]] = {}
    if not call_sid:
        errors["CallSid"] = ["a Twilio status callback carries CallSid"]
    if status not in FINAL_STATUSES + INTERMEDIATE_STATUSES:
        errors["CallStatus"] = [f"must be one of {', '.join(FINAL_STATUSES + INTERMEDIATE_STATUSES)}"]
    if raw_direction != "inbound" and not raw_direction.startswith("outbound"):
        errors["Direction"] = ["must be inbound, outbound-api or outbound-dial"]
    if errors:
        raise InvalidPayload("not a Twilio voice status callback", errors=errors)
    return call_sid, status, "inbound" if raw_direction == "inbound" else "outbound"


def _is_customer_number(number: str, settings: Mapping[str, Any]) -> bool:
    """Whether `number` can identify a customer: a phone number, not withheld, not one of the business's."""
    if not _PHONE.match(number) or number.lower() in _WITHHELD:
        return False
    digits = re.sub(r"\D", "", number)
    if digits in _WITHHELD_KEYPAD:
        return False
    return not any(re.sub(r"\D", "", str(own)) == digits for own in settings.get("own_numbers") or [])


def _outcome(status: str, fields: Form, direction: str, settings: Mapping[str, Any]) -> str:
    if status == "busy":
        return "busy"
    if status == "failed":
        return "failed"
    if status in ("no-answer", "canceled"):
        return "missed"
    # completed: Twilio's answering-machine detection says who picked up an outbound call; an inbound
    # call that the source's flow records only when nobody answers is a voicemail (setting opt-in).
    answered_by = (fields.first("AnsweredBy") or "").lower()
    if answered_by.startswith(("machine", "fax")):
        return "voicemail"
    if direction == "inbound" and settings.get("voicemail_when_recorded") and fields.first("RecordingUrl"):
        return "voicemail"
    if _duration(fields.first("CallDuration"), "CallDuration") == 0:
        return "missed"
    return "answered"


def _duration(value: str | None, name: str) -> float | None:
    if value is None or not value.strip():
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < 10**7:
        raise InvalidPayload(f"{name} is not a duration", errors={name: ["must be a number of seconds"]})
    return seconds


def _timestamp(value: str | None) -> datetime | None:
    """Twilio's Timestamp, RFC 2822 ("Mon, 16 Aug 2010 03:45:01 +0000"); None when absent or unreadable."""
    if not value:
        return None
    try:
        return aware(parsedate_to_datetime(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _customer(number: str, fields: Form, side: str) -> dict[str, Any]:
    """The customer's side of the call: the number, CNAM caller name, and Twilio's geo lookup of it."""
    address = compact(
        {
            "city": clip((fields.first(f"{side}City") or "").strip().title() or None, 100),
            "region": clip((fields.first(f"{side}State") or "").strip() or None, 100),
            "postcode": clip((fields.first(f"{side}Zip") or "").strip() or None, 20),
            "country": country_code(fields.first(f"{side}Country")),
        }
    )
    # CallerName is the caller's CNAM listing, so it describes From only.
    name = (fields.first("CallerName") or "").strip() if side == "From" else ""
    return compact(
        {"phone": number, "name": clip(name, FULL_NAME_MAX), "attributes": compact({"address": address or None})}
    )


def _subject(direction: str, outcome: str, duration: float | None) -> str:
    length = f", {int(duration) // 60} min {int(duration) % 60} s" if duration else ""
    return f"{direction.capitalize()} call, {outcome}{length}"


def _data(fields: Form, status: str, outcome: str, duration: float | None) -> dict[str, Any]:
    first = fields.first
    recording = (first("RecordingUrl") or "").strip()
    return compact(
        {
            "call_sid": first("CallSid"),
            "account_sid": first("AccountSid"),
            "parent_call_sid": first("ParentCallSid"),
            "from": first("From"),
            "to": first("To"),
            "status": status,
            "twilio_direction": first("Direction"),
            "duration_s": duration,
            "outcome": outcome,
            "recording_url": recording if recording.startswith(("https://", "http://")) else None,
            "recording_sid": first("RecordingSid"),
            "recording_duration_s": _duration(first("RecordingDuration"), "RecordingDuration"),
            "answered_by": first("AnsweredBy"),
            "forwarded_from": first("ForwardedFrom"),
            "caller_name": first("CallerName"),
        }
    )
