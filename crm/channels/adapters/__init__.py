"""Channel adapters: a provider's payload in, canonical interaction dicts out. Pure: no DB, no network.

The webhook looks up the source's provider in `ADAPTERS`, checks the signature with the entry's
`verify`, turns the body into canonical dicts with its `parse`, then validates them with
`crm.channels.canonical.load_interactions`. Each `parse` has the same signature:

    parse(body, headers, *, source, received_at, form=None) -> list[dict]

and raises MalformedPayload (400) for a body it cannot read, InvalidPayload (422) for one of the
wrong shape, UnsupportedMediaType (415) for a content type it does not take. An empty list means the
delivery was read and carries nothing to store (a call still ringing, an order topic not handled).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from crm.channels import signatures
from crm.channels.adapters import generic, mailgun, shopify, twilio

Channel = Literal["email", "chat", "phone", "store"]


@dataclass(frozen=True)
class SourceInfo:
    """What an adapter may know of the source a delivery came to (never its secret).

    settings, by provider: own_addresses / own_domains (email: the business's side of a message),
    own_numbers (twilio: the business's lines, never taken for a customer), locations (shopify:
    location id -> store name).
    """

    slug: str
    channel: Channel
    provider: str
    settings: Mapping[str, Any] = field(default_factory=dict)


class ParseFn(Protocol):
    def __call__(
        self,
        body: bytes,
        headers: Mapping[str, str],
        *,
        source: SourceInfo,
        received_at: datetime,
        form: Mapping[str, list[str]] | None = None,
    ) -> list[dict]: ...


VerifyFn = Callable[..., None]


@dataclass(frozen=True)
class Adapter:
    provider: str
    parse: ParseFn
    verify: VerifyFn
    channels: tuple[Channel, ...]  # the source channels this provider can feed
    content_types: tuple[str, ...]  # what its bodies are sent as ("" = no Content-Type header)
    signs_timestamp: bool  # whether the scheme can refuse a stale delivery (tolerance_s applies)
    # The status that makes the provider stop retrying a delivery no retry can fix (None: the 4xx as is).
    permanent_refusal_status: int | None = None
    # The form field of a one-use token the signature covers instead of the body (see token_reuse).
    one_use_token_field: str | None = None


FORM = ("application/x-www-form-urlencoded", "multipart/form-data")

ADAPTERS: dict[str, Adapter] = {
    "generic": Adapter(
        "generic",
        generic.parse,
        signatures.verify_generic,
        ("email", "chat", "phone", "store"),
        ("application/json", "message/rfc822", ""),
        signs_timestamp=True,
    ),
    # Mailgun retries every answer but 200 and 406 for 8 hours.
    "mailgun": Adapter(
        "mailgun",
        mailgun.parse,
        signatures.verify_mailgun,
        ("email",),
        FORM,
        signs_timestamp=True,
        permanent_refusal_status=406,
        one_use_token_field="token",
    ),
    "twilio": Adapter("twilio", twilio.parse, signatures.verify_twilio, ("phone",), FORM[:1], signs_timestamp=False),
    "shopify": Adapter(
        "shopify", shopify.parse, signatures.verify_shopify, ("store",), ("application/json",), signs_timestamp=False
    ),
}


def adapter_for(provider: str) -> Adapter:
    """The adapter for a provider name; KeyError names the known ones."""
    try:
        return ADAPTERS[provider]
    except KeyError:
        raise KeyError(f"unknown provider {provider!r}; known: {', '.join(sorted(ADAPTERS))}") from None
