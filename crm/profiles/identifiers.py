"""Identifier normalisation: the raw email, phone, chat handle, loyalty id and provider customer id of
an interaction's customer block become the canonical values that identity resolution matches on.

Pure functions, no database: the resolver calls `extract_identifiers` and stores its output on the
interaction. Invalid identifiers are kept (valid False, with the reason) and never used to match, so a
typo can never merge two people.
"""

from __future__ import annotations

import fnmatch
import re
import unicodedata
from collections.abc import Iterable

import phonenumbers
from email_validator import EmailNotValidError, validate_email

IDENTIFIER_KINDS = ("email", "phone", "chat", "loyalty", "external")
# Customer-block field -> identifier kind, in the order identifiers are reported.
BLOCK_FIELDS = (
    ("email", "email"),
    ("phone", "phone"),
    ("chat_handle", "chat"),
    ("loyalty_id", "loyalty"),
    ("external_id", "external"),
)
MAX_VALUE_LENGTH = 320  # identifiers.value is String(320)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_LOYALTY_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015]+")
# "0044 20 7946 0958" dialled from a region whose international prefix is not 00 (the US uses 011).
_DOUBLE_ZERO_PREFIX = re.compile(r"^\s*00(?=\s*[1-9])")


class InvalidIdentifier(ValueError):
    """A raw identifier that cannot be normalised; `reason` is shown to people, so it says what is wrong."""

    def __init__(self, kind: str, raw: object, reason: str) -> None:
        super().__init__(f"invalid {kind} {raw!r}: {reason}")
        self.kind = kind
        self.raw = raw
        self.reason = reason


def _text(kind: str, raw: object) -> str:
    """The trimmed, NFC-normalised text of a raw value, or InvalidIdentifier for non-strings and blanks."""
    if not isinstance(raw, str):
        raise InvalidIdentifier(kind, raw, "must be a string")
    text = unicodedata.normalize("NFC", raw).strip()
    if not text:
        raise InvalidIdentifier(kind, raw, "is empty")
    if _CONTROL.search(text):
        raise InvalidIdentifier(kind, raw, "contains control characters")
    return text


def _fold_case(text: str) -> str:
    # lower() can yield a decomposed sequence (İ -> i + U+0307); NFC again so the result is a fixed point.
    return unicodedata.normalize("NFC", text.lower())


def normalise_email(raw: object, *, strip_plus_tags: bool = False) -> str:
    """Trimmed, lower-cased and syntax-checked (no DNS); IDN domains in their Unicode form.

    Plus-tags (jane+shop@x.com) are distinct addresses unless `strip_plus_tags`: some providers deliver
    them to one mailbox, others do not, so merging on them is a per-deployment decision.
    """
    text = _text("email", raw)
    if text.lower().startswith("mailto:"):
        text = text[len("mailto:") :].strip()
    try:
        validated = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidIdentifier("email", raw, str(exc)) from None
    except (UnicodeError, ValueError) as exc:  # idna can raise these on pathological labels
        raise InvalidIdentifier("email", raw, f"not a valid address ({exc})") from None
    local, _, domain = _fold_case(validated.normalized).rpartition("@")
    if strip_plus_tags and "+" in local:
        local = local.split("+", 1)[0]
        if not local:
            raise InvalidIdentifier("email", raw, "nothing before the plus-tag")
    value = f"{local}@{domain}"
    if len(value) > MAX_VALUE_LENGTH:
        raise InvalidIdentifier("email", raw, f"longer than {MAX_VALUE_LENGTH} characters")
    return value


def _parse_phone(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def normalise_phone(raw: object, *, default_region: str = "US") -> str:
    """E.164 ("+14155550132"); numbers without a country code are read in `default_region`.

    Any human format is accepted (spaces, dashes, dots, brackets, 00 or 011 international prefixes,
    vanity letters); extensions are dropped, because the line, not the extension, is the person.
    Numbers that cannot exist (wrong length, unassigned ranges) are rejected.
    """
    text = _text("phone", raw)
    region = (default_region or "").upper()
    number = _parse_phone(text, region)
    if number is None and _DOUBLE_ZERO_PREFIX.match(text):
        # phonenumbers only reads 00 as an international prefix where 00 is the local one; people
        # write 0044... everywhere, so try it as +44... before giving up.
        number = _parse_phone(_DOUBLE_ZERO_PREFIX.sub("+", text, count=1), region)
    if number is None:
        raise InvalidIdentifier("phone", raw, f"not a valid phone number (default region {region or 'none'})")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _namespaced(kind: str, raw: object, namespace: str, handle: str) -> str:
    namespace = namespace.strip()
    if not namespace:
        raise ValueError(f"a {kind} identifier needs a namespace (the source slug or its configured namespace)")
    # Values that already carry the namespace ("whatsapp:+1415...", or a stored value passed back in)
    # keep it once, so normalising a normalised value changes nothing.
    prefix = f"{namespace}:"
    if handle[: len(prefix)].lower() == prefix.lower():
        handle = handle[len(prefix) :].strip()
    if not handle:
        raise InvalidIdentifier(kind, raw, "is empty")
    value = f"{namespace}:{handle}"
    if len(value) > MAX_VALUE_LENGTH:
        raise InvalidIdentifier(kind, raw, f"longer than {MAX_VALUE_LENGTH} characters")
    return value


def normalise_chat_handle(raw: object, *, namespace: str) -> str:
    """ "<namespace>:<handle>", the handle trimmed, lower-cased and without a leading @.

    Handles are only unique within one chat provider, hence the namespace.
    """
    handle = _fold_case(_text("chat", raw)).lstrip("@").strip()
    return _namespaced("chat", raw, _fold_case(namespace), handle)


def normalise_loyalty_id(raw: object) -> str:
    """Trimmed, upper-cased, spaces and dashes removed: cards are read aloud and typed in groups."""
    text = _text("loyalty", raw)
    value = unicodedata.normalize("NFC", _LOYALTY_SEPARATORS.sub("", text).upper())
    if not value:
        raise InvalidIdentifier("loyalty", raw, "has no characters besides spaces and dashes")
    if len(value) > MAX_VALUE_LENGTH:
        raise InvalidIdentifier("loyalty", raw, f"longer than {MAX_VALUE_LENGTH} characters")
    return value


def normalise_external_id(raw: object, *, namespace: str) -> str:
    """ "<namespace>:<id>", trimmed; case is kept because provider ids (cus_AbC1) are case-sensitive."""
    return _namespaced("external", raw, namespace, _text("external", raw))


def _normalise(kind: str, raw: object, *, chat_ns: str, external_ns: str, region: str, strip_plus: bool) -> str:
    if kind == "email":
        return normalise_email(raw, strip_plus_tags=strip_plus)
    if kind == "phone":
        return normalise_phone(raw, default_region=region)
    if kind == "chat":
        return normalise_chat_handle(raw, namespace=chat_ns)
    if kind == "loyalty":
        return normalise_loyalty_id(raw)
    return normalise_external_id(raw, namespace=external_ns)


def extract_identifiers(
    customer_block: dict,
    *,
    source_slug: str,
    source_settings: dict,
    default_region: str,
    strip_plus_tags: bool,
) -> list[dict]:
    """The identifiers of a canonical customer block: [{"kind", "value", "raw", "valid", "error"}].

    Absent or blank fields are skipped; invalid ones are reported with value None and their reason.
    """
    settings = source_settings or {}
    chat_ns = settings.get("chat_namespace") or source_slug
    external_ns = settings.get("customer_namespace") or source_slug
    found = []
    for field, kind in BLOCK_FIELDS:
        raw = (customer_block or {}).get(field)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        try:
            value = _normalise(
                kind, raw, chat_ns=chat_ns, external_ns=external_ns, region=default_region, strip_plus=strip_plus_tags
            )
        except InvalidIdentifier as exc:
            found.append({"kind": kind, "value": None, "raw": raw, "valid": False, "error": exc.reason})
        else:
            found.append({"kind": kind, "value": value, "raw": raw, "valid": True, "error": None})
    return found


def _blocklist_entry(entry: str) -> tuple[str | None, str]:
    """(kind or None for any kind, pattern) with the pattern in the case its kind is stored in."""
    kind, sep, pattern = entry.strip().partition(":")
    kind = kind.strip().lower()
    if not sep or kind not in IDENTIFIER_KINDS:
        return None, entry.strip()
    pattern = pattern.strip()
    if kind in ("email", "chat"):
        pattern = _fold_case(pattern)
    elif kind == "loyalty":
        pattern = pattern.upper()
    return kind, pattern


def is_blocked(kind: str, value: str, blocklist: Iterable[str]) -> bool:
    """Whether a normalised identifier is a shared one that must never merge customers.

    Entries are "kind:value" ("phone:+14155550100") or fnmatch patterns ("email:support@*",
    "email:*@mycompany.com"); an entry without a known kind prefix applies to every kind, because
    blocking too much only costs a suggestion, while blocking too little merges strangers.
    """
    if value is None:
        return False
    for entry in blocklist or ():
        if not entry or not entry.strip():
            continue
        entry_kind, pattern = _blocklist_entry(entry)
        if entry_kind is not None and entry_kind != kind:
            continue
        if fnmatch.fnmatchcase(value, pattern):
            return True
    return False
