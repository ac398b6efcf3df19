"""POST /webhooks/<slug>: where channels push interactions. The source's provider picks the adapter.

The view reads the request (the body streamed, never past WEBHOOK_MAX_BYTES) and hands it to
`intake.accept`; every outcome, a refusal while reading included, lands in the delivery log.
"""

from __future__ import annotations

import time

from apispec import APISpec
from flask import Blueprint, current_app, jsonify, request

from crm.channels import intake
from crm.channels.canonical import BatchInSchema, InteractionInSchema, MailboxSchema
from crm.channels.deliveries import Attempt
from crm.columns import utcnow
from crm.errors import DomainError, PayloadTooLarge

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

READ_CHUNK = 64 * 1024


def _public_url() -> str:
    # Twilio signs the URL it called. Behind a proxy that is PUBLIC_BASE_URL + path, not request.url.
    base = current_app.config.get("PUBLIC_BASE_URL")
    if not base:
        return request.url
    path = request.full_path[:-1] if request.full_path.endswith("?") else request.full_path
    return base.rstrip("/") + path


def read_body(limit: int) -> bytes:
    """The body, read in chunks and abandoned as soon as it passes `limit` (413), declared or not."""
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"the body is {request.content_length} bytes; the limit is {limit}")
    chunks, size = [], 0
    while chunk := request.stream.read(min(READ_CHUNK, limit + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body is over the limit of {limit} bytes")
    return b"".join(chunks)


@bp.post("/<slug>")
def receive(slug: str):
    attempt = Attempt(
        received_at=utcnow(),
        content_type=(request.content_type or "").lower(),
        size_bytes=request.content_length or 0,
        started=time.perf_counter(),
    )
    source = intake.source_by_slug(slug, attempt)  # an unknown source is a 404 before anything is read
    try:
        body = read_body(current_app.config["WEBHOOK_MAX_BYTES"])
    except DomainError as exc:
        raise intake.refuse(source, attempt, exc) from None
    received = intake.Received(
        body=body,
        headers=dict(request.headers.items()),
        url=_public_url(),
        content_type=attempt.content_type,
        received_at=attempt.received_at,
    )
    attempt = Attempt(attempt.received_at, attempt.content_type, len(body), attempt.started)
    outcome = intake.accept(source, received, attempt)
    return jsonify(outcome.body()), outcome.status


def document_webhook(spec: APISpec) -> None:
    """Add POST /webhooks/{slug} to the OpenAPI document: served at the root, not under /api/v1, and
    authenticated by each provider's signature rather than a token."""
    spec.components.schema("Mailbox", schema=MailboxSchema)
    spec.components.schema("WebhookAnswer", WEBHOOK_ANSWER)
    for name, scheme in SIGNATURE_SCHEMES.items():
        spec.components.security_scheme(name, scheme)
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    provider_form = {"type": "object", "description": "the provider's own form fields (Twilio, Mailgun)"}
    operation = {
        "summary": "Push interactions from a channel source",
        "description": WEBHOOK_DESCRIPTION,
        "tags": ["webhooks"],
        "operationId": "receive_webhook",
        "servers": [{"url": "/"}],
        "security": [{name: []} for name in SIGNATURE_SCHEMES],
        "parameters": [{"in": "path", "name": "slug", "required": True, "schema": {"type": "string"}}],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"oneOf": [InteractionInSchema, BatchInSchema]}},
                "message/rfc822": {"schema": {"type": "string", "description": "one raw RFC 5322 message"}},
                "application/x-www-form-urlencoded": {"schema": provider_form},
                "multipart/form-data": {"schema": provider_form},
            },
        },
        "responses": {
            "202": {
                "description": "Stored; processing continues in the background",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/WebhookAnswer"}}},
            },
            "200": {
                "description": "A replay (or nothing to store): nothing new stored, the existing ids",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/WebhookAnswer"}}},
            },
            **{str(code): {"description": text, "content": problem} for code, text in WEBHOOK_ERRORS.items()},
        },
    }
    spec.path(path="/webhooks/{slug}", operations={"post": operation})


WEBHOOK_ANSWER = {
    "type": "object",
    "properties": {
        "accepted": {"type": "array", "items": {"type": "integer"}, "description": "ids stored by this delivery"},
        "replayed": {"type": "array", "items": {"type": "integer"}, "description": "ids stored by an earlier one"},
        "ids": {
            "type": "array",
            "items": {"type": ["integer", "null"]},
            "description": "every id, in the request's order (null for an erased interaction)",
        },
        "erased": {
            "type": "array",
            "items": {"type": "string"},
            "description": "external ids of interactions erased after an earlier delivery: nothing of them is stored",
        },
    },
    "required": ["accepted", "replayed", "ids", "erased"],
}
SIGNATURE_SCHEMES = {
    "crm_signature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-CRM-Signature",
        "description": 'generic sources: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + raw body)>',
    },
    "twilio_signature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Twilio-Signature",
        "description": "Twilio sources: base64 HMAC-SHA1(auth token, URL + sorted form fields)",
    },
    "shopify_hmac": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Shopify-Hmac-Sha256",
        "description": "Shopify sources: base64 HMAC-SHA256(app secret, raw body)",
    },
}
WEBHOOK_ERRORS = {
    400: "Malformed body (not JSON, MIME or a form)",
    401: "Missing, bad or stale signature",
    404: "No active source with this slug",
    406: "Mailgun sources: a refusal no retry can fix (Mailgun retries every other status)",
    409: "A concurrent change; retry",
    413: "Body over WEBHOOK_MAX_BYTES",
    415: "A media type this source's provider does not send",
    422: "Not a canonical interaction; `errors` names each field",
    503: "The database is unavailable; retry",
}
WEBHOOK_DESCRIPTION = (
    "The source's provider picks the adapter and the signature scheme: `generic` takes one canonical "
    'interaction or `{"interactions": [...]}` (up to 1000) as JSON, or one raw email (message/rfc822) '
    "for an email source; `mailgun` takes inbound-route posts, `twilio` voice status callbacks, `shopify` "
    "orders/create. 202 once stored (processing continues in the background); a replay of a stored "
    "external_id stores nothing and answers 200 with the existing ids. Mailgun signs in the body "
    "(timestamp, token, signature fields)."
)
