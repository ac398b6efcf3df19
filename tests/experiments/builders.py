"""Plain observations and designs for the pure experiment tests; every time is relative to NOW."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

from crm.experiments.metrics import Observation
from crm.experiments.results import Design, VariantSpec
from crm.personalization.facts import CaseFact, InteractionFact

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
ASSIGNED = NOW - timedelta(days=40)
_ids = itertools.count(1)


def design(primary: str = "conversion", guardrails: tuple[str, ...] = (), min_sample: int = 100, **kwargs) -> Design:
    variants = kwargs.pop(
        "variants", (VariantSpec("control", 50, control=True), VariantSpec("treatment", 50, action="Call them"))
    )
    return Design(
        name="check-in", variants=variants, primary_metric=primary, guardrail_metrics=guardrails,
        window_days=kwargs.pop("window_days", 30), min_sample=min_sample, **kwargs,
    )  # fmt: skip


def event(type_: str = "message", days_after: float = 1, direction: str = "inbound", **data) -> InteractionFact:
    return InteractionFact(
        id=next(_ids),
        channel="store" if type_ == "purchase" else "email",
        type=type_,
        direction=direction,
        occurred_at=ASSIGNED + timedelta(days=days_after),
        data=data,
    )


def purchase(total: str = "50.00", days_after: float = 2, **data) -> InteractionFact:
    return event("purchase", days_after, total=total, **data)


def survey(kind: str, score: float, days_after: float = 3) -> InteractionFact:
    return event("survey", days_after, kind=kind, score=score)


def case(hours: float | None = 5, reopened: int = 0, days_after: float = 1) -> CaseFact:
    opened = ASSIGNED + timedelta(days=days_after)
    return CaseFact(
        id=next(_ids),
        status="resolved" if hours is not None else "open",
        channel="email",
        subject=None,
        opened_at=opened,
        resolved_at=opened + timedelta(hours=hours) if hours is not None else None,
        reopen_count=reopened,
    )


def observation(
    variant: str = "control", *interactions: InteractionFact, cases=(), assigned_at=ASSIGNED
) -> Observation:
    return Observation(next(_ids), variant, assigned_at, tuple(interactions), tuple(cases))


def conversions(rng: random.Random, n: int, rate: float, variant: str) -> list[Observation]:
    """n customers of a variant, each buying once in their window with probability `rate`."""
    return [observation(variant, purchase()) if rng.random() < rate else observation(variant) for _ in range(n)]


def spenders(rng: random.Random, n: int, mean: float, variant: str) -> list[Observation]:
    """n customers whose spend in the window is exponential with the given mean (some spend nothing)."""
    out = []
    for _ in range(n):
        if rng.random() < 0.4:
            out.append(observation(variant))
        else:
            out.append(observation(variant, purchase(f"{rng.expovariate(1 / (mean / 0.6)):.2f}")))
    return out
