"""Tombstones of erased interactions, so that a provider's retry after an erasure stores nothing.

Only a digest of (source, external id) is kept: enough to recognise the same delivery again, nothing
that names the person. A new interaction of the same person (a new external id) is stored as usual:
erasure removes what was held, it does not block the customer from writing again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import select

from crm.channels.models import ErasedDelivery
from crm.extensions import db, insert_ignoring_conflicts


def digest(source_id: int, external_id: str) -> str:
    return hashlib.sha256(f"{source_id}\x1f{external_id}".encode()).hexdigest()


def remember(pairs: Iterable[tuple[int, str]]) -> int:
    """Record (source id, external id) pairs as erased, in the caller's transaction; returns how many."""
    rows = [{"source_id": source_id, "digest": digest(source_id, ext)} for source_id, ext in set(pairs)]
    if not rows:
        return 0
    db.session.execute(insert_ignoring_conflicts(ErasedDelivery, "source_id", "digest"), rows)
    return len(rows)


def erased_among(source_id: int, external_ids: list[str]) -> set[str]:
    """The external ids of this source's delivery whose interactions were erased."""
    if not external_ids:
        return set()
    by_digest = {digest(source_id, ext): ext for ext in external_ids}
    found = db.session.scalars(
        select(ErasedDelivery.digest).where(
            ErasedDelivery.source_id == source_id, ErasedDelivery.digest.in_(list(by_digest))
        )
    )
    return {by_digest[d] for d in found}
