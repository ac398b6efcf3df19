"""Cases: inbound messages and calls open or continue a case per customer and thread.

An outbound reply on an open case sets its first response time; an agent resolves it; an inbound
after resolution reopens it and counts the reopen.
"""

from __future__ import annotations

from sqlalchemy import func, select

from crm import audit
from crm.columns import utcnow
from crm.errors import Conflict, NotFound
from crm.extensions import db
from crm.profiles.models import Case, Customer, Interaction

CASE_TYPES = ("message", "call")


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
        if case is None:
            case = Case(
                customer_id=customer.id,
                channel=interaction.channel,
                thread_key=key,
                subject=(interaction.subject or (interaction.text or "")[:120]) or None,
                status="open",
                opened_at=at,
            )
            db.session.add(case)
        elif case.status == "resolved" and case.resolved_at is not None and at > case.resolved_at:
            case.status, case.reopen_count = "open", case.reopen_count + 1
        if case.last_inbound_at is None or at > case.last_inbound_at:
            case.last_inbound_at = at
    elif case is None or case.status != "open":
        return None
    elif case.first_response_at is None and at >= case.opened_at:
        case.first_response_at = at
    if case.last_activity_at is None or at > case.last_activity_at:
        case.last_activity_at = at
    db.session.flush()
    interaction.case_id = case.id
    return case


def resolve_case(case_id: int, actor: str) -> Case:
    case = db.session.get(Case, case_id)
    if case is None:
        raise NotFound(f"no case {case_id}")
    if case.status == "resolved":
        raise Conflict(f"case {case_id} is resolved already")
    now = utcnow()
    case.status, case.resolved_at, case.resolved_by = "resolved", now, actor
    case.resolution_seconds = (now - case.opened_at).total_seconds()
    audit.record(actor, "resolve_case", "case", case.id, customer_id=case.customer_id)
    return case


def open_case_count(customer_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count()).select_from(Case).where(Case.customer_id == customer_id, Case.status == "open")
        )
        or 0
    )
