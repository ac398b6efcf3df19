"""`flask search ...`: rebuild the index, compare it with the database, show the lag, drain by hand."""

from __future__ import annotations

import click
from flask.cli import AppGroup

search_cli = AppGroup("search", help="The search index: rebuild, check, lag.")


def _need_elasticsearch():
    from crm.search import elastic, uses_elasticsearch

    if not uses_elasticsearch():
        raise click.ClickException(
            "ELASTICSEARCH_URL is not set: search is served from the database, there is no index to manage"
        )
    return elastic


def _unavailable(exc: Exception) -> click.ClickException:
    from crm.search.elastic import describe

    return click.ClickException(f"Elasticsearch did not answer: {describe(exc)}")


@search_cli.command("reindex")
@click.option("--batch", default=1000, show_default=True, type=click.IntRange(50, 20_000), help="Rows per read.")
@click.option(
    "--grace", default=2.0, show_default=True, type=click.FloatRange(0, 300), help="Seconds before the old indices go."
)
@click.option("--force", is_flag=True, help="Take over from a rebuild that died (its half-built indices are deleted).")
def reindex_command(batch: int, grace: float, force: bool) -> None:
    """Build new index versions from the database, swap the aliases atomically, drop the old versions."""
    elastic = _need_elasticsearch()
    from crm.search.reindex import RebuildError, rebuild

    try:
        report = rebuild(batch=batch, grace_s=grace, force=force, progress=True)
    except RebuildError as exc:
        raise click.ClickException(str(exc)) from None
    except elastic.ES_ERRORS as exc:
        raise _unavailable(exc) from None
    for entity, index in report.indices.items():
        click.echo(
            f"{entity}s: {report.documents[entity]} documents in {report.seconds.get(entity, 0)} s into {index}"
            f" ({report.repaired[entity]} repaired before the swap)"
        )
    click.echo(f"aliases swapped; dropped {', '.join(report.dropped) or 'nothing'}")


@search_cli.command("check")
@click.option("--show", default=10, show_default=True, type=click.IntRange(0, 1000), help="Ids listed per difference.")
@click.option("--repair", is_flag=True, help="Queue every differing id on the outbox, for the drain to fix.")
def check_command(show: int, repair: bool) -> None:
    """Compare the database with the index (counts and ids); exits 1 when they differ."""
    elastic = _need_elasticsearch()
    from crm.search import check

    try:
        results = check.compare_all(elastic.client(), elastic.alias)
    except elastic.ES_ERRORS as exc:
        raise _unavailable(exc) from None
    for r in results:
        click.echo(f"{r.entity}s: {r.database} in the database, {r.index} in the index")
        for label, ids in (("missing from the index", r.missing), ("in the index only", r.extra), ("stale", r.stale)):
            if ids:
                listed = ", ".join(map(str, ids[:show])) + (" ..." if len(ids) > show else "")
                click.echo(f"  {len(ids)} {label}: {listed}")
        if r.pending:
            click.echo(f"  {r.pending} of these have changes waiting in the outbox (the drain will bring them in)")
    total = sum(r.differences for r in results)
    if repair and total:
        _queue_repairs(results)
        click.echo(f"queued {total} ids for the drain")
    if total:
        raise click.ClickException(f"{total} differences between the database and the index")
    click.echo("no differences")


def _queue_repairs(results) -> None:
    from crm.extensions import db
    from crm.search.outbox import record_change

    for r in results:
        for entity_id in {*r.missing, *r.extra, *r.stale}:
            record_change(r.entity, entity_id)
    db.session.commit()


@search_cli.command("lag")
def lag_command() -> None:
    """How far the index is behind: the age of the oldest change not indexed yet, and what waits."""
    _need_elasticsearch()
    from crm.search.outbox import failing_summary, index_lag_seconds, pending_count

    lag = index_lag_seconds()
    failing = failing_summary()
    click.echo(f"index lag: {lag:.1f} s; {pending_count()} changes waiting")
    if failing["rows"]:
        click.echo(
            f"{failing['rows']} of them failed at least once (up to {failing['max_attempts']} attempts); "
            f"latest error: {failing['last_error']}"
        )


@search_cli.command("drain")
@click.option("--limit", default=100_000, show_default=True, type=click.IntRange(1), help="Rows at most.")
def drain_command(limit: int) -> None:
    """Index what waits in the outbox now, in this process (the worker does this every 5 s)."""
    _need_elasticsearch()
    from crm.search.outbox import drain, pending_count

    done = drain(limit=limit)
    click.echo(f"indexed {done} changes; {pending_count()} still waiting")
