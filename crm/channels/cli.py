"""`flask sources ...`: channel sources (integrations) and their secrets."""

from __future__ import annotations

import secrets as pysecrets
from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from crm import audit
from crm.channels.models import CHANNELS, PROVIDERS, Delivery, Source
from crm.columns import utcnow
from crm.extensions import db

sources_cli = AppGroup("sources", help="Channel sources: where webhooks come from, and their secrets.")

# Which channels each provider speaks.
PROVIDER_CHANNELS = {"generic": set(CHANNELS), "mailgun": {"email"}, "twilio": {"phone"}, "shopify": {"store"}}


def create_source(
    slug: str, channel: str, provider: str, secret: str, name: str | None = None, settings: dict | None = None
) -> Source:
    from crm.errors import Conflict, InvalidPayload

    if channel not in PROVIDER_CHANNELS[provider]:
        raise InvalidPayload(
            f"provider {provider} does not serve the {channel} channel "
            f"(it serves {', '.join(sorted(PROVIDER_CHANNELS[provider]))})"
        )
    if not slug.replace("-", "").replace("_", "").isalnum() or slug.lower() != slug or len(slug) > 64:
        raise InvalidPayload("slug: lower-case letters, digits, - and _, at most 64 characters")
    if len(secret) < 16:
        raise InvalidPayload("secret: at least 16 characters")
    if db.session.scalar(select(Source).where(Source.slug == slug)):
        raise Conflict(f"a source with slug {slug} exists already")
    source = Source(slug=slug, channel=channel, provider=provider, secret=secret, name=name, settings=settings or {})
    db.session.add(source)
    db.session.flush()
    return source


def rotate_secret(source: Source, new_secret: str | None, grace_s: int | None = None) -> str:
    """A new secret; the old one stays valid for the grace period so in-flight retries still verify."""
    grace = current_app.config["SECRET_ROTATION_GRACE_S"] if grace_s is None else grace_s
    value = new_secret or pysecrets.token_urlsafe(32)
    source.previous_secret, source.previous_secret_expires_at = source.secret, utcnow() + timedelta(seconds=grace)
    source.secret, source.rotated_at = value, utcnow()
    return value


def _get(slug: str) -> Source:
    source = db.session.scalar(select(Source).where(Source.slug == slug))
    if source is None:
        raise click.ClickException(f"no source with slug {slug!r} (see `flask sources list`)")
    return source


@sources_cli.command("add")
@click.argument("slug")
@click.option("--channel", type=click.Choice(CHANNELS), required=True)
@click.option("--provider", type=click.Choice(PROVIDERS), required=True)
@click.option(
    "--secret", required=True, help="The signing secret the provider uses (Twilio auth token, Shopify app secret...)."
)
@click.option("--name", default=None)
@click.option("--own-address", "own_addresses", multiple=True, help="Email sources: the business's own addresses.")
def add_command(
    slug: str, channel: str, provider: str, secret: str, name: str | None, own_addresses: tuple[str, ...]
) -> None:
    """Add a source; its webhook URL is /webhooks/SLUG."""
    from crm.errors import DomainError

    settings = {"own_addresses": [a.lower() for a in own_addresses]} if own_addresses else {}
    try:
        source = create_source(slug, channel, provider, secret, name, settings)
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.detail) from exc
    audit.record("cli", "create_source", "source", source.id, slug=slug, provider=provider)
    db.session.commit()
    click.echo(f"added {provider} {channel} source {slug}: POST /webhooks/{slug}")


@sources_cli.command("list")
def list_command() -> None:
    """List sources with their last delivery."""
    rows = db.session.scalars(select(Source).order_by(Source.slug))
    click.echo("slug\tchannel\tprovider\tactive\tlast delivery")
    for source in rows:
        last = db.session.scalar(
            select(Delivery).where(Delivery.source_id == source.id).order_by(Delivery.id.desc()).limit(1)
        )
        when = f"{last.received_at:%Y-%m-%d %H:%M:%S} {last.status_code}" if last else "never"
        click.echo(f"{source.slug}\t{source.channel}\t{source.provider}\t{'yes' if source.active else 'no'}\t{when}")


@sources_cli.command("rotate")
@click.argument("slug")
@click.option("--secret", default=None, help="The new secret (default: a random one, printed).")
@click.option("--grace", default=None, type=int, help="Seconds the old secret stays valid (default 24 h).")
def rotate_command(slug: str, secret: str | None, grace: int | None) -> None:
    """Rotate a source's secret."""
    source = _get(slug)
    value = rotate_secret(source, secret, grace)
    audit.record("cli", "rotate_secret", "source", source.id)
    db.session.commit()
    click.echo(value if secret is None else f"rotated the secret of {slug}")


@sources_cli.command("disable")
@click.argument("slug")
def disable_command(slug: str) -> None:
    """Stop accepting webhooks for a source (they get 404)."""
    source = _get(slug)
    source.active = False
    audit.record("cli", "disable_source", "source", source.id)
    db.session.commit()
    click.echo(f"disabled {slug}")
