"""CSV exports of a segment's members: streamed straight to the client when small, built by a job with
its progress when large (the file is stored in segment_exports so any web process can serve it).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from sqlalchemy import select

from crm.columns import utcnow
from crm.extensions import db
from crm.segments.membership import member_count
from crm.segments.models import SegmentExport, SegmentMember
from crm.segments.preview import member_summaries

COLUMNS = (
    "customer_id",
    "display_name",
    "email",
    "phone",
    "entered_at",
    "last_seen_at",
    "journey_stage",
    "ltv_amount",
    "orders_count",
)
BATCH = 1000


def _cell(value) -> str:
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    # A cell starting with = + - @ is a formula to a spreadsheet: keep it text.
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _numeric(text) else text


def _numeric(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _row(summary: dict, entered_at) -> list[str]:
    values = {**summary, "customer_id": summary["id"], "entered_at": entered_at}
    return [_cell(values.get(column)) for column in COLUMNS]


def member_batches(segment_id: int, batch: int = BATCH) -> Iterator[list[list[str]]]:
    """Rows of members in customer id order, a batch at a time (keyset: no offset scans)."""
    after = 0
    while True:
        rows = list(
            db.session.execute(
                select(SegmentMember.customer_id, SegmentMember.entered_at)
                .where(SegmentMember.segment_id == segment_id, SegmentMember.customer_id > after)
                .order_by(SegmentMember.customer_id)
                .limit(batch)
            )
        )
        if not rows:
            return
        entered = dict(rows)
        summaries = member_summaries([cid for cid, _ in rows])
        yield [_row(summary, entered[summary["id"]]) for summary in summaries]
        after = rows[-1][0]


def csv_lines(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()


def stream_csv(segment_id: int) -> Iterator[str]:
    yield csv_lines([list(COLUMNS)])
    for rows in member_batches(segment_id):
        yield csv_lines(rows)


def start_export(segment_id: int, actor: str) -> SegmentExport:
    row = SegmentExport(segment_id=segment_id, status="queued", requested_by=actor, total=member_count(segment_id))
    db.session.add(row)
    db.session.flush()
    return row


def run_export(export_id: int) -> None:
    """The job: write the CSV batch by batch, committing progress as it goes; idempotent once done."""
    row = db.session.get(SegmentExport, export_id)
    if row is None or row.status == "done":
        return
    row.status, row.started_at, row.done, row.error = "running", utcnow(), 0, None
    row.total = member_count(row.segment_id)
    db.session.commit()
    buffer = io.StringIO()
    buffer.write(csv_lines([list(COLUMNS)]))
    try:
        for rows in member_batches(row.segment_id):
            buffer.write(csv_lines(rows))
            row = db.session.get(SegmentExport, export_id)
            row.done += len(rows)
            db.session.commit()
    except Exception as exc:
        db.session.rollback()
        row = db.session.get(SegmentExport, export_id)
        row.status, row.error, row.finished_at = "failed", f"{exc.__class__.__name__}: {exc}"[:2000], utcnow()
        db.session.commit()
        raise
    row = db.session.get(SegmentExport, export_id)
    row.content, row.status, row.finished_at = buffer.getvalue().encode(), "done", utcnow()
    row.total = max(row.total, row.done)
    db.session.commit()
