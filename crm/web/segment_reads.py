"""Saved segments as the marketer pages list them: a page of segments, a page of members (from
crm.segments.membership), and the choices the builder offers. Read-only; every write goes through the
segments API, which the builder's script calls.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from sqlalchemy import func, select

from crm.errors import NotFound
from crm.extensions import db
from crm.segments import membership
from crm.segments.models import Segment

MEMBERS_PAGE = 50


def segments_page(page: int, query: str | None = None, per_page: int = 50):
    stmt = select(Segment).order_by(Segment.name)
    if query:
        stmt = stmt.where(func.lower(Segment.name).like(f"%{query.lower()}%"))
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


def get_segment(segment_id: int) -> Segment:
    segment = db.session.get(Segment, segment_id)
    if segment is None:
        raise NotFound(f"no segment {segment_id}")
    return segment


def segment_choices() -> list[tuple[int, str]]:
    return [(row.id, row.name) for row in db.session.execute(select(Segment.id, Segment.name).order_by(Segment.name))]


@dataclass
class MembersPage:
    members: list[dict]  # {id, display_name, email, phone, last_seen_at, journey_stage, ltv_amount, entered_at}
    total: int
    next_cursor: str | None


def members_page(segment: Segment, cursor: str | None, limit: int = MEMBERS_PAGE) -> MembersPage:
    """A page of members in customer id order (the segments API's own paging)."""
    items, next_cursor = membership.members_page(segment.id, limit=limit, cursor=cursor)
    return MembersPage(items, membership.member_count(segment.id), next_cursor)


@dataclass
class Export:
    """How the page offers the CSV: a streamed download, or (past the streaming limit) an export job."""

    url: str
    as_job: bool


def export_of(segment: Segment, members: int) -> Export | None:
    """None when the segments API has no export in this version."""
    from flask import current_app

    endpoints = current_app.view_functions
    if "api.export_members_csv" not in endpoints or "api.start_export" not in endpoints:
        return None
    if members > current_app.config.get("SEGMENT_EXPORT_STREAM_MAX", 10_000):
        return Export(url_for("api.start_export", segment_id=segment.id), as_job=True)
    return Export(url_for("api.export_members_csv", segment_id=segment.id), as_job=False)


def builder_options(exclude: int | None = None) -> dict:
    """What the builder's selects offer: channels, kinds, stages, segments, product categories."""
    from crm.channels.models import CHANNELS
    from crm.profiles.models import INTERACTION_TYPES

    categories = _categories()
    return {
        "channels": list(CHANNELS) + ["internal"],
        "types": list(INTERACTION_TYPES),
        "stages": _stages(),
        "segments": [{"id": sid, "name": name} for sid, name in segment_choices() if sid != exclude],
        "categories": categories,
    }


def _stages() -> list[str]:
    from crm.personalization.journey import RULES

    return list(dict.fromkeys(rule.stage for rule in reversed(RULES)))


def _categories() -> list[str]:
    try:
        from crm.demo.catalog import PRODUCTS
    except ImportError:
        return []
    return sorted({p[2] for p in PRODUCTS if len(p) > 2})
