"""`flask identity ...`, `flask merges ...` and `flask privacy ...`: identity and privacy from the shell.

Domain errors (no such customer, a merge undone already) end the command with their message and a
non-zero status, never a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

import click
from flask.cli import AppGroup

from crm.errors import DomainError
from crm.extensions import db

identity_cli = AppGroup("identity", help="Identity resolution: duplicate suggestions.")
merges_cli = AppGroup("merges", help="Merges of customers: list them, undo one.")
privacy_cli = AppGroup("privacy", help="Privacy requests: export or erase everything about a customer.")


def _run(fn: Callable, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.detail) from None


@identity_cli.command("suggest")
@click.option(
    "--threshold",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    help="Score to suggest at (0-1; default DUPLICATE_THRESHOLD).",
)
def suggest_command(threshold: float | None) -> None:
    """Compute duplicate suggestions for every active customer (and rebuild their match keys)."""
    from crm.profiles.suggestions import suggest_everyone

    stats = suggest_everyone(threshold=threshold, progress=True)
    click.echo(
        f"{stats['customers']} customers, {stats['candidate_pairs']} candidate pairs: "
        f"{stats['opened']} suggestions opened, {stats['refreshed']} refreshed, {stats['dropped']} dropped; "
        f"{stats['open']} open in all"
    )
    click.echo("seconds: " + ", ".join(f"{k} {v}" for k, v in stats["seconds"].items()))


@merges_cli.command("list")
@click.argument("customer_id", type=int)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
def list_merges_command(customer_id: int, limit: int) -> None:
    """The merges CUSTOMER_ID took part in, newest first."""
    from crm.profiles.merge import merges_of
    from crm.profiles.models import Customer

    if db.session.get(Customer, customer_id) is None:
        raise click.ClickException(f"no customer {customer_id}")
    rows, _ = merges_of(customer_id, limit=limit)
    if not rows:
        click.echo(f"customer {customer_id} took part in no merge")
    for row in rows:
        link = f"{row.identifier_kind} {row.identifier_value}" if row.identifier_kind else "-"
        undone = f"undone {row.undone_at:%Y-%m-%d %H:%M} by {row.undone_by}" if row.undone_at else "active"
        click.echo(
            f"{row.id}\t{row.created_at:%Y-%m-%d %H:%M}\t{row.merged_id} -> {row.survivor_id}\t{row.reason}\t"
            f"{link}\tby {row.actor}\t{undone}"
        )


@merges_cli.command("undo")
@click.argument("merge_id", type=int)
@click.option("--actor", default="cli", show_default=True, help="Who asked, for the record.")
def undo_merge_command(merge_id: int, actor: str) -> None:
    """Undo merge MERGE_ID: both customers as they were; the pair is not merged automatically again."""
    from crm.profiles.undo import undo_merge

    row = _run(undo_merge, merge_id, actor)
    db.session.commit()
    click.echo(f"merge {row.id} undone: customer {row.merged_id} is back beside customer {row.survivor_id}")


@privacy_cli.command("export")
@click.argument("customer_id", type=int)
@click.option("--out", type=click.Path(dir_okay=False, writable=True), default=None, help="File (default: stdout).")
@click.option("--actor", default="cli", show_default=True)
def export_command(customer_id: int, out: str | None, actor: str) -> None:
    """Everything about CUSTOMER_ID, as JSON."""
    from crm.profiles.privacy import export_customer

    doc = _run(export_customer, customer_id, actor)
    db.session.commit()
    text = json.dumps(doc, ensure_ascii=False, indent=1, default=str)
    if out:
        with open(out, "w", encoding="utf-8") as fh:
            fh.write(text)
        click.echo(f"exported customer {customer_id}: {len(doc['interactions'])} interactions to {out}", err=True)
    else:
        sys.stdout.write(text + "\n")


@privacy_cli.command("erase")
@click.argument("customer_id", type=int)
@click.option("--yes", is_flag=True, help="Erase without asking (the erasure cannot be undone).")
@click.option("--actor", default="cli", show_default=True)
def erase_command(customer_id: int, yes: bool, actor: str) -> None:
    """Erase CUSTOMER_ID and everyone merged into it: rows, raw payloads, search documents."""
    from crm.profiles.privacy import erase_customer, person_ids

    ids = _run(person_ids, customer_id)
    if not yes:
        click.confirm(f"erase customer {customer_id} ({len(ids)} customer record(s)) for good?", abort=True)
    counts = _run(erase_customer, customer_id, actor)
    summary = ", ".join(f"{v} {k}" for k, v in counts.items() if v)
    click.echo(f"erased customer {customer_id}: {summary}")
