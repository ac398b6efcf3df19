"""The `flask` commands, registered by create_app from each package."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

interactions_cli = AppGroup("interactions", help="Accepted interactions and their processing.")


@interactions_cli.command("sweep")
@click.option("--older-than", default=None, type=int, help="Seconds since receipt (default SWEEP_AFTER_S).")
def sweep_command(older_than: int | None) -> None:
    """Enqueue every interaction accepted and not yet processed."""
    from crm.pipeline import sweep

    count = sweep(older_than)
    click.echo(f"enqueued {count} unprocessed interactions")


@interactions_cli.command("process")
@click.argument("ids", nargs=-1, type=int, required=True)
def process_command(ids: tuple[int, ...]) -> None:
    """Process the given interactions now, in this process."""
    from crm.pipeline import process_interactions

    click.echo(f"processed {process_interactions(list(ids))} interactions")


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def worker_command(burst: bool) -> None:
    """Run the rq worker (and the periodic sweep and outbox drain)."""
    from crm import freeze_startup_objects
    from crm.worker import run

    freeze_startup_objects()
    run(burst=burst)


def register(app: Flask) -> None:
    from crm.auth.cli import users_cli
    from crm.channels.cli import sources_cli
    from crm.demo import demo_cli

    for command in (users_cli, sources_cli, demo_cli, interactions_cli, worker_command):
        app.cli.add_command(command)
    for dotted in (
        "crm.search.cli:search_cli",
        "crm.segments.cli:segments_cli",
        "crm.profiles.cli:identity_cli",
        "crm.profiles.cli:merges_cli",
        "crm.profiles.cli:privacy_cli",
        "crm.experiments.cli:experiments_cli",
        "crm.personalization.cli:personalization_cli",
    ):
        _optional(app, dotted)


def _optional(app: Flask, dotted: str) -> None:
    """Commands of packages that may not be there yet register when they are."""
    import importlib

    module, _, name = dotted.partition(":")
    try:
        command = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return
    app.cli.add_command(command)
