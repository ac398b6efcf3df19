"""Segments: the live preview of an unsaved rule tree, saved segments and their members, history,
CSV exports, and outbound webhooks with their delivery log."""

from __future__ import annotations

from flask import Response, current_app, stream_with_context
from flask_login import current_user
from sqlalchemy import select

from crm import jobs
from crm.api import bp
from crm.api.spec import operation
from crm.errors import Conflict, NotFound
from crm.extensions import db
from crm.segments import definitions, exports, membership, outbound
from crm.segments import jobs as segment_jobs
from crm.segments.models import Segment, SegmentExport, SegmentWebhook
from crm.segments.preview import preview
from crm.segments.schemas import (
    OutboundAttemptOut,
    OutboundDeliveriesOut,
    OutboundDeliveriesQuery,
    OutboundDeliveryOut,
    SegmentEventOut,
    SegmentEventsOut,
    SegmentEventsQuery,
    SegmentExportOut,
    SegmentIn,
    SegmentListOut,
    SegmentMembersOut,
    SegmentOut,
    SegmentPageQuery,
    SegmentPatch,
    SegmentPreviewIn,
    SegmentPreviewOut,
    SegmentWebhookCreated,
    SegmentWebhookIn,
    SegmentWebhookListOut,
    SegmentWebhookOut,
)

READ, WRITE = "segments:read", "segments:write"


def _segment(segment_id: int) -> Segment:
    segment = db.session.get(Segment, segment_id)
    if segment is None:
        raise NotFound(f"no segment {segment_id}")
    return segment


def _body(segment: Segment) -> dict:
    body = SegmentOut().dump(segment)
    body["member_count"] = membership.member_count(segment.id)
    return body


def _actor() -> str:
    return getattr(current_user, "email", None) or "api"


def _refresh_later(segment_id: int) -> None:
    # Inline without Redis: the members are there when the request answers.
    jobs.enqueue(segment_jobs.refresh_segment_job, segment_id)


@operation(
    bp,
    "/segments/preview",
    "POST",
    summary="Preview an unsaved rule tree",
    tag="segments",
    permission=READ,
    body=SegmentPreviewIn,
    response=SegmentPreviewOut,
)
def preview_segment(payload):
    """How many customers match now, the first 20 (most recently seen first) and a breakdown by channel and
    journey stage. Served by Elasticsearch in full mode and by the database in embedded mode."""
    return SegmentPreviewOut().dump(preview(payload["rule"]))


@operation(
    bp,
    "/segments",
    summary="Saved segments",
    tag="segments",
    permission=READ,
    query=SegmentPageQuery,
    response=SegmentListOut,
)
def list_segments(args):
    """In id order; pass next_cursor for the next page."""
    stmt = select(Segment).order_by(Segment.id).limit(args["limit"] + 1)
    if args["cursor"]:
        (after,) = membership.decode_cursor(args["cursor"], 1)
        stmt = stmt.where(Segment.id > int(after))
    rows = list(db.session.scalars(stmt))
    more, rows = len(rows) > args["limit"], rows[: args["limit"]]
    cursor = membership.encode_cursor(rows[-1].id) if more and rows else None
    return {"items": [_body(s) for s in rows], "next_cursor": cursor}


@operation(
    bp,
    "/segments",
    "POST",
    summary="Save a segment",
    tag="segments",
    permission=WRITE,
    body=SegmentIn,
    response=SegmentOut,
    status=201,
    errors=(409,),
)
def create_segment(payload):
    """A dynamic segment is kept current (in real time and by the scheduled refresh); a static one is a
    snapshot of the members when saved. Members are worked out by a job: status is pending until then."""
    segment = definitions.create_segment(**payload, actor=_actor())
    db.session.commit()
    _refresh_later(segment.id)
    db.session.expire_all()
    return _body(_segment(segment.id)), 201


@operation(
    bp,
    "/segments/<int:segment_id>",
    summary="A segment",
    tag="segments",
    permission=READ,
    response=SegmentOut,
    errors=(404,),
)
def show_segment(segment_id: int):
    """With its rule, kind, when its members were last worked out and how many there are."""
    return _body(_segment(segment_id))


@operation(
    bp,
    "/segments/<int:segment_id>",
    "PATCH",
    summary="Change a segment",
    tag="segments",
    permission=WRITE,
    body=SegmentPatch,
    response=SegmentOut,
    errors=(404, 409),
)
def update_segment(segment_id: int, payload):
    """A changed rule (or kind) works the members out again: who leaves and who enters is recorded."""
    segment = _segment(segment_id)
    refresh = definitions.update_segment(segment, payload)
    db.session.commit()
    if refresh:
        _refresh_later(segment_id)
        db.session.expire_all()
    return _body(_segment(segment_id))


@operation(
    bp,
    "/segments/<int:segment_id>",
    "DELETE",
    summary="Delete a segment",
    tag="segments",
    permission=WRITE,
    status=204,
    errors=(404, 409),
)
def delete_segment(segment_id: int):
    """Refused (409) while another segment reads this one's membership."""
    definitions.delete_segment(_segment(segment_id))
    db.session.commit()
    return Response(status=204)


@operation(
    bp,
    "/segments/<int:segment_id>/refresh",
    "POST",
    summary="Work the members out again now",
    tag="segments",
    permission=WRITE,
    response=SegmentOut,
    status=202,
    errors=(404,),
)
def refresh_segment(segment_id: int):
    """For a static segment this takes a new snapshot. Queued: refreshed_at moves when it is done."""
    _segment(segment_id)
    _refresh_later(segment_id)
    db.session.expire_all()
    return _body(_segment(segment_id)), 202


@operation(
    bp,
    "/segments/<int:segment_id>/members",
    summary="A segment's members",
    tag="segments",
    permission=READ,
    query=SegmentPageQuery,
    response=SegmentMembersOut,
    errors=(404,),
)
def segment_members(segment_id: int, args):
    """In customer id order, with when each entered; pass next_cursor for the next page."""
    _segment(segment_id)
    items, cursor = membership.members_page(segment_id, limit=args["limit"], cursor=args["cursor"])
    return {"items": SegmentMembersOut().dump({"items": items})["items"], "next_cursor": cursor}


@operation(
    bp,
    "/segments/<int:segment_id>/events",
    summary="Membership history",
    tag="segments",
    permission=READ,
    query=SegmentEventsQuery,
    response=SegmentEventsOut,
    errors=(404,),
)
def segment_events(segment_id: int, args):
    """Every enter and leave, newest first, with the interaction that caused it when real-time."""
    _segment(segment_id)
    rows, cursor = membership.events_page(
        segment_id, limit=args["limit"], cursor=args["cursor"], customer_id=args["customer_id"]
    )
    return {"items": SegmentEventOut(many=True).dump(rows), "next_cursor": cursor}


@operation(
    bp,
    "/segments/<int:segment_id>/members.csv",
    summary="Export the members as CSV",
    tag="segments",
    permission=READ,
    errors=(404,),
)
def export_members_csv(segment_id: int):
    """Streamed as text/csv up to SEGMENT_EXPORT_STREAM_MAX members; above that the answer is 202 with an
    export job (SegmentExportOut): follow status_url for its progress, then download_url."""
    _segment(segment_id)
    if membership.member_count(segment_id) > current_app.config.get("SEGMENT_EXPORT_STREAM_MAX", 10_000):
        return _start_export(segment_id)
    headers = {"Content-Disposition": f'attachment; filename="segment-{segment_id}.csv"'}
    return Response(stream_with_context(exports.stream_csv(segment_id)), mimetype="text/csv", headers=headers)


def _start_export(segment_id: int):
    row = exports.start_export(segment_id, _actor())
    db.session.commit()
    jobs.enqueue(segment_jobs.export_job, row.id)
    db.session.expire_all()
    return SegmentExportOut().dump(db.session.get(SegmentExport, row.id)), 202


@operation(
    bp,
    "/segments/<int:segment_id>/exports",
    "POST",
    summary="Export the members as CSV, by a job",
    tag="segments",
    permission=READ,
    response=SegmentExportOut,
    status=202,
    errors=(404,),
)
def start_export(segment_id: int):
    """Whatever the size: follow status_url for the progress, then download_url."""
    _segment(segment_id)
    return _start_export(segment_id)


def _export(export_id: int) -> SegmentExport:
    row = db.session.get(SegmentExport, export_id)
    if row is None:
        raise NotFound(f"no export {export_id}")
    return row


@operation(
    bp,
    "/segments/exports/<int:export_id>",
    summary="An export's progress",
    tag="segments",
    permission=READ,
    response=SegmentExportOut,
    errors=(404,),
)
def export_status(export_id: int):
    """status queued → running → done (or failed, with the error); progress from 0 to 1."""
    return SegmentExportOut().dump(_export(export_id))


@operation(
    bp,
    "/segments/exports/<int:export_id>/download",
    summary="Download a finished export",
    tag="segments",
    permission=READ,
    errors=(404, 409),
)
def export_download(export_id: int):
    """text/csv; 409 until the export is done."""
    row = _export(export_id)
    if row.status != "done" or row.content is None:
        raise Conflict(f"export {export_id} is {row.status}, not done yet ({row.done} of {row.total} rows)")
    headers = {"Content-Disposition": f'attachment; filename="segment-{row.segment_id}-export-{row.id}.csv"'}
    return Response(row.content, mimetype="text/csv", headers=headers)


@operation(
    bp,
    "/segments/<int:segment_id>/webhooks",
    "POST",
    summary="Subscribe a URL to enter/leave events",
    tag="segments",
    permission=WRITE,
    body=SegmentWebhookIn,
    response=SegmentWebhookCreated,
    status=201,
    errors=(404,),
)
def add_webhook(segment_id: int, payload):
    """Each event is POSTed as JSON, signed with X-CRM-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret,
    "<t>." + body)>, retried with backoff until a 2xx. The secret is shown only in this answer."""
    segment = _segment(segment_id)
    secret = payload["secret"] or outbound.new_secret()
    hook = definitions.add_webhook(segment, url=payload["url"], secret=secret, events=payload["events"])
    db.session.commit()
    return {**SegmentWebhookOut().dump(hook), "secret": secret}, 201


@operation(
    bp,
    "/segments/<int:segment_id>/webhooks",
    summary="A segment's webhooks",
    tag="segments",
    permission=READ,
    response=SegmentWebhookListOut,
    errors=(404,),
)
def list_webhooks(segment_id: int):
    """Secrets are never shown again."""
    _segment(segment_id)
    rows = db.session.scalars(select(SegmentWebhook).where(SegmentWebhook.segment_id == segment_id))
    return {"items": SegmentWebhookOut(many=True).dump(list(rows))}


@operation(
    bp,
    "/segments/<int:segment_id>/webhooks/<int:webhook_id>",
    "DELETE",
    summary="Remove a webhook",
    tag="segments",
    permission=WRITE,
    status=204,
    errors=(404,),
)
def delete_webhook(segment_id: int, webhook_id: int):
    """Its pending deliveries go with it."""
    hook = db.session.get(SegmentWebhook, webhook_id)
    if hook is None or hook.segment_id != segment_id:
        raise NotFound(f"segment {segment_id} has no webhook {webhook_id}")
    db.session.delete(hook)
    db.session.commit()
    return Response(status=204)


@operation(
    bp,
    "/segments/<int:segment_id>/deliveries",
    summary="The outbound delivery log",
    tag="segments",
    permission=READ,
    query=OutboundDeliveriesQuery,
    response=OutboundDeliveriesOut,
    errors=(404,),
)
def segment_deliveries(segment_id: int, args):
    """Newest first, each with every attempt (time, response status, error, duration)."""
    _segment(segment_id)
    rows, log, cursor = outbound.deliveries_page(
        segment_id, limit=args["limit"], cursor=args["cursor"], status=args["status"]
    )
    items = [
        {**OutboundDeliveryOut(exclude=("log",)).dump(r), "log": OutboundAttemptOut(many=True).dump(log[r.id])}
        for r in rows
    ]
    return {"items": items, "next_cursor": cursor}
