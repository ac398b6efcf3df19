"""Is the difference between a treatment and the control real? Pure statistics on per-variant numbers.

Rates (conversion, churn, CSAT satisfied, reopen) get the two-proportion z-test: the p-value from the
pooled standard error (the usual test), the 95 % interval from the unpooled one (Wald). Means (spend,
NPS, contacts, time to resolution) get Welch's t-test, which does not assume equal variances, with its
Welch–Satterthwaite degrees of freedom for the interval. A difference is called only when the test
rejects at 5 % *and* the interval excludes zero, so the verdict and the numbers shown never disagree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats

ALPHA = 0.05
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Summary:
    """One variant's figure on one metric: n customers measured, and their mean (a rate is a mean of 0/1)."""

    n: int
    mean: float | None
    variance: float | None = None  # sample variance (n - 1); None for rates, which derive it
    successes: int | None = None  # rates only


@dataclass(frozen=True)
class Comparison:
    """Treatment minus control on one metric."""

    method: str  # two_proportion_z | welch_t
    control: Summary
    treatment: Summary
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    significant: bool

    @property
    def relative(self) -> float | None:
        """The difference as a share of the control's figure (lift), when the control is not zero."""
        if self.difference is None or not self.control.mean:
            return None
        return self.difference / self.control.mean


def summarize_rate(outcomes: Sequence[bool | int]) -> Summary:
    successes = sum(1 for o in outcomes if o)
    n = len(outcomes)
    return Summary(n=n, mean=successes / n if n else None, successes=successes)


def summarize_mean(values: Sequence[float]) -> Summary:
    n = len(values)
    if not n:
        return Summary(n=0, mean=None)
    mean = math.fsum(values) / n
    variance = math.fsum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else None
    return Summary(n=n, mean=mean, variance=variance)


def compare_rates(control: Summary, treatment: Summary, alpha: float = ALPHA) -> Comparison:
    """Two-proportion z-test of treatment vs control."""
    n1, n2 = control.n, treatment.n
    if not n1 or not n2:
        return _undecided("two_proportion_z", control, treatment)
    p1, p2 = control.successes / n1, treatment.successes / n2
    diff = p2 - p1
    pooled = (control.successes + treatment.successes) / (n1 + n2)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    # Both groups all 0 or all 1: no variation at all, so nothing to reject.
    p_value = 1.0 if se_pooled == 0 else float(2 * stats.norm.sf(abs(diff) / se_pooled))
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    z = float(stats.norm.ppf(1 - (1 - CONFIDENCE) / 2))
    return _decided("two_proportion_z", control, treatment, diff, diff - z * se, diff + z * se, p_value, alpha)


def compare_means(control: Summary, treatment: Summary, alpha: float = ALPHA) -> Comparison:
    """Welch's t-test of treatment vs control."""
    n1, n2 = control.n, treatment.n
    if n1 < 2 or n2 < 2 or control.variance is None or treatment.variance is None:
        return _undecided("welch_t", control, treatment)
    diff = treatment.mean - control.mean
    a, b = control.variance / n1, treatment.variance / n2
    se = math.sqrt(a + b)
    if se == 0:
        # Every customer in both groups has the same value: a difference, if any, is exact.
        return _decided("welch_t", control, treatment, diff, diff, diff, 1.0 if diff == 0 else 0.0, alpha)
    df = (a + b) ** 2 / (a**2 / (n1 - 1) + b**2 / (n2 - 1))
    p_value = float(2 * stats.t.sf(abs(diff) / se, df))
    margin = float(stats.t.ppf(1 - (1 - CONFIDENCE) / 2, df)) * se
    return _decided("welch_t", control, treatment, diff, diff - margin, diff + margin, p_value, alpha)


def _decided(method, control, treatment, diff, low, high, p_value, alpha) -> Comparison:
    excludes_zero = low > 0 or high < 0
    return Comparison(method, control, treatment, diff, low, high, p_value, p_value < alpha and excludes_zero)


def _undecided(method: str, control: Summary, treatment: Summary) -> Comparison:
    diff = None
    if control.mean is not None and treatment.mean is not None:
        diff = treatment.mean - control.mean
    return Comparison(method, control, treatment, diff, None, None, None, False)


def compare(kind: str, control: Summary, treatment: Summary, alpha: float = ALPHA) -> Comparison:
    """compare_rates for kind 'rate', compare_means for kind 'mean'."""
    if kind == "rate":
        return compare_rates(control, treatment, alpha)
    if kind == "mean":
        return compare_means(control, treatment, alpha)
    raise ValueError(f"unknown metric kind {kind!r}")


def direction(comparison: Comparison, higher_is_better: bool) -> str:
    """'better', 'worse' or 'same' (not significant) for the treatment."""
    if not comparison.significant or comparison.difference is None:
        return "same"
    up = comparison.difference > 0
    return "better" if up == higher_is_better else "worse"
