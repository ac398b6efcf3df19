"""One person's history as the table rows the pipeline leaves behind: the customer with aggregates
recomputed from its interactions (as crm.profiles.aggregates does), its identifiers with the interaction
that first brought each, attributes with provenance, cases and interactions — as tuples for COPY.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from decimal import Decimal

from bench.data.episodes import SOURCE_IDS, Episodes
from bench.data.generate import ANCHOR, Person
from crm.personalization import journey

CUSTOMER_COLUMNS = (
    "id", "status", "display_name", "created_at", "updated_at", "version", "first_seen_at", "last_seen_at",
    "last_channel", "interaction_count", "counts", "lifetime_value", "ltv_amount", "orders_count",
    "last_purchase_at", "nps_score", "nps_at", "csat_score", "csat_at", "ces_score", "ces_at", "open_cases",
    "sentiment_avg", "journey_stage", "churn_risk",
)  # fmt: skip
INTERACTION_COLUMNS = (
    "id", "source_id", "external_id", "customer_id", "channel", "type", "direction", "occurred_at", "received_at",
    "processed_at", "process_attempts", "subject", "text", "data", "customer_in", "identifiers", "thread_key",
    "case_id", "sentiment",
)  # fmt: skip
CASE_COLUMNS = (
    "id", "customer_id", "channel", "thread_key", "subject", "status", "opened_at", "first_response_at",
    "resolved_at", "resolved_by", "reopen_count", "reopened_at", "last_inbound_at", "last_activity_at",
    "resolution_seconds",
)  # fmt: skip
IDENTIFIER_COLUMNS = ("customer_id", "kind", "value", "raw", "source_id", "interaction_id", "created_at")
ATTRIBUTE_COLUMNS = (
    "customer_id",
    "key",
    "origin",
    "value",
    "source_id",
    "interaction_id",
    "observed_at",
    "updated_at",
)


def _survey_latest(rows: list[dict]) -> dict[str, tuple]:
    latest: dict[str, tuple] = {}
    for r in reversed(rows):
        if r["type"] == "survey" and r["data"]["kind"] not in latest:
            latest[r["data"]["kind"]] = (r["data"]["score"], r["occurred_at"])
    return latest


def _ltv(rows: list[dict]) -> tuple[Decimal, int, datetime | None]:
    total, orders, last = Decimal(0), 0, None
    for r in rows:
        if r["type"] != "purchase":
            continue
        amount = Decimal(r["data"]["total"])
        if r["data"].get("refund"):
            total -= amount
            continue
        total, orders, last = total + amount, orders + 1, r["occurred_at"]
    return total.quantize(Decimal("0.01")), orders, last


def stage_and_churn(rows: list[dict], orders: int, nps: int | None, last_seen: datetime) -> tuple[str, float]:
    """The journey stage by the rules of crm.personalization.journey, with a recency-driven churn risk."""
    silent = (ANCHOR - last_seen).days
    churn = round(min(0.99, 0.05 + silent / 200 + (0.15 if nps is not None and nps <= 6 else 0)), 3)
    visits = sum(1 for r in rows if r["type"] == "visit")
    contacts = sum(1 for r in rows if r["direction"] == "inbound" and r["type"] in ("message", "call"))
    if silent >= journey.LAPSED_DAYS:
        return "lapsed", churn
    if orders >= journey.REPEAT_PURCHASES and silent >= journey.AT_RISK_SILENT_DAYS:
        return "at risk", churn
    if orders >= 1 and churn >= journey.AT_RISK_CHURN:
        return "at risk", churn
    if nps is not None and nps >= journey.ADVOCATE_NPS and orders >= journey.ADVOCATE_PURCHASES:
        return "advocate", churn
    if orders >= journey.REPEAT_PURCHASES:
        return "repeat", churn
    if orders == 1:
        return "first purchase", churn
    if visits or contacts >= journey.CONSIDERATION_INBOUND:
        return "consideration", churn
    return "awareness", churn


def customer_row(p: Person, made: Episodes) -> tuple:
    rows = made.rows
    latest = _survey_latest(rows)
    ltv, orders, last_buy = _ltv(rows)
    scores = [r["sentiment"] for r in rows if r["sentiment"] is not None][-20:]
    nps, csat, ces = latest.get("nps", (None, None)), latest.get("csat", (None, None)), latest.get("ces", (None, None))
    stage, churn = stage_and_churn(rows, orders, nps[0], rows[-1]["occurred_at"])
    counts = {"channel": dict(Counter(r["channel"] for r in rows)), "type": dict(Counter(r["type"] for r in rows))}
    first, last = rows[0]["occurred_at"], rows[-1]["occurred_at"]
    return (
        p.id, "active", p.name, first, last, len(rows) + 1, first, last, rows[-1]["channel"], len(rows),
        json.dumps(counts), json.dumps({"USD": str(ltv)} if orders or ltv else {}), ltv, orders, last_buy,
        nps[0], nps[1], None if csat[0] is None else float(csat[0]), csat[1], None if ces[0] is None else float(ces[0]),
        ces[1], sum(1 for c in made.cases if c["status"] == "open"),
        round(sum(scores) / len(scores), 4) if scores else None, stage, churn,
    )  # fmt: skip


def interaction_row(r: dict) -> tuple:
    at = r["occurred_at"]
    return (
        r["id"], r["source_id"], r["external_id"], r["customer_id"], r["channel"], r["type"], r["direction"], at, at,
        at, 0, r["subject"], r["text"], json.dumps(r["data"]), json.dumps(r["customer_in"]),
        json.dumps(r["identifiers"]), r["thread_key"], r["case_id"], r["sentiment"],
    )  # fmt: skip


def case_row(c: dict) -> tuple:
    return tuple(c[k] for k in CASE_COLUMNS)


def identifier_rows(p: Person, made: Episodes) -> list[tuple]:
    """Each distinct identifier once, owned by the customer, with the interaction that first brought it."""
    seen: dict[tuple[str, str], tuple] = {}
    for r in made.rows:
        for ident in r["identifiers"]:
            key = (ident["kind"], ident["value"])
            if key not in seen:
                seen[key] = (p.id, *key, ident["raw"], r["source_id"], r["id"], r["occurred_at"])
    return list(seen.values())


def attribute_rows(p: Person, made: Episodes) -> list[tuple]:
    """Attributes from the latest purchase that carried them (channel origin), else the name from the first email."""
    carrier = next((r for r in reversed(made.rows) if "attributes" in r["customer_in"]), None)
    if carrier is None:
        values, carrier = {"first_name": p.first, "last_name": p.last}, made.rows[0]
    else:
        values = carrier["customer_in"]["attributes"]
    at = carrier["occurred_at"]
    return [(p.id, key, "channel", json.dumps(value), carrier["source_id"], carrier["id"], at, at)
            for key, value in values.items()]  # fmt: skip


__all__ = ["SOURCE_IDS", "customer_row", "interaction_row", "case_row", "identifier_rows", "attribute_rows"]
