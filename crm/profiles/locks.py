"""Transaction-scoped locks on identifier values, so two workers resolving the same new person agree.

On PostgreSQL each (kind, value) takes an advisory lock held until commit, taken in sorted order so
two jobs never deadlock. SQLite has a single writer, which already serialises resolution.
"""

from __future__ import annotations

from sqlalchemy import text

from crm.extensions import db


def lock_identifiers(keys: list[tuple[str, str]]) -> None:
    if db.engine.dialect.name != "postgresql":
        return
    for kind, value in sorted(set(keys)):
        db.session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"{kind}:{value}"})


def lock_customer(customer_id: int) -> None:
    """Serialise changes to one customer (merges, undo, aggregates) across workers."""
    if db.engine.dialect.name != "postgresql":
        return
    db.session.execute(text("SELECT pg_advisory_xact_lock(1, :id)"), {"id": int(customer_id) % 2_147_483_647})
