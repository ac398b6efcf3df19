"""The outbox: rows written in the same transaction as the data they describe, drained into the index."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm.columns import BigId, UTCDateTime, utcnow
from crm.extensions import db


class OutboxEntry(db.Model):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_available", "available_at", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # 'customer' or 'interaction'; the drain reads the current row, so an entry only names it.
    entity: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[int] = mapped_column(BigId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
