"""Channel sources (one integration each, with its secret) and the log of webhook deliveries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm.columns import BigId, Json, UTCDateTime, utcnow
from crm.extensions import db

CHANNELS = ("email", "chat", "phone", "store")
PROVIDERS = ("generic", "mailgun", "twilio", "shopify")


class Source(db.Model):
    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(String(32))
    # The provider's signing secret. It has to be readable to verify HMACs, so it cannot be hashed.
    secret: Mapped[str] = mapped_column(String(512))
    # After a rotation the previous secret stays valid for a grace period, so in-flight retries pass.
    previous_secret: Mapped[str | None] = mapped_column(String(512))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    settings: Mapped[dict] = mapped_column(Json, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def secrets_valid_at(self, now: datetime) -> list[str]:
        valid = [self.secret]
        if self.previous_secret and self.previous_secret_expires_at and now < self.previous_secret_expires_at:
            valid.append(self.previous_secret)
        return valid


class Delivery(db.Model):
    """One webhook request as received: its outcome, never its body (bodies live with interactions)."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_source_received", "source_id", "received_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_code: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(String(200))
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    replayed: Mapped[int] = mapped_column(Integer, default=0)
    duration_ms: Mapped[int | None] = mapped_column(Integer)


class ErasedDelivery(db.Model):
    """A tombstone of an erased interaction: its source and a digest of its external id, no personal data.

    A provider that retries a delivery after the customer was erased (Mailgun for hours, Shopify for
    days) would otherwise bring the erased data back; intake answers such a delivery 200 and stores
    nothing of it.
    """

    __tablename__ = "erased_deliveries"

    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
