"""`flask segments ...`: list saved segments, work their members out again, send due webhooks, export CSV."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select
from tqdm import tqdm

from crm.extensions import db
from crm.segments import exports, outbound
from crm.segments.membership import member_count, refresh_segment
from crm.segments.models import Segment
from crm.segments.realtime import dependency_order

segments_cli = AppGroup("segments", help="Saved segments: members, refresh, outbound webhooks, export.")


@segments_cli.command("list")
def list_command() -> None:
    """Every saved segment with its kind, members and when they were last worked out."""
    for s in db.session.scalars(select(Segment).order_by(Segment.id)):
        when = s.refreshed_at.isoformat(timespec="seconds") if s.refreshed_at else "never"
        click.echo(f"{s.id:>5}  {s.kind:<7}  {member_count(s.id):>8} members  refreshed {when}  {s.name}")


def _chosen(ids: tuple[int, ...], every: bool) -> list[Segment]:
    if every:
        return dependency_order(list(db.session.scalars(select(Segment))))
    if not ids:
        raise click.UsageError("name segment ids, or pass --all")
    found = {s.id: s for s in db.session.scalars(select(Segment).where(Segment.id.in_(ids)))}
    missing = sorted(set(ids) - set(found))
    if missing:
        raise click.UsageError(f"no segment {', '.join(map(str, missing))} (see `flask segments list`)")
    return dependency_order(list(found.values()))


@segments_cli.command("refresh")
@click.argument("segment_ids", nargs=-1, type=int)
@click.option("--all", "every", is_flag=True, help="Every segment (static ones take a new snapshot).")
def refresh_command(segment_ids: tuple[int, ...], every: bool) -> None:
    """Work the members of segments out again now, recording who enters and who leaves."""
    chosen = [(s.id, s.name) for s in _chosen(segment_ids, every)]
    db.session.rollback()
    with tqdm(chosen, desc="refreshing", unit="segment") as bar:
        for segment_id, name in bar:
            result = refresh_segment(segment_id)
            bar.write(
                f"{segment_id} {name}: {result['entered']} entered, {result['left']} left, {result['members']} now"
            )


@segments_cli.command("deliver")
@click.option("--limit", default=500, show_default=True, help="At most this many deliveries.")
def deliver_command(limit: int) -> None:
    """Send the outbound webhook deliveries that are due now (the worker does this every few seconds)."""
    delivered = sent = 0
    with tqdm(total=limit, desc="delivering", unit="event") as bar:
        while sent < limit:
            claimed, done = outbound.send_due(limit=min(outbound.BATCH, limit - sent))
            if not claimed:
                break
            delivered, sent = delivered + done, sent + claimed
            bar.update(claimed)
    click.echo(f"{delivered} delivered of {sent} sent; the rest wait for their retry")


@segments_cli.command("export")
@click.argument("segment_id", type=int)
@click.argument("path", type=click.File("w", encoding="utf-8"))
def export_command(segment_id: int, path) -> None:
    """Write a segment's members to PATH as CSV (`-` for standard output)."""
    if db.session.get(Segment, segment_id) is None:
        raise click.UsageError(f"no segment {segment_id} (see `flask segments list`)")
    with tqdm(total=member_count(segment_id), desc="exporting", unit="member", disable=path.name == "<stdout>") as bar:
        path.write(exports.csv_lines([list(exports.COLUMNS)]))
        for rows in exports.member_batches(segment_id):
            path.write(exports.csv_lines(rows))
            bar.update(len(rows))
