"""Segments (rule trees as data), their members with history, outbound webhooks on enter/leave with a
log of every attempt, and CSV exports built by a job."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm.columns import BigId, Json, UTCDateTime, utcnow
from crm.extensions import db


class Segment(db.Model):
    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16), default="dynamic")  # dynamic | static
    rule: Mapped[dict] = mapped_column(Json)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    member_count: Mapped[int] = mapped_column(Integer, default=0)


class SegmentMember(db.Model):
    __tablename__ = "segment_members"
    __table_args__ = (Index("ix_segment_members_customer", "customer_id"),)

    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SegmentEvent(db.Model):
    """Membership history: one row per enter or leave."""

    __tablename__ = "segment_events"
    __table_args__ = (Index("ix_segment_events_segment_at", "segment_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(8))  # enter | leave
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    interaction_id: Mapped[int | None] = mapped_column(BigId)  # what caused it, when real-time


class SegmentWebhook(db.Model):
    __tablename__ = "segment_webhooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(512))
    events: Mapped[list] = mapped_column(Json, default=lambda: ["enter", "leave"])
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboundDelivery(db.Model):
    """One event to deliver to one webhook: retried with backoff, its attempts logged."""

    __tablename__ = "outbound_deliveries"
    __table_args__ = (Index("ix_outbound_pending", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("segment_webhooks.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int | None] = mapped_column(BigId)
    kind: Mapped[str] = mapped_column(String(32))  # segment.enter | segment.leave | experiment.assigned
    payload: Mapped[dict] = mapped_column(Json)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    response_status: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboundAttempt(db.Model):
    """One try at delivering an outbound event: the delivery log."""

    __tablename__ = "outbound_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("outbound_deliveries.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    response_status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)


class SegmentExport(db.Model):
    """A CSV export of a segment's members, built by a job with its progress; the file is kept here so
    that any web process can serve it."""

    __tablename__ = "segment_exports"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued | running | done | failed
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    requested_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
