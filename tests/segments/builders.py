"""Canonical interactions for segment tests, delivered through the real webhook and worker."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from tests.factories import interaction, post_generic

_seq = itertools.count(1)


def ago(days: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


def message(email: str, days: float = 1, *, direction: str = "inbound", **fields) -> dict:
    return interaction(
        f"msg-{next(_seq)}", customer={"email": email}, occurred_at=ago(days), direction=direction, **fields
    )


def order(email: str, total: str, *, days: float = 1, skus=("SKU-1",), category: str = "shoes", **customer) -> dict:
    items = [{"sku": sku, "name": sku, "category": category, "quantity": 1, "unit_price": total} for sku in skus]
    return interaction(
        f"order-{next(_seq)}",
        type_="purchase",
        customer={"email": email, **customer},
        occurred_at=ago(days),
        data={"currency": "USD", "total": total, "items": items, "order_number": f"#{next(_seq)}"},
    )


def survey(email: str, kind: str, score: int, *, days: float = 1) -> dict:
    return interaction(
        f"survey-{next(_seq)}",
        type_="survey",
        customer={"email": email},
        occurred_at=ago(days),
        data={"kind": kind, "score": score},
    )


def deliver(client, source, run_jobs, *items: dict) -> list[int]:
    """Post the interactions signed, then let the worker process (and index) them; returns their ids."""
    response = post_generic(client, source, {"interactions": list(items)} if len(items) > 1 else items[0])
    assert response.status_code in (200, 202), response.json
    run_jobs()
    return response.json["ids"]
