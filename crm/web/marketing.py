"""Marketer pages: segments (the live builder, saved segments and their members, CSV export) and
the CX dashboard. The builder and the dashboard are live: their scripts call the segments and
metrics API; these views render the frame and what is saved.
"""

from __future__ import annotations

import json
from datetime import timedelta

from flask import render_template, request
from wtforms.fields.choices import SelectChoice

from crm.columns import utcnow
from crm.web import bp, dashboard_reads, segment_reads
from crm.web.access import page
from crm.web.forms import DashboardFilters

DASHBOARD_DAYS = 90  # the metrics API's default range


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
        export=segment_reads.export_of(found, members.total),
    )


@bp.get("/dashboard")
@page("metrics:read")
def dashboard():
    form = DashboardFilters(formdata=request.args)
    form.segment.choices += [SelectChoice(str(sid), name) for sid, name in segment_reads.segment_choices()]
    if not form.validate():
        return render_template("marketer/dashboard.html", form=form, scope=None, histogram=None), 400
    until = form.until.data or (utcnow().date() + timedelta(days=1))
    since = form.since.data or (until - timedelta(days=DASHBOARD_DAYS))
    if since >= until:
        form.since.errors.append("must be before the until day")
        return render_template("marketer/dashboard.html", form=form, scope=None, histogram=None), 400
    form.since.data, form.until.data = since, until  # the inputs show the range the figures cover
    scope = dashboard_reads.CaseScope(since, until, form.channel.data or None, int(form.segment.data or 0) or None)
    spread = dashboard_reads.histogram(dashboard_reads.resolution_seconds(scope))
    return render_template("marketer/dashboard.html", form=form, scope=scope, histogram=spread)
