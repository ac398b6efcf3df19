"""Transaction-scoped locks, so two workers resolving or changing the same person agree.

On PostgreSQL each identifier (kind, value) and each customer takes an advisory lock held until
commit. Locks are always taken identifiers first, then customers, each set in sorted order, so two
jobs never wait on each other in a circle. SQLite has a single writer, which already serialises
everything.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text

from crm.extensions import db


def _postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def lock_identifiers(keys: list[tuple[str, str]]) -> None:
    if not _postgres():
        return
    for kind, value in sorted(set(keys)):
        db.session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"{kind}:{value}"})


def lock_customer(customer_id: int) -> None:
    """Serialise changes to one customer (merges, undo, aggregates) across workers."""
    lock_customers([customer_id])


def lock_customers(customer_ids: Iterable[int]) -> None:
    """Lock several customers in id order; locks already held by this transaction are taken again at no cost."""
    if not _postgres():
        return
    for cid in sorted({int(c) for c in customer_ids}):
        db.session.execute(text("SELECT pg_advisory_xact_lock(1, :id)"), {"id": cid % 2_147_483_647})
