"""The one table of `python -m bench`: a row per benchmark with p50/p95/p99, throughput, the raw operation
and the ratio to it, the target from the issues and whether it holds (by how much it is missed); and
the README section it is written to, between two markers at the top of bench/README.md."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parent / "README.md"
START, END = "<!-- bench:table:start -->", "<!-- bench:table:end -->"


def millis(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "mean": statistics.fmean(ordered)}


@dataclass
class Row:
    name: str
    data: str
    p50: float | None
    p95: float | None
    p99: float | None
    throughput: str
    raw: str = "—"
    ratio: float | None = None  # this / raw: latency ratio at p95, or throughput ratio (said in `raw`)
    target: tuple[str, float, str] | None = None  # (figure, limit, "max" or "min")
    ratio_of: tuple[str, str] | None = None  # worked out at the end from two figures of the run
    raw_p95: float | None = None
    note: str = ""

    @classmethod
    def of(cls, name: str, data: str, samples_ms: list[float], unit: str, **kwargs) -> Row:
        """A row from sequential samples: throughput is one client's, 1000 / mean ms."""
        m = millis(samples_ms)
        row = cls(name, data, m["p50"], m["p95"], m["p99"], f"{1000 / m['mean']:.0f} {unit} (1 client)", **kwargs)
        if row.raw_p95:
            row.ratio = m["p95"] / row.raw_p95
        return row

    def verdict(self) -> str:
        if self.target is None:
            return "—"
        figure, limit, kind = self.target
        value = self.ratio if figure == "ratio" else getattr(self, figure)
        if value is None:
            return "not measured"
        unit = "" if figure == "ratio" else " ms"
        shown = f"{figure} {value:.2f}" if figure == "ratio" else f"{figure} {value:.1f} ms"
        goal = f"{'≤' if kind == 'max' else '≥'} {limit:g}{unit}"
        met = value <= limit if kind == "max" else value >= limit
        if met:
            return f"**met** ({shown}; target {goal})"
        gap = value - limit if kind == "max" else limit - value
        return f"**missed by {gap:.2f}{unit}** ({shown}; target {goal}, {100 * gap / limit:.0f}% off)"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def render(rows: list[Row], state: dict, context: dict) -> str:
    for row in rows:
        if row.ratio_of and all(k in state for k in row.ratio_of):
            row.ratio = state[row.ratio_of[0]] / state[row.ratio_of[1]]
            row.raw += f" {state[row.ratio_of[1]]:,.0f} docs/s"
    lines = [
        f"Last run: **{context['date']}**, `{context['command']}`, {context['seconds']:,} s in all. Data set: "
        f"{context['data']}; {context['load']}. Machine: {context['machine']}; load average {context['load_average']}.",
        "",
        "| benchmark | data | p50 ms | p95 ms | p99 ms | throughput | raw operation, same data, same run | ratio | target |",
        "| --- | --- | ---: | ---: | ---: | --- | --- | ---: | --- |",
    ]
    for r in rows:
        ratio = "—" if r.ratio is None else f"{r.ratio:.2f}"
        name = r.name + (f" ({r.note})" if r.note else "")
        lines.append(f"| {name} | {r.data} | {_ms(r.p50)} | {_ms(r.p95)} | {_ms(r.p99)} | {r.throughput} | {r.raw} | "
                     f"{ratio} | {r.verdict()} |")  # fmt: skip
    return "\n".join(lines)


def write_readme(text: str) -> None:
    """Put the table between the markers at the top of bench/README.md; the sections below stay as they are."""
    current = README.read_text() if README.exists() else "# Benchmarks\n"
    block = f"{START}\n{text}\n{END}"
    if START in current and END in current:
        head, _, rest = current.partition(START)
        _, _, tail = rest.partition(END)
        README.write_text(head + block + tail)
        return
    title, sep, body = current.partition("\n")
    README.write_text(f"{title}\n\n{block}\n{sep}{body}")
