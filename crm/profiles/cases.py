"""Cases: inbound messages and calls open or continue a case per customer and thread.

An outbound reply on an open case sets its first response time; an agent resolves it; an inbound
after resolution reopens it and counts the reopen. Resolution time is the sum of the open spells, so
a case reopened a week later does not count the week it sat resolved. Interactions may arrive out of
order: a reply processed before the message it answers is attached once that message opens the case.
"""

from __future__ import annotations

from sqlalchemy import func, select

from crm import audit
from crm.columns import utcnow
from crm.errors import Conflict, NotFound
from crm.extensions import db
from crm.profiles.models import Case, Customer, Interaction

CASE_TYPES = ("message", "call")
CASE_STATUSES = ("open", "resolved")


def thread_key(interaction: Interaction) -> str:
    data = interaction.data or {}
    thread = data.get("thread_id") or data.get("conversation_id") or data.get("message_id")
    # Calls and thread-less messages share one running case per customer and channel.
    return f"{interaction.channel}:{thread or 'default'}"[:500]


def apply_interaction(customer: Customer, interaction: Interaction) -> Case | None:
    """Attach the interaction to its case, opening or reopening one for an inbound contact."""
    if interaction.type not in CASE_TYPES:
        return None
    key = thread_key(interaction)
    interaction.thread_key = key
    case = db.session.scalar(
        select(Case)
        .where(Case.customer_id == customer.id, Case.thread_key == key)
        .order_by(Case.opened_at.desc())
        .limit(1)
    )
    at = interaction.occurred_at
    if interaction.direction == "inbound":
        case = _inbound(case, customer, interaction)
    elif case is None or case.status != "open":
        return None
    elif at >= case.opened_at and (case.first_response_at is None or at < case.first_response_at):
        case.first_response_at = at
    if case.last_activity_at is None or at > case.last_activity_at:
        case.last_activity_at = at
    db.session.flush()
    interaction.case_id = case.id
    return case


def _inbound(case: Case | None, customer: Customer, interaction: Interaction) -> Case:
    at = interaction.occurred_at
    if case is None:
        case = Case(
            customer_id=customer.id,
            channel=interaction.channel,
            thread_key=interaction.thread_key,
            subject=(interaction.subject or (interaction.text or "")[:120]) or None,
            status="open",
            opened_at=at,
            reopened_at=at,
        )
        db.session.add(case)
        db.session.flush()
        _adopt_early_replies(case, customer.id)
    elif case.status == "resolved" and case.resolved_at is not None and at > case.resolved_at:
        case.status, case.reopen_count, case.reopened_at = "open", case.reopen_count + 1, at
    elif case.status == "open" and case.reopen_count == 0 and at < case.opened_at:
        # An earlier message processed late: the case opened when that one was sent.
        case.opened_at = case.reopened_at = at
    if case.last_inbound_at is None or at > case.last_inbound_at:
        case.last_inbound_at = at
    return case


def _adopt_early_replies(case: Case, customer_id: int) -> None:
    """Outbound replies on this thread that were processed before the message that opened the case."""
    replies = db.session.scalars(
        select(Interaction).where(
            Interaction.customer_id == customer_id,
            Interaction.thread_key == case.thread_key,
            Interaction.direction == "outbound",
            Interaction.case_id.is_(None),
            Interaction.occurred_at >= case.opened_at,
        )
    )
    for reply in replies:
        reply.case_id = case.id
        if case.first_response_at is None or reply.occurred_at < case.first_response_at:
            case.first_response_at = reply.occurred_at
        if case.last_activity_at is None or reply.occurred_at > case.last_activity_at:
            case.last_activity_at = reply.occurred_at


def resolve_case(case_id: int, actor: str) -> Case:
    """An agent resolves a case; the time it was open in this spell is added to its resolution time."""
    case = db.session.get(Case, case_id)
    if case is None:
        raise NotFound(f"no case {case_id}")
    if case.status == "resolved":
        raise Conflict(f"case {case_id} is resolved already")
    now = utcnow()
    spell = max((now - (case.reopened_at or case.opened_at)).total_seconds(), 0.0)
    case.status, case.resolved_at, case.resolved_by = "resolved", now, actor
    case.resolution_seconds = round((case.resolution_seconds or 0.0) + spell, 3)
    audit.record(actor, "resolve_case", "case", case.id, customer_id=case.customer_id)
    db.session.flush()
    return case


def first_response_seconds(case: Case) -> float | None:
    if case.first_response_at is None:
        return None
    return max((case.first_response_at - case.opened_at).total_seconds(), 0.0)


def open_case_count(customer_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count()).select_from(Case).where(Case.customer_id == customer_id, Case.status == "open")
        )
        or 0
    )


def cases_of(
    customer_id: int, *, status: str | None = None, limit: int = 25, before_id: int | None = None
) -> tuple[list[Case], int | None]:
    """A customer's cases, newest first (by id); (page, the id to pass as `before_id` for the next page)."""
    stmt = select(Case).where(Case.customer_id == customer_id)
    if status:
        stmt = stmt.where(Case.status == status)
    if before_id:
        stmt = stmt.where(Case.id < before_id)
    rows = list(db.session.scalars(stmt.order_by(Case.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)
