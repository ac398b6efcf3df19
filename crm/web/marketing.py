"""Marketer pages: segments (the live builder, saved segments and their members, CSV export) and
the CX dashboard. The builder and the dashboard are live: their scripts call the segments and
metrics API; these views render the frame and what is saved.
"""

from __future__ import annotations

import json

from flask import render_template, request

from crm.web import bp, segment_reads
from crm.web.access import page


def _page_arg() -> int:
    value = request.args.get("page", "1")
    return int(value) if value.isdigit() and int(value) > 0 else 1


@bp.get("/segments")
@page("segments:read")
def segments():
    found = segment_reads.segments_page(_page_arg(), request.args.get("q", "").strip() or None)
    return render_template("marketer/segments.html", segments=found, q=request.args.get("q", ""))


@bp.get("/segments/new")
@page("segments:write")
def segment_new():
    return render_template("marketer/builder.html", segment=None, rule=None, builder=segment_reads.builder_options())


@bp.get("/segments/<int:segment_id>/edit")
@page("segments:write")
def segment_edit(segment_id: int):
    segment = segment_reads.get_segment(segment_id)
    return render_template(
        "marketer/builder.html",
        segment=segment,
        rule=segment.rule,
        builder=segment_reads.builder_options(exclude=segment.id),
    )


@bp.get("/segments/<int:segment_id>")
@page("segments:read")
def segment(segment_id: int):
    found = segment_reads.get_segment(segment_id)
    members = segment_reads.members_page(found, cursor=request.args.get("cursor"))
    return render_template(
        "marketer/segment.html",
        segment=found,
        members=members,
        rule_json=json.dumps(found.rule, indent=2),
        export_url=segment_reads.export_url(found),
    )


@bp.get("/dashboard")
@page("metrics:read")
def dashboard():
    return render_template("marketer/dashboard.html", segments=segment_reads.segment_choices())
