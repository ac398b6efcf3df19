"""Acceptance of a webhook delivery: verify → parse → validate → one transaction → enqueue → answer.

Once the transaction has committed the interactions are safe: whatever fails afterwards (Redis,
Elasticsearch, the worker) only delays their processing, never loses them. A replay (same source and
external id) stores nothing and returns the ids stored the first time.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import select

from crm import jobs
from crm.channels.adapters import ADAPTERS, SourceInfo
from crm.channels.canonical import load_interactions
from crm.channels.models import Delivery, Source
from crm.columns import utcnow
from crm.errors import DomainError, InvalidPayload, UnknownSource
from crm.extensions import db
from crm.profiles.models import Interaction, InteractionPayload
from crm.search import record_change

log = logging.getLogger(__name__)

# Headers worth keeping with a raw payload (for audit and replays); never cookies or auth.
KEPT_HEADERS = (
    "content-type",
    "user-agent",
    "x-shopify-topic",
    "x-shopify-webhook-id",
    "x-shopify-shop-domain",
    "x-twilio-signature",
    "x-crm-signature",
    "x-request-id",
)


@dataclass
class Received:
    """A webhook request as the blueprint hands it over: the raw bytes and what came with them."""

    body: bytes
    headers: Mapping[str, str]
    url: str
    content_type: str
    form: Mapping[str, list[str]] | None = None
    received_at: datetime = field(default_factory=utcnow)


@dataclass
class Outcome:
    status: int
    accepted: list[int]
    replayed: list[int]

    def body(self) -> dict:
        return {"accepted": self.accepted, "replayed": self.replayed, "ids": self.accepted + self.replayed}


def source_by_slug(slug: str) -> Source:
    source = db.session.scalar(select(Source).where(Source.slug == slug, Source.active.is_(True)))
    if source is None:
        raise UnknownSource(f"no active source with slug {slug!r}")
    return source


def accept(slug: str, received: Received) -> Outcome:
    """Run the whole acceptance; domain errors propagate for the error handler, after being logged."""
    started = time.perf_counter()
    source = source_by_slug(slug)
    try:
        outcome = _accept(source, received)
    except DomainError as exc:
        db.session.rollback()
        _log_delivery(source, received, exc.status, started, error=_describe(exc))
        raise
    except ValidationError as exc:
        db.session.rollback()
        _log_delivery(source, received, 422, started, error=json.dumps(exc.messages)[:2000])
        raise InvalidPayload(
            "the payload does not match the canonical interaction; see errors", errors=exc.messages
        ) from exc
    _log_delivery(
        source, received, outcome.status, started, accepted=len(outcome.accepted), replayed=len(outcome.replayed)
    )
    if outcome.accepted:
        from crm.pipeline import process_interactions

        jobs.enqueue(process_interactions, outcome.accepted)
    return outcome


def _describe(exc: DomainError) -> str:
    return exc.detail if not exc.errors else f"{exc.detail}: {json.dumps(exc.errors)[:1500]}"


def _accept(source: Source, received: Received) -> Outcome:
    adapter = ADAPTERS[source.provider]
    info = SourceInfo(
        slug=source.slug, channel=source.channel, provider=source.provider, settings=dict(source.settings or {})
    )
    adapter.verify(
        source.secrets_valid_at(received.received_at),
        body=received.body,
        headers=received.headers,
        url=received.url,
        form=received.form,
        now=received.received_at,
        tolerance_s=current_app.config["SIGNATURE_TOLERANCE_S"],
    )
    raw_items = adapter.parse(
        received.body, received.headers, source=info, received_at=received.received_at, form=received.form
    )
    items = load_interactions(raw_items, max_batch=current_app.config["WEBHOOK_MAX_BATCH"])
    if not items:
        return Outcome(200, [], [])
    return _store(source, received, raw_items, items)


def store_canonical(source: Source, raw_items: list[dict], received: Received) -> Outcome:
    """Validate and store canonical interactions for a source without a signature check: for trusted
    in-process callers (demo data, agents' notes and logged calls). Does not enqueue processing."""
    items = load_interactions(raw_items, max_batch=max(len(raw_items), 1))
    return _store(source, received, raw_items, items)


def _store(source: Source, received: Received, raw_items: list[dict], items: list[dict]) -> Outcome:
    """One transaction: the new interactions, their raw payloads and outbox rows; replays left alone."""
    external_ids = [item["external_id"] for item in items]
    existing = dict(
        db.session.execute(
            select(Interaction.external_id, Interaction.id).where(
                Interaction.source_id == source.id, Interaction.external_id.in_(external_ids)
            )
        ).all()
    )
    headers = {k: v for k, v in ((k.lower(), v) for k, v in received.headers.items()) if k in KEPT_HEADERS}
    single = len(items) == 1
    new_rows = []
    for raw, item in zip(raw_items, items, strict=True):
        if item["external_id"] in existing:
            continue
        row = Interaction(
            source_id=source.id,
            external_id=item["external_id"],
            channel=source.channel,
            type=item["type"],
            direction=item["direction"],
            occurred_at=item["occurred_at"],
            received_at=received.received_at,
            subject=item.get("subject"),
            text=item.get("text"),
            data=_jsonable(item.get("data") or {}),
            customer_in=_jsonable(item["customer"]),
        )
        # A batch's body holds many customers' data: each interaction keeps its own element, so that
        # erasing one customer erases all of their raw data and nobody else's.
        body = received.body if single else json.dumps(raw, default=str).encode()
        row.payload = InteractionPayload(
            content_type=received.content_type if single else "application/json", body=body, headers=headers
        )
        new_rows.append(row)
    if not new_rows:
        return Outcome(200, [], [existing[e] for e in external_ids])
    db.session.add_all(new_rows)
    try:
        db.session.flush()
    except Exception as exc:
        from sqlalchemy.exc import IntegrityError

        if not isinstance(exc, IntegrityError):
            raise
        # Another request stored the same delivery between our read and our insert: it is a replay.
        db.session.rollback()
        return _replayed_after_race(source, external_ids)
    for row in new_rows:
        record_change("interaction", row.id)
    db.session.commit()
    accepted_ids = [row.id for row in new_rows]
    replayed = [existing[e] for e in external_ids if e in existing]
    return Outcome(202, accepted_ids, replayed)


def _replayed_after_race(source: Source, external_ids: list[str]) -> Outcome:
    ids = dict(
        db.session.execute(
            select(Interaction.external_id, Interaction.id).where(
                Interaction.source_id == source.id, Interaction.external_id.in_(external_ids)
            )
        ).all()
    )
    missing = [e for e in external_ids if e not in ids]
    if missing:
        raise InvalidPayload("a concurrent delivery conflicted; retry", status=409)
    return Outcome(200, [], [ids[e] for e in external_ids])


def _jsonable(value):
    """Decimals and datetimes from the schema, back to JSON-safe strings for the JSON columns."""
    return json.loads(json.dumps(value, default=str))


def _log_delivery(
    source: Source,
    received: Received,
    status: int,
    started: float,
    *,
    error: str | None = None,
    accepted: int = 0,
    replayed: int = 0,
) -> None:
    try:
        db.session.add(
            Delivery(
                source_id=source.id,
                received_at=received.received_at,
                status_code=status,
                error=error,
                content_type=received.content_type[:200] if received.content_type else None,
                size_bytes=len(received.body),
                accepted=accepted,
                replayed=replayed,
                duration_ms=int((time.perf_counter() - started) * 1000),
            )
        )
        db.session.commit()
    except Exception:  # the delivery log is a convenience; it must never cost the delivery
        db.session.rollback()
        log.warning("could not write the delivery log for source %s", source.slug, exc_info=True)
