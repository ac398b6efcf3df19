"""What agents did with next best actions: done or dismissed actions do not come back."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm.columns import BigId, UTCDateTime, utcnow
from crm.extensions import db


class ActionFeedback(db.Model):
    __tablename__ = "action_feedback"
    __table_args__ = (UniqueConstraint("customer_id", "action_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    # The action's stable key, e.g. "follow_up:case:42": the same situation gives the same key.
    action_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))  # done | dismissed
    actor: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
