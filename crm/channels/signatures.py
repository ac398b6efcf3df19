"""Webhook signature checks, one per provider scheme, run before any adapter sees the payload.

Each `verify_<scheme>` takes the source's valid secrets (two during a rotation grace period; any
match passes) and the request as received, and returns None or raises `InvalidSignature` with a
reason a provider's operator can act on. Comparisons are constant-time. `sign_<scheme>` computes
the same values, for tests and for in-house clients.

Twilio and Mailgun sign form fields rather than raw bytes, so reading a form body lives here too:
the signature check and the adapter must read the same fields the same way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email import errors as mime_errors
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from crm.errors import InvalidSignature, MalformedPayload, UnsupportedMediaType

DEFAULT_TOLERANCE_S = 300
# Mailgun retries a failed route post for 8 hours and each retry carries the original timestamp, token
# and signature; a 5-minute window would turn one outage into lost mail. Replays inside the window are
# harmless: the Message-Id is the idempotency key.
MAILGUN_RETRY_WINDOW_S = 9 * 3600
MAX_FORM_FIELDS = 5000
GENERIC_HEADER = "X-CRM-Signature"
TWILIO_HEADER = "X-Twilio-Signature"
SHOPIFY_HEADER = "X-Shopify-Hmac-Sha256"
# Defects that mean the parts could not be found at all; lesser ones (a missing final newline) are tolerated.
_FATAL_MULTIPART_DEFECTS = (
    mime_errors.NoBoundaryInMultipartDefect,
    mime_errors.StartBoundaryNotFoundDefect,
    mime_errors.MultipartInvariantViolationDefect,
)


# --- reading the request -------------------------------------------------------------------------


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, case-insensitively, whether `headers` is Werkzeug's or a plain dict."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


def media_type(headers: Mapping[str, str]) -> str:
    """The Content-Type without its parameters, lower-cased ('' when absent)."""
    return (header(headers, "Content-Type") or "").split(";", 1)[0].strip().lower()


@dataclass(frozen=True)
class FilePart:
    """An uploaded file in a multipart body: described, never kept (bodies are stored raw)."""

    field: str
    filename: str | None
    content_type: str
    size: int


@dataclass(frozen=True)
class Form:
    fields: dict[str, list[str]]
    files: list[FilePart] = field(default_factory=list)

    def first(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[0] if values else None


def read_form(body: bytes, headers: Mapping[str, str], form: Mapping[str, list[str]] | None = None) -> Form:
    """The fields (and file descriptions) of a form-encoded or multipart body.

    `form`, when the web layer already parsed the body, is taken for the fields; a multipart body is
    still read here for its file parts. Raises MalformedPayload for a body that is not a valid form,
    UnsupportedMediaType for a Content-Type that is not a form's.
    """
    kind = media_type(headers)
    if kind == "multipart/form-data":
        parsed = _read_multipart(body, header(headers, "Content-Type") or "")
    elif form is not None or kind in ("application/x-www-form-urlencoded", ""):
        parsed = Form(_read_urlencoded(body)) if form is None else Form({})
    else:
        raise UnsupportedMediaType(f"expected a form body (application/x-www-form-urlencoded), got {kind!r}")
    if form is not None:
        return Form({str(k): [str(v) for v in _as_list(vs)] for k, vs in form.items()}, parsed.files)
    return parsed


def _as_list(values: object) -> list:
    return list(values) if isinstance(values, list | tuple) else [values]


def _read_urlencoded(body: bytes) -> dict[str, list[str]]:
    if not body.strip():
        return {}
    try:
        text = body.decode("utf-8")
        return urllib.parse.parse_qs(
            text.strip(), keep_blank_values=True, strict_parsing=True, max_num_fields=MAX_FORM_FIELDS
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedPayload(f"the body is not a valid form-encoded body: {exc}") from None


def _read_multipart(body: bytes, content_type: str) -> Form:
    # The standard library has no multipart/form-data parser of its own; a form body is MIME with
    # the request's Content-Type as its only header, which the email package reads correctly.
    preamble = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("utf-8", "replace")
    try:
        message = BytesParser(policy=policy.default).parsebytes(preamble + body)
    except RecursionError:
        raise MalformedPayload("the multipart body nests its parts too deeply") from None
    if not message.is_multipart() or any(isinstance(d, _FATAL_MULTIPART_DEFECTS) for d in message.defects):
        raise MalformedPayload("the body is not a valid multipart/form-data body (boundary missing or broken)")
    fields: dict[str, list[str]] = {}
    files: list[FilePart] = []
    for part in message.iter_parts():
        try:
            _read_part(part, fields, files)
        except Exception:  # the stdlib header parser has crash bugs on hostile part headers
            raise MalformedPayload("a multipart/form-data part has headers that cannot be read") from None
    if len(fields) > MAX_FORM_FIELDS:
        raise MalformedPayload(f"at most {MAX_FORM_FIELDS} form fields")
    return Form(fields, files)


def _read_part(part: EmailMessage, fields: dict[str, list[str]], files: list[FilePart]) -> None:
    name = part.get_param("name", header="content-disposition")
    if not isinstance(name, str):
        return
    payload = part.get_payload(decode=True)
    payload = payload if isinstance(payload, bytes) else b""
    filename = part.get_filename()
    if filename is not None:
        files.append(FilePart(name, filename, part.get_content_type(), len(payload)))
        return
    charset = part.get_content_charset() or "utf-8"
    try:
        value = payload.decode(charset, "replace")
    except LookupError:
        value = payload.decode("utf-8", "replace")
    fields.setdefault(name, []).append(value)


def _require_secrets(secrets: list[str]) -> list[str]:
    keys = [s for s in secrets if s]
    if not keys:
        raise InvalidSignature("this source has no signing secret configured")
    return keys


def _any_equal(expected: Iterable[str], given: Iterable[str]) -> bool:
    # Every pair is compared (no early exit on a match), so timing says nothing about which matched.
    matched = False
    for want in expected:
        for got in given:
            matched |= hmac.compare_digest(want.encode("ascii", "replace"), got.encode("ascii", "replace"))
    return matched


def _check_fresh(timestamp: int, now: datetime, tolerance_s: int, *, max_age_s: int | None = None) -> None:
    """Refuse a timestamp further than the tolerance from `now`; `max_age_s` widens the past side only."""
    skew = now.timestamp() - timestamp
    limit = max(tolerance_s, max_age_s or 0) if skew > 0 else tolerance_s
    if abs(skew) > limit:
        when = "old" if skew > 0 else "in the future"
        raise InvalidSignature(f"the signature timestamp is {abs(int(skew))} s {when} (tolerance {limit} s)")


# --- generic: X-CRM-Signature: t=<unix>,v1=<hex hmac-sha256("<t>." + body)> ------------------------


def sign_generic(secret: str, body: bytes, t: int) -> str:
    """The X-CRM-Signature header value for `body` signed at unix time `t`."""
    return f"t={int(t)},v1={_generic_digest(secret, body, int(t))}"


def _generic_digest(key: str, body: bytes, t: int) -> str:
    return hmac.new(key.encode("utf-8"), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def _parse_generic_header(value: str) -> tuple[int, list[str]]:
    t: int | None = None
    signatures: list[str] = []
    for item in value.split(","):
        key, sep, val = item.strip().partition("=")
        if not sep:
            raise InvalidSignature(f"malformed {GENERIC_HEADER} header: expected t=<unix seconds>,v1=<hex>")
        if key == "t":
            if not val.isascii() or not val.isdigit():
                raise InvalidSignature(f"malformed {GENERIC_HEADER} header: t must be unix seconds")
            t = int(val)
        elif key == "v1":
            signatures.append(val.lower())
        # Other schemes (v0, v2...) are ignored so a client can send a newer one alongside v1.
    if t is None:
        raise InvalidSignature(f"malformed {GENERIC_HEADER} header: no t=<unix seconds>")
    if not signatures:
        raise InvalidSignature(f"malformed {GENERIC_HEADER} header: no v1=<hex> signature")
    return t, signatures


def verify_generic(
    secrets: list[str],
    *,
    body: bytes,
    headers: Mapping[str, str],
    url: str = "",
    form: Mapping[str, list[str]] | None = None,
    now: datetime,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> None:
    """Our own scheme: HMAC-SHA256 over "<t>." + the raw body, `t` within the tolerance either way."""
    value = header(headers, GENERIC_HEADER)
    if not value:
        raise InvalidSignature(f"missing {GENERIC_HEADER} header")
    t, given = _parse_generic_header(value)
    _check_fresh(t, now, tolerance_s)
    if not _any_equal((_generic_digest(key, body, t) for key in _require_secrets(secrets)), given):
        raise InvalidSignature(f"{GENERIC_HEADER} does not match the body and this source's secret")


# --- mailgun: form fields timestamp, token, signature = hex hmac-sha256(timestamp + token) ---------


def sign_mailgun(signing_key: str, timestamp: int | str, token: str) -> str:
    """The `signature` field Mailgun posts for `timestamp` and `token`."""
    return hmac.new(signing_key.encode("utf-8"), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()


def verify_mailgun(
    secrets: list[str],
    *,
    body: bytes,
    headers: Mapping[str, str],
    url: str = "",
    form: Mapping[str, list[str]] | None = None,
    now: datetime,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> None:
    """Mailgun's scheme for route posts: the signing key's HMAC of timestamp + token, and a fresh timestamp.

    "Fresh" spans Mailgun's retry schedule (MAILGUN_RETRY_WINDOW_S) in the past, `tolerance_s` in the future.

    Raises MalformedPayload when the body cannot be read as a form at all.
    """
    fields = read_form(body, headers, form)
    timestamp, token, signature = (fields.first(name) or "" for name in ("timestamp", "token", "signature"))
    missing = [
        name for name, value in (("timestamp", timestamp), ("token", token), ("signature", signature)) if not value
    ]
    if missing:
        raise InvalidSignature(f"missing Mailgun signature field(s): {', '.join(missing)}")
    if not timestamp.isascii() or not timestamp.isdigit():
        raise InvalidSignature("malformed Mailgun timestamp: expected unix seconds")
    _check_fresh(int(timestamp), now, tolerance_s, max_age_s=MAILGUN_RETRY_WINDOW_S)
    keys = _require_secrets(secrets)
    expected = (sign_mailgun(key, timestamp, token) for key in keys)
    if not _any_equal(expected, [signature.lower()]):
        raise InvalidSignature("the Mailgun signature does not match this source's signing key")


# --- twilio: X-Twilio-Signature = base64 hmac-sha1(url + sorted name+value pairs) -----------------


def sign_twilio(auth_token: str, url: str, params: Mapping[str, str | list[str]] | None = None) -> str:
    """X-Twilio-Signature for a POST of `params` to `url` (the full URL, query string as given).

    As Twilio computes it: the URL, then for each parameter name in sorted order, each of its values
    in sorted order appended as name + value, HMAC-SHA1 with the auth token, base64.
    """
    payload = url
    for name in sorted(params or {}):
        values = params[name] if isinstance(params[name], list | tuple) else [params[name]]  # type: ignore[index]
        for value in sorted(str(v) for v in values):
            payload += name + value
    digest = hmac.new(auth_token.encode("utf-8"), payload.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _twilio_url_variants(url: str) -> list[str]:
    # Twilio's own validators accept the URL with and without the default port, because Twilio's
    # signing side has not always been consistent about including it.
    parts = urllib.parse.urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return [url]
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    default = 443 if parts.scheme == "https" else 80
    with_port = parts._replace(netloc=f"{prefix}{host}:{port or default}").geturl()
    without_port = parts._replace(netloc=f"{prefix}{host}").geturl()
    return list(dict.fromkeys([url, without_port, with_port]))


def verify_twilio(
    secrets: list[str],
    *,
    body: bytes,
    headers: Mapping[str, str],
    url: str,
    form: Mapping[str, list[str]] | None = None,
    now: datetime,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> None:
    """Twilio's scheme: the auth token's HMAC-SHA1 of the full URL and the sorted POST parameters.

    Twilio signs no timestamp, so there is no staleness check; a replay is harmless because CallSid is
    the idempotency key. JSON bodies are signed through a `bodySHA256` query parameter instead.
    """
    given = header(headers, TWILIO_HEADER)
    if not given:
        raise InvalidSignature(f"missing {TWILIO_HEADER} header")
    if not url:
        raise InvalidSignature("the request URL is needed to check a Twilio signature")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    if "bodySHA256" in query and media_type(headers) == "application/json":
        if not _any_equal([hashlib.sha256(body).hexdigest()], [query["bodySHA256"][0].lower()]):
            raise InvalidSignature("the body does not match the bodySHA256 Twilio signed")
        params: dict[str, list[str]] = {}
    else:
        params = read_form(body, headers, form).fields
    keys = _require_secrets(secrets)
    expected = [sign_twilio(key, variant, params) for key in keys for variant in _twilio_url_variants(url)]
    if not _any_equal(expected, [given.strip()]):
        raise InvalidSignature(f"{TWILIO_HEADER} does not match the URL, the parameters and this source's auth token")


# --- shopify: X-Shopify-Hmac-Sha256 = base64 hmac-sha256(raw body) ---------------------------------


def sign_shopify(secret: str, body: bytes) -> str:
    """X-Shopify-Hmac-Sha256 for `body`."""
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


def verify_shopify(
    secrets: list[str],
    *,
    body: bytes,
    headers: Mapping[str, str],
    url: str = "",
    form: Mapping[str, list[str]] | None = None,
    now: datetime,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> None:
    """Shopify's scheme: the app's client secret's HMAC-SHA256 of the raw body, base64.

    Shopify signs no timestamp; retries carry the same X-Shopify-Webhook-Id and the order id is the
    idempotency key, so a replay stores nothing.
    """
    given = header(headers, SHOPIFY_HEADER)
    if not given:
        raise InvalidSignature(f"missing {SHOPIFY_HEADER} header")
    keys = _require_secrets(secrets)
    if not _any_equal((sign_shopify(key, body) for key in keys), [given.strip()]):
        raise InvalidSignature(f"{SHOPIFY_HEADER} does not match the body and this source's secret")
