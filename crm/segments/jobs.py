"""Segment jobs. The worker enqueues everything in PERIODIC every few seconds (with a once-key), so each
is cheap when there is nothing to do: one query finds the dynamic segments due for their scheduled
refresh (every SEGMENT_REFRESH_MINUTES), one finds the outbound deliveries due.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, select

from crm.columns import utcnow
from crm.extensions import db
from crm.segments import exports, outbound
from crm.segments.membership import refresh_segment
from crm.segments.models import Segment
from crm.segments.realtime import dependency_order


def refresh_minutes() -> int:
    return int(current_app.config.get("SEGMENT_REFRESH_MINUTES", 15))


def refresh_due() -> int:
    """Refresh each dynamic segment not refreshed for SEGMENT_REFRESH_MINUTES (or never); returns how many."""
    now = utcnow()
    cutoff = now - timedelta(minutes=refresh_minutes())
    due = list(
        db.session.scalars(
            select(Segment).where(
                Segment.kind == "dynamic", or_(Segment.refreshed_at.is_(None), Segment.refreshed_at < cutoff)
            )
        )
    )
    order = [s.id for s in dependency_order(due)]
    db.session.rollback()
    for segment_id in order:
        refresh_segment(segment_id, now=now)
    return len(order)


def deliver_outbound() -> int:
    """Send the outbound deliveries that are due; returns how many were delivered."""
    return outbound.deliver_due()


def refresh_segment_job(segment_id: int) -> dict:
    """Work a segment's members out again now (after its rule changed, or when asked)."""
    return refresh_segment(segment_id)


def export_job(export_id: int) -> None:
    exports.run_export(export_id)


PERIODIC = [refresh_due, deliver_outbound]
