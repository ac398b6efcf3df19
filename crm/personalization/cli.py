"""`flask personalization ...`: backfills of the stored scores and rebuilds of the product model."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from tqdm import tqdm

personalization_cli = AppGroup("personalization", help="Journey and churn scores, the product model.")


@personalization_cli.command("rescore")
@click.option(
    "--batch", default=500, show_default=True, type=click.IntRange(1, 10_000), help="Customers a transaction."
)
def rescore_command(batch: int) -> None:
    """Recompute journey stage and churn risk for every active customer (both move with time alone)."""
    from crm.personalization.scores import active_customers, rescore, stage_counts

    with tqdm(total=active_customers(), desc="rescoring", unit="customer") as bar:
        result = rescore(batch=batch, progress=bar.update)
    click.echo(f"rescored {result['customers']} customers, {result['changed']} changed")
    for stage, count in sorted(stage_counts().items(), key=lambda item: -item[1]):
        click.echo(f"  {stage}: {count}")


@personalization_cli.command("products")
def products_command() -> None:
    """Rebuild the product model (bought-together pairs, popularity overall and per segment) now."""
    from crm.personalization.catalog_db import build_product_model

    with tqdm(total=1, desc="building the product model", unit="build") as bar:
        build = build_product_model()
        bar.update(1)
    if build is None:
        raise click.ClickException("another build is running; try again when it has finished")
    click.echo(
        f"product model: {build.products} products, {build.pairs} pairs bought together by 2+ customers, "
        f"{build.customers} customers with purchases ({build.seconds:.2f} s)"
    )
