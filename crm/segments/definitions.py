"""Saved segments: create, change and delete them, with their rules checked (every bad node named by its
path, referenced segments existing, no segment reading its own membership through others).

The caller commits, then queues `crm.segments.jobs.refresh_segment_job` when the rule changed, so the
members follow (a static segment takes its snapshot that way too).
"""

from __future__ import annotations

from marshmallow import ValidationError
from sqlalchemy import select

from crm.errors import Conflict, InvalidPayload
from crm.extensions import db
from crm.search import record_change
from crm.segments.models import Segment, SegmentMember, SegmentWebhook
from crm.segments.rules import referenced_segments, segment_paths, validate_rule

KINDS = ("dynamic", "static")


def segment_exists(segment_id: int) -> bool:
    return db.session.get(Segment, segment_id) is not None


def check_rule(rule, *, segment_id: int | None = None) -> dict:
    """The stored form of a rule; InvalidPayload (422, errors {"rule": {"$.path": [...]}}) when it is bad
    or would make a cycle."""
    try:
        cleaned = validate_rule(rule, segment_exists=segment_exists)
    except ValidationError as exc:
        raise InvalidPayload("the rule is not valid; see errors", errors={"rule": exc.messages}) from exc
    errors = _cycles(cleaned, segment_id) if segment_id is not None else {}
    if errors:
        raise InvalidPayload("the rule would read its own membership; see errors", errors={"rule": errors})
    return cleaned


def _cycles(rule: dict, segment_id: int) -> dict[str, list[str]]:
    graph = {s.id: referenced_segments(s.rule) for s in db.session.scalars(select(Segment))}
    graph[segment_id] = referenced_segments(rule)
    errors: dict[str, list[str]] = {}
    for path, ref in segment_paths(rule):
        chain = _path_to(graph, ref, segment_id)
        if chain is not None:
            route = " → ".join(str(s) for s in [segment_id, *chain])
            errors.setdefault(path, []).append(f"segment {ref} reads this segment's membership ({route}): a cycle")
    return errors


def _path_to(graph: dict[int, set[int]], start: int, goal: int) -> list[int] | None:
    """A chain of references from start to goal, if any (depth-first, each segment once)."""
    stack, seen = [(start, [start])], set()
    while stack:
        node, chain = stack.pop()
        if node == goal:
            return chain
        if node in seen:
            continue
        seen.add(node)
        stack.extend((nxt, [*chain, nxt]) for nxt in sorted(graph.get(node, ()), reverse=True))
    return None


def _unique_name(name: str, segment_id: int | None = None) -> None:
    clash = db.session.scalar(select(Segment).where(Segment.name == name))
    if clash is not None and clash.id != segment_id:
        raise Conflict(f"a segment named {name!r} exists already (id {clash.id})", errors={"name": ["already used"]})


def create_segment(*, name: str, rule, kind: str = "dynamic", description: str | None = None, actor: str) -> Segment:
    _unique_name(name)
    cleaned = check_rule(rule)
    segment = Segment(name=name, kind=kind, rule=cleaned, description=description, created_by=actor, member_count=0)
    db.session.add(segment)
    db.session.flush()
    return segment


def update_segment(segment: Segment, changes: dict) -> bool:
    """Apply name / description / rule / kind changes; True when membership must be worked out again."""
    refresh = False
    if "name" in changes and changes["name"] != segment.name:
        _unique_name(changes["name"], segment.id)
        segment.name = changes["name"]
    if "description" in changes:
        segment.description = changes["description"]
    if "rule" in changes:
        cleaned = check_rule(changes["rule"], segment_id=segment.id)
        refresh = cleaned != segment.rule
        segment.rule = cleaned
    if "kind" in changes and changes["kind"] != segment.kind:
        segment.kind = changes["kind"]
        refresh = True
    db.session.flush()
    return refresh


def dependents(segment_id: int) -> list[Segment]:
    return [
        s for s in db.session.scalars(select(Segment).order_by(Segment.id)) if segment_id in referenced_segments(s.rule)
    ]


def delete_segment(segment: Segment) -> None:
    readers = [s for s in dependents(segment.id) if s.id != segment.id]
    if readers:
        names = ", ".join(f"{s.name} (id {s.id})" for s in readers)
        raise Conflict(f"segment {segment.id} is read by {names}: change or delete those first")
    # Members, history, webhooks, deliveries and exports go with it (ON DELETE CASCADE); the members'
    # documents lose the segment.
    for cid in db.session.scalars(select(SegmentMember.customer_id).where(SegmentMember.segment_id == segment.id)):
        record_change("customer", cid)
    db.session.delete(segment)


def add_webhook(segment: Segment, *, url: str, secret: str, events: list[str]) -> SegmentWebhook:
    hook = SegmentWebhook(segment_id=segment.id, url=url, secret=secret, events=events, active=True)
    db.session.add(hook)
    db.session.flush()
    return hook
