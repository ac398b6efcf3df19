"""Acceptance of a webhook delivery: media type → verify → parse → validate → one transaction → enqueue → answer.

Once the transaction has committed the interactions are safe: whatever fails afterwards (Redis,
Elasticsearch, the worker) only delays their processing, never loses them. A replay (same source and
external id) stores nothing and returns the ids stored the first time (or, when the interaction was
erased meanwhile, names it as erased and stores nothing), however many copies arrive at
once: rows go in with INSERT ... ON CONFLICT DO NOTHING on (source, external id), in a fixed order, so
concurrent deliveries neither fail nor deadlock, and each learns which rows were its own.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.exc import DataError, SQLAlchemyError

from crm import jobs
from crm.channels import deliveries, erased, token_reuse
from crm.channels.adapters import ADAPTERS, Adapter, SourceInfo
from crm.channels.canonical import load_interactions
from crm.channels.deliveries import Attempt, delivery_row, describe
from crm.channels.models import Source
from crm.channels.signatures import media_type, read_form
from crm.columns import utcnow
from crm.errors import Conflict, DomainError, InvalidPayload, UnknownSource, UnsupportedMediaType
from crm.extensions import db, insert_ignoring_conflicts
from crm.profiles.models import Interaction, InteractionPayload
from crm.search import record_change

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
# Refusals a retry can never turn into an acceptance: the same body will be just as wrong next time.
PERMANENT_REFUSALS = (400, 413, 415, 422)


class StorageUnavailable(DomainError):
    status = 503
    title = "Storage unavailable"


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
    """202 when something new was stored, else 200. `ids` follows the order of the request.

    `erased`: the external ids of interactions erased since an earlier delivery; nothing of them is stored.
    """

    status: int
    accepted: list[int]
    replayed: list[int]
    ids: list[int | None] = field(default_factory=list)
    erased: list[str] = field(default_factory=list)

    def body(self) -> dict:
        ids = self.ids or self.accepted + self.replayed
        return {"accepted": self.accepted, "replayed": self.replayed, "ids": ids, "erased": self.erased}


def source_by_slug(slug: str, attempt: Attempt | None = None) -> Source:
    """The active source with this slug; UnknownSource (404) otherwise, logged when the source is disabled."""
    source = db.session.scalar(select(Source).where(Source.slug == slug))
    if source is None:
        raise UnknownSource(f"no active source with slug {slug!r}")
    if not source.active:
        disabled = UnknownSource(f"the source {slug!r} is disabled")
        raise refuse(source, attempt, disabled) if attempt else disabled
    return source


def accept(source: Source, received: Received, attempt: Attempt | None = None) -> Outcome:
    """Run the whole acceptance; a refusal is logged and raised as the DomainError to answer."""
    attempt = attempt or Attempt(received.received_at, received.content_type, len(received.body), time.perf_counter())
    try:
        outcome = _accept(source, received, attempt)
    except ValidationError as exc:
        invalid = InvalidPayload(
            "the payload does not match the canonical interaction; see errors", errors=exc.messages
        )
        raise refuse(source, attempt, invalid) from exc
    except DomainError as exc:
        raise refuse(source, attempt, exc) from None
    if outcome.accepted:
        from crm.pipeline import process_interactions

        # After the commit, so a job never runs before its rows exist. When Redis is down this
        # returns False and the rows wait for the sweep: the answer is still 202.
        jobs.enqueue(process_interactions, outcome.accepted)
    return outcome


def refuse(source: Source, attempt: Attempt, exc: DomainError) -> DomainError:
    """Roll back, log the refusal with its error, and return the error to answer with.

    A provider that retries everything but one status (Mailgun: all but 200 and 406) gets that status
    for a refusal no retry can fix, so one bad message is not re-posted for hours.
    """
    try:
        db.session.rollback()
    except SQLAlchemyError:
        pass
    answer = exc
    final = ADAPTERS[source.provider].permanent_refusal_status
    if final and exc.status in PERMANENT_REFUSALS:
        note = f" (answered {final} rather than {exc.status} so that {source.provider} does not retry it)"
        answer = type(exc)(exc.detail + note, errors=exc.errors, status=final)
    deliveries.record(delivery_row(source, attempt, answer.status, error=describe(exc)))
    return answer


def _accept(source: Source, received: Received, attempt: Attempt) -> Outcome:
    adapter = ADAPTERS[source.provider]
    check_media_type(adapter, received.headers)
    form = received.form if received.form is not None else _form_fields(received)
    info = SourceInfo(
        slug=source.slug, channel=source.channel, provider=source.provider, settings=dict(source.settings or {})
    )
    adapter.verify(
        source.secrets_valid_at(received.received_at),
        body=received.body,
        headers=received.headers,
        url=received.url,
        form=form,
        now=received.received_at,
        tolerance_s=current_app.config["SIGNATURE_TOLERANCE_S"],
    )
    raw_items = adapter.parse(received.body, received.headers, source=info, received_at=received.received_at, form=form)
    items = load_interactions(raw_items, max_batch=current_app.config["WEBHOOK_MAX_BATCH"])
    if not items:  # read and understood, nothing to store (a call still ringing, another order topic)
        deliveries.record(delivery_row(source, attempt, 200))
        return Outcome(200, [], [])
    if adapter.one_use_token_field:
        token = read_form(received.body, received.headers, form).first(adapter.one_use_token_field)
        token_reuse.claim(adapter.provider, source.id, token, [item["external_id"] for item in items])
    return _store(source, received, raw_items, items, attempt)


def check_media_type(adapter: Adapter, headers: Mapping[str, str]) -> None:
    """415 unless the body's media type is one the provider sends (any +json type counts as JSON)."""
    kind = media_type(headers)
    if kind in adapter.content_types:
        return
    if "application/json" in adapter.content_types and (kind == "text/json" or kind.endswith("+json")):
        return
    takes = ", ".join(t or "no Content-Type" for t in adapter.content_types)
    raise UnsupportedMediaType(f"{adapter.provider} sources take {takes}; got {kind or 'no Content-Type'}")


def _form_fields(received: Received) -> dict[str, list[str]] | None:
    # Read an urlencoded form once, for both the signature check and the adapter.
    if media_type(received.headers) != "application/x-www-form-urlencoded":
        return None
    return read_form(received.body, received.headers).fields


def store_canonical(source: Source, raw_items: list[dict], received: Received) -> Outcome:
    """Validate and store canonical interactions for a source without a signature check: for trusted
    in-process callers (demo data, agents' notes and logged calls). Does not enqueue processing."""
    items = load_interactions(raw_items, max_batch=max(len(raw_items), 1))
    return _store(source, received, raw_items, items)


def _store(
    source: Source, received: Received, raw_items: list[dict], items: list[dict], attempt: Attempt | None = None
) -> Outcome:
    """One transaction: the new interactions, their raw payloads, outbox rows and the delivery row."""
    external_ids = [item["external_id"] for item in items]
    try:
        gone = erased.erased_among(source.id, external_ids)
        new = _insert_new(source, received, [item for item in items if item["external_id"] not in gone])
        existing = _existing_ids(source, [e for e in external_ids if e not in new and e not in gone])
        _insert_payloads(new, received, raw_items, items)
        for interaction_id in new.values():
            record_change("interaction", interaction_id)
        outcome = _outcome(external_ids, new, existing, gone)
        if attempt is not None:
            deliveries.add_in_transaction(
                delivery_row(
                    source, attempt, outcome.status, accepted=len(outcome.accepted), replayed=len(outcome.replayed)
                )
            )
        db.session.commit()
    except DataError as exc:
        db.session.rollback()
        reason = str(exc.orig).splitlines()[0] if exc.orig else "a value the database cannot store"
        raise InvalidPayload(f"the database refused a value: {reason}") from None
    except SQLAlchemyError as exc:
        db.session.rollback()
        raise StorageUnavailable(f"the interactions could not be stored ({exc.__class__.__name__}); retry") from None
    return outcome


def _insert_new(source: Source, received: Received, items: list[dict]) -> dict[str, int]:
    """Insert the rows this request brings first; returns {external_id: id} for those it inserted."""
    rows = [
        {
            "source_id": source.id,
            "external_id": item["external_id"],
            "channel": source.channel,
            "type": item["type"],
            "direction": item["direction"],
            "occurred_at": item["occurred_at"],
            "received_at": received.received_at,
            "subject": item.get("subject"),
            "text": item.get("text"),
            "data": jsonable(item.get("data") or {}),
            "customer_in": jsonable(item["customer"]),
        }
        # Rows are locked in external-id order, so two overlapping batches wait on each other, never deadlock.
        for item in sorted(items, key=lambda i: i["external_id"])
    ]
    if not rows:  # every one of them erased
        return {}
    table = Interaction.__table__
    statement = insert_ignoring_conflicts(table, "source_id", "external_id").returning(table.c.external_id, table.c.id)
    # Executed with a list of rows: one cached statement, sent as multi-row VALUES in request order.
    return dict(db.session.execute(statement, rows).all())


def _existing_ids(source: Source, external_ids: list[str]) -> dict[str, int]:
    if not external_ids:
        return {}
    return dict(
        db.session.execute(
            select(Interaction.external_id, Interaction.id).where(
                Interaction.source_id == source.id, Interaction.external_id.in_(external_ids)
            )
        ).all()
    )


def _insert_payloads(new: dict[str, int], received: Received, raw_items: list[dict], items: list[dict]) -> None:
    """Each new interaction keeps the raw payload it came from.

    A batch's body holds many customers' data, so each interaction of a batch keeps its own element:
    erasing one customer erases all of their raw data and nobody else's.
    """
    if not new:
        return
    headers = {k: v for k, v in ((k.lower(), v) for k, v in received.headers.items()) if k in KEPT_HEADERS}
    single = len(items) == 1
    rows = [
        {
            "interaction_id": new[item["external_id"]],
            "content_type": received.content_type[:200] if single else "application/json",
            "body": received.body if single else json.dumps(raw, default=str).encode(),
            "headers": headers,
        }
        for raw, item in zip(raw_items, items, strict=True)
        if item["external_id"] in new
    ]
    db.session.execute(insert(InteractionPayload), rows)


def _outcome(external_ids: list[str], new: dict[str, int], existing: dict[str, int], gone: set[str]) -> Outcome:
    missing = [e for e in external_ids if e not in new and e not in existing and e not in gone]
    if missing:  # stored by a concurrent delivery and deleted (erased) before we could read it
        raise Conflict(f"{len(missing)} interaction(s) changed while this delivery was stored; retry")
    ids = [new.get(e, existing.get(e)) for e in external_ids]  # None where the interaction was erased
    accepted = [new[e] for e in external_ids if e in new]
    replayed = [existing[e] for e in external_ids if e in existing]
    return Outcome(202 if accepted else 200, accepted, replayed, ids, [e for e in external_ids if e in gone])


def jsonable(value: object) -> object:
    """Decimals, dates and datetimes from the schema as JSON strings (RFC 3339 for times) for JSON columns."""
    return json.loads(json.dumps(value, default=_json_default))


def _json_default(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON")
