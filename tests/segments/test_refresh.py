"""The scheduled refresh: dynamic segments are worked out again every SEGMENT_REFRESH_MINUTES, so a customer
whose activity ages out of a window leaves without any new interaction; the periodic job costs one query
when nothing is due, and running a refresh twice changes nothing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from crm.columns import utcnow
from crm.extensions import db
from crm.profiles.models import Identifier
from crm.segments.definitions import create_segment
from crm.segments.jobs import PERIODIC, refresh_due
from crm.segments.membership import refresh_segment
from crm.segments.models import Segment, SegmentEvent, SegmentMember
from tests.factories import make_source
from tests.segments.builders import deliver, message

RECENT_WRITERS = {"condition": "interactions", "channel": "email", "within_days": 30, "op": "gte", "value": 1}


def customer_id(email: str) -> int:
    return db.session.scalar(select(Identifier.customer_id).where(Identifier.value == email))


def events(segment_id: int) -> list[tuple[str, int]]:
    db.session.expire_all()
    rows = db.session.scalars(
        select(SegmentEvent).where(SegmentEvent.segment_id == segment_id).order_by(SegmentEvent.id)
    )
    return [(e.event, e.customer_id) for e in rows]


def make_segment(rule: dict, kind: str = "dynamic") -> int:
    segment = create_segment(name=f"{kind} {rule['condition']}", rule=rule, kind=kind, actor="test")
    db.session.commit()
    return segment.id


def test_a_customer_leaves_when_their_activity_ages_out_of_the_window(client, app, run_jobs):
    deliver(
        client, make_source(channel="email"), run_jobs, message("ann@example.com", 25), message("bob@example.com", 2)
    )
    segment_id = make_segment(RECENT_WRITERS)
    assert refresh_segment(segment_id) == {"entered": 2, "left": 0, "members": 2}
    later = utcnow() + timedelta(days=10)
    assert refresh_segment(segment_id, now=later) == {"entered": 0, "left": 1, "members": 1}
    ann = customer_id("ann@example.com")
    assert events(segment_id)[-1] == ("leave", ann)
    leave = db.session.scalars(select(SegmentEvent).where(SegmentEvent.event == "leave")).one()
    assert leave.interaction_id is None and leave.at == later


def test_refreshing_twice_changes_nothing(client, app, run_jobs):
    deliver(client, make_source(channel="email"), run_jobs, message("ann@example.com", 3))
    segment_id = make_segment(RECENT_WRITERS)
    refresh_segment(segment_id)
    before = events(segment_id)
    assert refresh_segment(segment_id) == {"entered": 0, "left": 0, "members": 1}
    assert events(segment_id) == before


def test_the_periodic_job_refreshes_only_segments_that_are_due(client, app, run_jobs):
    assert refresh_due in PERIODIC
    deliver(client, make_source(channel="email"), run_jobs, message("ann@example.com", 3))
    dynamic, static = make_segment(RECENT_WRITERS), make_segment(RECENT_WRITERS, kind="static")
    assert refresh_due() == 1, "the new dynamic segment has never been worked out; the static one is not scheduled"
    assert refresh_due() == 0, "nothing is due a moment later"
    assert db.session.get(Segment, static).refreshed_at is None
    db.session.get(Segment, dynamic).refreshed_at = utcnow() - timedelta(
        minutes=app.config.get("SEGMENT_REFRESH_MINUTES", 15) + 1
    )
    db.session.commit()
    assert refresh_due() == 1
    assert db.session.scalar(select(func.count()).select_from(SegmentMember)) == 1


def test_after_a_merge_the_person_is_one_member(client, app, run_jobs):
    source = make_source(channel="email")
    deliver(client, source, run_jobs, message("ann@example.com", 3), message("ann.work@example.com", 3))
    segment_id = make_segment(RECENT_WRITERS)
    refresh_segment(segment_id)
    assert len(events(segment_id)) == 2
    # One message naming both addresses merges the two customers into one.
    deliver(
        client,
        source,
        run_jobs,
        message("ann@example.com", 1) | {"customer": {"email": "ann@example.com", "phone": "+14155550111"}},
    )
    deliver(
        client,
        source,
        run_jobs,
        message("ann.work@example.com", 1) | {"customer": {"email": "ann.work@example.com", "phone": "+14155550111"}},
    )
    refresh_segment(segment_id)
    db.session.expire_all()
    members = set(db.session.scalars(select(SegmentMember.customer_id).where(SegmentMember.segment_id == segment_id)))
    assert members == {customer_id("ann@example.com")} == {customer_id("ann.work@example.com")}
