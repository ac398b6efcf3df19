"""The delivery log: one row per webhook request with its outcome and error, never its body.

An accepted delivery's row is written in the same transaction as its interactions (one commit per
request); a refused one is written on its own after the rollback, where a failure to write it is
logged and never changes the answer.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime

from crm.channels.models import Delivery, Source
from crm.errors import DomainError
from crm.extensions import db

log = logging.getLogger(__name__)

ERROR_MAX = 2000


@dataclass(frozen=True)
class Attempt:
    """What is known of a request before its body is read: enough to log a refusal of any kind."""

    received_at: datetime
    content_type: str
    size_bytes: int
    started: float  # time.perf_counter() when the request arrived


def describe(exc: DomainError) -> str:
    """The error as the log keeps it: the detail, then the field-by-field errors, clipped."""
    text = exc.detail if not exc.errors else f"{exc.detail}: {json.dumps(exc.errors, default=str)}"
    return text[:ERROR_MAX]


def delivery_row(
    source: Source, attempt: Attempt, status: int, *, error: str | None = None, accepted: int = 0, replayed: int = 0
) -> Delivery:
    return Delivery(
        source_id=source.id,
        received_at=attempt.received_at,
        status_code=status,
        error=error[:ERROR_MAX] if error else None,
        content_type=attempt.content_type[:200] or None,
        size_bytes=attempt.size_bytes,
        accepted=accepted,
        replayed=replayed,
        duration_ms=int((time.perf_counter() - attempt.started) * 1000),
    )


def add_in_transaction(row: Delivery) -> None:
    """Add the row to the caller's transaction: committed with the interactions, in the same round trip.

    No savepoint around it (two more round trips per delivery): the row is a few integers and short
    strings, clipped to their columns, and if it ever failed the provider's retry would find the
    delivery not stored and store it then.
    """
    db.session.add(row)


def record(row: Delivery) -> None:
    """Write the row in a transaction of its own (after a refusal, or a delivery that stored nothing)."""
    try:
        db.session.add(row)
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.warning("could not write the delivery log for source %s", row.source_id, exc_info=True)
