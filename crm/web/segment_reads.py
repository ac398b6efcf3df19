"""Saved segments as the marketer pages list them: a page of segments, a page of members, and the
choices the builder offers. Read-only; the segments package owns every write.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from sqlalchemy import func, select

from crm.errors import NotFound
from crm.extensions import db
from crm.profiles.models import Customer
from crm.segments.models import Segment, SegmentMember

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
    customers: list[Customer]
    total: int
    next_cursor: str | None


def members_page(segment: Segment, cursor: str | None, limit: int = MEMBERS_PAGE) -> MembersPage:
    """Members by customer id, `cursor` being the last id of the previous page."""
    after = int(cursor) if cursor and cursor.isdigit() else 0
    rows = list(
        db.session.scalars(
            select(Customer)
            .join(SegmentMember, SegmentMember.customer_id == Customer.id)
            .where(SegmentMember.segment_id == segment.id, Customer.id > after)
            .order_by(Customer.id)
            .limit(limit + 1)
        )
    )
    total = (
        db.session.scalar(select(func.count()).select_from(SegmentMember).where(SegmentMember.segment_id == segment.id))
        or 0
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return MembersPage(rows, total, str(rows[-1].id) if more and rows else None)


def export_url(segment: Segment) -> str | None:
    """The CSV export of the segments API, when it is there."""
    try:
        return url_for("api.export_segment_members", segment_id=segment.id)
    except Exception:  # werkzeug BuildError: the export endpoint is not registered in this version
        return None


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
