"""`flask experiments ...`: the results as a readable table, the list, and assigning members by hand."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from tqdm import tqdm

from crm.columns import utcnow
from crm.errors import DomainError
from crm.experiments import lifecycle
from crm.experiments.assignment import assign_members, pending_count
from crm.experiments.observations import results_for

experiments_cli = AppGroup("experiments", help="Experiments on segments: results, list, assignment.")


def _experiment(experiment_id: int):
    try:
        return lifecycle.get_experiment(experiment_id)
    except DomainError as exc:
        raise click.ClickException(exc.detail) from None


def table(headers: list[str], rows: list[list[str]], right: set[int] = frozenset()) -> str:
    """A plain text table: columns padded to their widest cell, numbers (the `right` columns) right-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells) -> str:
        padded = [
            str(c).rjust(w) if i in right else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(padded).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def render_results(body: dict, experiment: dict) -> str:
    """The results body (observations.results_for) as text for a terminal."""
    segment = experiment["segment"]
    out = [
        f'Experiment {experiment["id"]} "{experiment["name"]}" — {experiment["status"]}, '
        f"segment {segment['name'] or '(deleted)'} (id {segment['id']})",
        f"Hypothesis: {experiment['hypothesis']}",
        f"Each customer measured over the {body['window_days']} days after assignment · at least "
        f"{body['min_sample']} per variant to call a winner · as of {body['as_of']:%Y-%m-%d %H:%M} UTC",
        "",
        table(
            ["variant", "share", "assigned", "measured", "treatment"],
            [
                [
                    v["name"] + (" (control)" if v["control"] and v["name"] != "control" else ""),
                    f"{v['share']:g} %",
                    f"{v['assigned']:,}",
                    f"{v['measured']:,}",
                    v["action"] or "–",
                ]
                for v in body["variants"]
            ],
            right={1, 2, 3},
        ),
    ]
    for m in body["metrics"]:
        versus = {c["variant"]: c for c in m["comparisons"]}
        rows = []
        for figure in m["variants"]:
            c = versus.get(figure["variant"])
            rows.append(
                [figure["variant"], f"{figure['n']:,}", figure["display"], c["display"] if c else "(control)", _mark(c)]
            )
        label = f"{m['label']} ({m['role']}, {'higher' if m['higher_is_better'] else 'lower'} is better)"
        out += [
            "",
            f"{label}: {m['definition']}",
            table(["variant", "n", "value", "vs control", ""], rows, right={1, 2}),
        ]
    out += ["", f"Verdict: {body['verdict']['text']}"]
    return "\n".join(out)


def _mark(comparison: dict | None) -> str:
    if comparison is None:
        return ""
    return {"better": "better", "worse": "WORSE", "same": ""}[comparison["direction"]]


@experiments_cli.command("results")
@click.argument("experiment_id", type=int)
def results_command(experiment_id: int) -> None:
    """Results per variant, each treatment against the control with its 95 % interval, and the verdict."""
    experiment = _experiment(experiment_id)
    body = results_for(experiment, current_app.config["BASE_CURRENCY"])
    click.echo(render_results(body, lifecycle.describe([experiment])[0]))


@experiments_cli.command("list")
@click.option("--status", type=click.Choice(["draft", "running", "stopped", "ended"]), default=None)
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
def list_command(status: str | None, limit: int) -> None:
    """Experiments, newest first."""
    rows, _ = lifecycle.experiments_page(limit=limit, status=status)
    bodies = lifecycle.describe(rows)
    click.echo(
        table(
            ["id", "name", "status", "segment", "assigned", "primary", "ends"],
            [
                [
                    str(b["id"]),
                    b["name"],
                    b["status"],
                    b["segment"]["name"] or "(deleted)",
                    f"{sum(v['assigned'] for v in b['variants']):,}",
                    b["primary_metric"],
                    b["ends_at"][:10],
                ]
                for b in bodies
            ],
            right={0, 4},
        )
        if bodies
        else "no experiments"
    )


@experiments_cli.command("assign")
@click.argument("experiment_id", type=int)
def assign_command(experiment_id: int) -> None:
    """Assign the segment's members not assigned yet, now, in this process (the worker does it every few seconds)."""
    experiment = _experiment(experiment_id)
    if not experiment.is_running(utcnow()):
        raise click.ClickException(f"experiment {experiment_id} is {experiment.status} and not assigning")
    with tqdm(total=pending_count(experiment), unit="customer", desc="assigning") as bar:
        made = assign_members(experiment_id, progress=bar.update)
    click.echo(f"assigned {made:,} customers")
