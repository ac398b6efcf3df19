"""Profile aggregates, recomputed from the customer's rows (never incremented): first and last seen,
counts per channel and type, last contact channel, lifetime value per currency, latest survey scores,
open cases, recent sentiment, and the display name from the attributes.

Recomputing makes a job that runs twice count once, and a merge or undo right by construction.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal, InvalidOperation

from flask import current_app
from sqlalchemy import func, select

from crm.extensions import db
from crm.profiles import attributes
from crm.profiles.cases import open_case_count
from crm.profiles.models import Customer, Interaction

SENTIMENT_WINDOW = 20


def _money(value) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return Decimal(0)


def recompute(customer: Customer) -> None:
    # Reads only: without autoflush each query would first write the attributes set so far.
    with db.session.no_autoflush:
        _counts(customer)
        _purchases(customer)
        _surveys(customer)
        cid = customer.id
        customer.open_cases = open_case_count(cid)
        scores = list(
            db.session.scalars(
                select(Interaction.sentiment)
                .where(Interaction.customer_id == cid, Interaction.sentiment.is_not(None))
                .order_by(Interaction.occurred_at.desc())
                .limit(SENTIMENT_WINDOW)
            )
        )
        customer.sentiment_avg = round(sum(scores) / len(scores), 4) if scores else None
        customer.display_name = attributes.display_name(attributes.effective(cid))
        customer.version = (customer.version or 0) + 1


def _counts(customer: Customer) -> None:
    """Counts per channel and type, first and last seen, the last contact channel: two queries."""
    cid = customer.id
    groups = db.session.execute(
        select(
            Interaction.channel,
            Interaction.type,
            func.count(),
            func.min(Interaction.occurred_at),
            func.max(Interaction.occurred_at),
        )
        .where(Interaction.customer_id == cid)
        .group_by(Interaction.channel, Interaction.type)
    ).all()
    by_channel: Counter[str] = Counter()
    by_type: Counter[str] = Counter()
    # An agent's note is not the customer getting in touch: it counts, but is not "seen" or a channel.
    contacts = [g for g in groups if g[1] != "note"]
    for channel, kind, count, _, _ in groups:
        by_channel[channel] += count
        by_type[kind] += count
    customer.interaction_count = sum(by_channel.values())
    customer.counts = {"channel": dict(by_channel), "type": dict(by_type)}
    customer.first_seen_at = min((g[3] for g in contacts), default=None)
    customer.last_seen_at = max((g[4] for g in contacts), default=None)
    customer.last_channel = db.session.scalar(
        select(Interaction.channel)
        .where(Interaction.customer_id == cid, Interaction.type != "note")
        .order_by(Interaction.occurred_at.desc(), Interaction.id.desc())
        .limit(1)
    )


def _purchases(customer: Customer) -> None:
    rows = db.session.execute(
        select(Interaction.data, Interaction.occurred_at).where(
            Interaction.customer_id == customer.id, Interaction.type == "purchase"
        )
    ).all()
    per_currency: Counter[str] = Counter()
    orders, last = 0, None
    for data, occurred_at in rows:
        amount = _money((data or {}).get("total"))
        currency = (data or {}).get("currency") or current_app.config["BASE_CURRENCY"]
        if (data or {}).get("refund"):
            per_currency[currency] -= abs(amount)
            continue
        per_currency[currency] += amount
        orders += 1
        last = occurred_at if last is None or occurred_at > last else last
    customer.lifetime_value = {cur: str(val.quantize(Decimal("0.01"))) for cur, val in sorted(per_currency.items())}
    customer.ltv_amount = per_currency.get(current_app.config["BASE_CURRENCY"], Decimal(0)).quantize(Decimal("0.01"))
    customer.orders_count, customer.last_purchase_at = orders, last


def _surveys(customer: Customer) -> None:
    rows = db.session.execute(
        select(Interaction.data, Interaction.occurred_at)
        .where(Interaction.customer_id == customer.id, Interaction.type == "survey")
        .order_by(Interaction.occurred_at.desc(), Interaction.id.desc())
    ).all()
    latest: dict[str, tuple] = {}
    for data, occurred_at in rows:
        kind = (data or {}).get("kind")
        if kind in ("nps", "csat", "ces") and kind not in latest and (data or {}).get("score") is not None:
            latest[kind] = (float(data["score"]), occurred_at)
    nps = latest.get("nps")
    customer.nps_score, customer.nps_at = (int(nps[0]), nps[1]) if nps else (None, None)
    customer.csat_score, customer.csat_at = latest.get("csat", (None, None))
    customer.ces_score, customer.ces_at = latest.get("ces", (None, None))
