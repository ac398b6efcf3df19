"""An experiment's results from its observations: per-variant figures, each treatment against the control
with its 95 % interval, a plain verdict, and the primary metric over time for the chart.

Pure: `Design` is the plain shape of an experiment (models.Experiment.design() builds it) and the
observations come from observations.py, so every verdict can be checked on in-memory data.
Only the primary and guard-rail metrics chosen up front are tested: looking at every metric and
reporting the one that moved is how experiments find effects that are not there.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from crm.experiments.metrics import Metric, Observation, metric
from crm.experiments.statistics import Comparison, Summary, compare, direction, summarize_mean, summarize_rate

MAX_SERIES_POINTS = 120


@dataclass(frozen=True)
class VariantSpec:
    name: str
    share: float
    control: bool = False
    action: str | None = None


@dataclass(frozen=True)
class Design:
    name: str
    variants: tuple[VariantSpec, ...]
    primary_metric: str
    guardrail_metrics: tuple[str, ...] = ()
    window_days: int = 30
    min_sample: int = 100
    base_currency: str = "USD"

    @property
    def control(self) -> VariantSpec:
        return next(v for v in self.variants if v.control)

    @property
    def treatments(self) -> list[VariantSpec]:
        return [v for v in self.variants if not v.control]


@dataclass
class MetricResult:
    metric: Metric
    role: str  # primary | guardrail
    summaries: dict[str, Summary]
    comparisons: dict[str, Comparison] = field(default_factory=dict)  # by treatment variant


def measure(design: Design, name: str, measured: Sequence[Observation], role: str) -> MetricResult:
    """Summaries per variant and each treatment compared with the control, on one metric."""
    m = metric(name)
    values: dict[str, list[float]] = defaultdict(list)
    for o in measured:
        value = m.value(o, design.base_currency)
        if value is not None:
            values[o.variant].append(value)
    summarize = summarize_rate if m.kind == "rate" else summarize_mean
    summaries = {v.name: summarize(values.get(v.name, [])) for v in design.variants}
    control = summaries[design.control.name]
    comparisons = {t.name: compare(m.kind, control, summaries[t.name]) for t in design.treatments}
    return MetricResult(m, role, summaries, comparisons)


def compute(design: Design, observations: Iterable[Observation], now: datetime) -> dict:
    """The whole results body: variants with counts, metrics with comparisons, the verdict, the series."""
    known = {v.name for v in design.variants}
    observations = [o for o in observations if o.variant in known]
    measured = [o for o in observations if o.measured_by(now, design.window_days)]
    primary = measure(design, design.primary_metric, measured, "primary")
    guardrails = [measure(design, g, measured, "guardrail") for g in design.guardrail_metrics]
    assigned = _count(o.variant for o in observations)
    counted = _count(o.variant for o in measured)
    return {
        "as_of": now,
        "window_days": design.window_days,
        "min_sample": design.min_sample,
        "control": design.control.name,
        "variants": [
            {
                "name": v.name,
                "share": v.share,
                "control": v.control,
                "action": v.action,
                "assigned": assigned.get(v.name, 0),
                "measured": counted.get(v.name, 0),
            }
            for v in design.variants
        ],
        "metrics": [metric_body(design, r) for r in (primary, *guardrails)],
        "verdict": verdict(design, primary, guardrails),
        "series": series(design, measured),
    }


def _count(names: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for name in names:
        out[name] += 1
    return out


def metric_body(design: Design, result: MetricResult) -> dict:
    m, currency = result.metric, design.base_currency
    return {
        "metric": m.name,
        "label": m.label,
        "role": result.role,
        "kind": m.kind,
        "unit": m.unit_in(currency),
        "higher_is_better": m.higher_is_better,
        "definition": m.definition,
        "variants": [
            {
                "variant": name,
                "n": s.n,
                "value": s.mean,
                "successes": s.successes,
                "display": m.format_value(s.mean, currency),
            }
            for name, s in result.summaries.items()
        ],
        "comparisons": [
            {
                "variant": name,
                "method": c.method,
                "difference": c.difference,
                "relative": c.relative,
                "ci_low": c.ci_low,
                "ci_high": c.ci_high,
                "p_value": c.p_value,
                "significant": c.significant,
                "direction": direction(c, m.higher_is_better),
                "display": describe(m, c, currency),
            }
            for name, c in result.comparisons.items()
        ],
    }


def describe(m: Metric, c: Comparison, currency: str = "") -> str:
    """'+8.1 points (95 % CI +5.2 to +11.0, p < 0.001)'."""
    if c.difference is None:
        return "not measured yet"
    text = m.format_difference(c.difference, currency)
    if c.ci_low is None:
        return f"{text} (too few customers for an interval)"
    low, high = m.format_difference(c.ci_low, unit=False), m.format_difference(c.ci_high, unit=False)
    p = "p < 0.001" if c.p_value < 0.001 else f"p = {c.p_value:.3f}"
    return f"{text} (95 % CI {low} to {high}, {p})"


def verdict(design: Design, primary: MetricResult, guardrails: Sequence[MetricResult]) -> dict:
    """{status, winner, text}: winner | worse | guardrail_breach | no_difference | insufficient_data."""
    m = primary.metric
    short = {name: s.n for name, s in primary.summaries.items() if s.n < design.min_sample}
    if short:
        counts = ", ".join(f"{name} {s.n}" for name, s in primary.summaries.items())
        text = (
            f"Not enough data to call a winner: {m.label} is measured on {counts} customers; at least "
            f"{design.min_sample} per variant are needed (a customer is measured {design.window_days} days "
            "after assignment, and only if the metric applies to them)."
        )
        return {"status": "insufficient_data", "winner": None, "text": text}
    better = [(name, c) for name, c in primary.comparisons.items() if direction(c, m.higher_is_better) == "better"]
    worse = [(name, c) for name, c in primary.comparisons.items() if direction(c, m.higher_is_better) == "worse"]
    currency = design.base_currency
    if better:
        name, c = max(better, key=lambda entry: abs(entry[1].difference))
        breaches = _breaches(name, guardrails)
        if breaches:
            text = (
                f"{name} improved {m.label} by {describe(m, c, currency)}, but worsened the guard-rail "
                + "; ".join(
                    f"{g.metric.label} by {describe(g.metric, g.comparisons[name], currency)}" for g in breaches
                )
                + ". No winner is called."
            )
            return {"status": "guardrail_breach", "winner": None, "text": text}
        text = f"{name} wins on {m.label}: {describe(m, c, currency)} against {design.control.name}."
        return {"status": "winner", "winner": name, "text": text}
    if worse:
        name, c = worse[0]
        text = (
            f"{name} did worse than {design.control.name} on {m.label}: {describe(m, c, currency)}. Keep the control."
        )
        return {"status": "worse", "winner": design.control.name, "text": text}
    parts = "; ".join(f"{name} {describe(m, c, currency)}" for name, c in primary.comparisons.items())
    text = f"No detectable difference on {m.label}: {parts}. The interval includes zero."
    return {"status": "no_difference", "winner": None, "text": text}


def _breaches(variant: str, guardrails: Sequence[MetricResult]) -> list[MetricResult]:
    return [g for g in guardrails if direction(g.comparisons[variant], g.metric.higher_is_better) == "worse"]


def series(design: Design, measured: Sequence[Observation]) -> dict:
    """The primary metric over time: per variant, its cumulative figure over the customers measured by each day."""
    m = metric(design.primary_metric)
    by_day: dict[date, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for o in measured:
        value = m.value(o, design.base_currency)
        if value is not None:
            by_day[o.window_end(design.window_days).date()][o.variant].append(value)
    if not by_day:
        return {"metric": m.name, "label": m.label, "kind": m.kind, "dates": [], "variants": {}}
    days = sorted(by_day)
    totals = {v.name: [0.0, 0] for v in design.variants}
    dates, values = [], {v.name: [] for v in design.variants}
    pending = iter(days)
    upcoming = next(pending, None)
    for point in _points(days[0], days[-1]):
        while upcoming is not None and upcoming <= point:
            for variant, got in by_day[upcoming].items():
                totals[variant][0] += sum(got)
                totals[variant][1] += len(got)
            upcoming = next(pending, None)
        dates.append(point.isoformat())
        for variant, (total, n) in totals.items():
            values[variant].append(total / n if n else None)
    return {"metric": m.name, "label": m.label, "kind": m.kind, "dates": dates, "variants": values}


def _points(first: date, last: date) -> list[date]:
    """Daily points from first to last, or evenly spaced ones when that would be more than MAX_SERIES_POINTS."""
    step = max(1, -(-((last - first).days + 1) // MAX_SERIES_POINTS))
    points = [first + timedelta(days=k) for k in range(0, (last - first).days + 1, step)]
    if points[-1] != last:
        points.append(last)
    return points
