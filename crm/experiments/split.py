"""The traffic split: which variant a customer gets, from nothing but the experiment's key and their id.

Pure and deterministic: sha256 of "<key>:<customer id>" read as a number in [0, 1), laid onto the
variants' cumulative shares in their stored order. Never Python's hash(), which is salted per process:
the same customer gets the same variant in every worker, web process and restart, and anyone can
recompute an assignment by hand to check it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from decimal import Decimal

SHARE_TOTAL = Decimal(100)
_SCALE = 2**64


def bucket(key: str, customer_id: int) -> float:
    """A uniform number in [0, 1) for this experiment key and customer."""
    digest = hashlib.sha256(f"{key}:{int(customer_id)}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def pick(shares: Sequence[tuple[str, float | Decimal]], u: float) -> str:
    """The variant whose slice of [0, 1) holds u; shares are percentages summing to 100, in order.

    Cumulative sums are taken in Decimal so that 33.3 + 33.3 + 33.4 is exactly 100 and the last
    slice is never lost to float rounding.
    """
    if not shares:
        raise ValueError("an experiment needs at least one variant")
    if not 0 <= u < 1:
        raise ValueError(f"u must be in [0, 1), got {u}")
    cumulative = Decimal(0)
    for name, share in shares:
        cumulative += Decimal(str(share))
        if Decimal(str(u)) * SHARE_TOTAL < cumulative:
            return name
    return shares[-1][0]


def assign(key: str, customer_id: int, shares: Sequence[tuple[str, float | Decimal]]) -> tuple[str, float]:
    """(variant, bucket) for one customer."""
    u = bucket(key, customer_id)
    return pick(shares, u), u
