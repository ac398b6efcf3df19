"""POST /webhooks/<slug>: where channels push interactions. The source's provider picks the adapter."""

from __future__ import annotations

from urllib.parse import parse_qs

from flask import Blueprint, current_app, jsonify, request

from crm.channels import intake
from crm.errors import MalformedPayload, PayloadTooLarge

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


def _public_url() -> str:
    # Twilio signs the URL it called. Behind a proxy that is PUBLIC_BASE_URL + path, not request.url.
    base = current_app.config.get("PUBLIC_BASE_URL")
    if not base:
        return request.url
    path = request.full_path[:-1] if request.full_path.endswith("?") else request.full_path
    return base.rstrip("/") + path


def _read_body() -> bytes:
    limit = current_app.config["WEBHOOK_MAX_BYTES"]
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"the body is {request.content_length} bytes; the limit is {limit}")
    body = request.stream.read(limit + 1)
    if len(body) > limit:
        raise PayloadTooLarge(f"the body is over the limit of {limit} bytes")
    return body


def _form(body: bytes, content_type: str) -> dict[str, list[str]] | None:
    if not content_type.startswith("application/x-www-form-urlencoded"):
        return None
    try:
        return parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body), max_num_fields=5000)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedPayload(f"the form body could not be parsed: {exc}") from exc


@bp.post("/<slug>")
def receive(slug: str):
    intake.source_by_slug(slug)  # an unknown source is a 404 before anything is read
    body = _read_body()
    content_type = (request.content_type or "").lower()
    received = intake.Received(
        body=body,
        headers={k: v for k, v in request.headers.items()},
        url=_public_url(),
        content_type=content_type,
        form=_form(body, content_type),
    )
    outcome = intake.accept(slug, received)
    return jsonify(outcome.body()), outcome.status
