"""`flask sources ...`: channel sources (integrations), their secrets and their provider settings."""

from __future__ import annotations

import re
import secrets as pysecrets
from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from crm import audit
from crm.channels.adapters import ADAPTERS
from crm.channels.models import CHANNELS, PROVIDERS, Delivery, Source
from crm.columns import utcnow
from crm.errors import Conflict, DomainError, InvalidPayload
from crm.extensions import db

sources_cli = AppGroup("sources", help="Channel sources: where webhooks come from, and their secrets.")

_SLUG = re.compile(r"^[a-z0-9_-]{1,64}$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9-]{1,63}\.)+[a-z0-9-]{2,63}$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-.]{4,30}$")


def create_source(
    slug: str, channel: str, provider: str, secret: str, name: str | None = None, settings: dict | None = None
) -> Source:
    """A new source (flushed, not committed). InvalidPayload names what is wrong; Conflict for a taken slug."""
    if provider not in ADAPTERS:
        raise InvalidPayload(f"provider: one of {', '.join(sorted(ADAPTERS))}")
    serves = ADAPTERS[provider].channels
    if channel not in serves:
        raise InvalidPayload(
            f"provider {provider} does not serve the {channel} channel (it serves {', '.join(serves)})"
        )
    if not _SLUG.match(slug):
        raise InvalidPayload("slug: lower-case letters, digits, - and _, at most 64 characters")
    if len(secret) < 16:
        raise InvalidPayload("secret: at least 16 characters")
    if db.session.scalar(select(Source).where(Source.slug == slug)):
        raise Conflict(f"a source with slug {slug} exists already")
    source = Source(slug=slug, channel=channel, provider=provider, secret=secret, name=name, settings=settings or {})
    db.session.add(source)
    db.session.flush()
    return source


def source_settings(
    provider: str,
    channel: str,
    *,
    own_addresses: tuple[str, ...] = (),
    own_domains: tuple[str, ...] = (),
    own_numbers: tuple[str, ...] = (),
    locations: tuple[str, ...] = (),
    voicemail_when_recorded: bool = False,
) -> dict:
    """The settings an adapter reads (see SourceInfo), checked against the source's channel and provider.

    own addresses and domains: the business's side of an email; own numbers: the business's lines
    (Twilio); locations: "ID=NAME", a Shopify POS location's store name; voicemail_when_recorded: an
    inbound call with a recording is a voicemail (Twilio flows that record only unanswered calls).
    """
    settings: dict = {}
    if own_addresses or own_domains:
        _only(channel == "email", "--own-address and --own-domain are for email sources")
        settings["own_addresses"] = [_address(a) for a in own_addresses]
        settings["own_domains"] = [_domain(d) for d in own_domains]
    if own_numbers or voicemail_when_recorded:
        _only(provider == "twilio", "--own-number and --voicemail-when-recorded are for twilio sources")
        settings["own_numbers"] = [_number(n) for n in own_numbers]
        settings["voicemail_when_recorded"] = voicemail_when_recorded
    if locations:
        _only(provider == "shopify", "--location is for shopify sources")
        settings["locations"] = dict(_location(item) for item in locations)
    return {k: v for k, v in settings.items() if v not in ([], False)}


def _only(ok: bool, message: str) -> None:
    if not ok:
        raise InvalidPayload(message)


def _address(value: str) -> str:
    address = value.strip().lower()
    if address.count("@") != 1 or not _DOMAIN.match(address.partition("@")[2]):
        raise InvalidPayload(f"--own-address {value!r} is not an email address")
    return address


def _domain(value: str) -> str:
    domain = value.strip().lower().lstrip("@")
    if not _DOMAIN.match(domain):
        raise InvalidPayload(f"--own-domain {value!r} is not a domain name such as shop.example")
    return domain


def _number(value: str) -> str:
    if not _PHONE.match(value.strip()):
        raise InvalidPayload(f"--own-number {value!r} is not a phone number such as +14155550100")
    return value.strip()


def _location(value: str) -> tuple[str, str]:
    location_id, sep, name = value.partition("=")
    if not sep or not location_id.strip().isdigit() or not name.strip():
        raise InvalidPayload(f"--location {value!r}: expected ID=NAME, e.g. 48752903='Soho flagship'")
    return location_id.strip(), name.strip()[:200]


def rotate_secret(source: Source, new_secret: str | None, grace_s: int | None = None) -> str:
    """A new secret; the old one stays valid for the grace period so in-flight retries still verify."""
    grace = current_app.config["SECRET_ROTATION_GRACE_S"] if grace_s is None else grace_s
    value = new_secret or pysecrets.token_urlsafe(32)
    if len(value) < 16:
        raise InvalidPayload("secret: at least 16 characters")
    source.previous_secret, source.previous_secret_expires_at = source.secret, utcnow() + timedelta(seconds=grace)
    source.secret, source.rotated_at = value, utcnow()
    return value


def _get(slug: str) -> Source:
    source = db.session.scalar(select(Source).where(Source.slug == slug))
    if source is None:
        raise click.ClickException(f"no source with slug {slug!r} (see `flask sources list`)")
    return source


def _settings_options(command):
    """The provider settings, shared by `add` and `configure`."""
    options = [
        click.option("--own-address", "own_addresses", multiple=True, help="Email: one of the business's addresses."),
        click.option(
            "--own-domain", "own_domains", multiple=True, help="Email: a domain of the business (subdomains too)."
        ),
        click.option("--own-number", "own_numbers", multiple=True, help="Twilio: one of the business's numbers."),
        click.option("--location", "locations", multiple=True, help="Shopify: a POS location as ID=NAME."),
        click.option(
            "--voicemail-when-recorded", is_flag=True, help="Twilio: an inbound call with a recording is a voicemail."
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@sources_cli.command("add")
@click.argument("slug")
@click.option("--channel", type=click.Choice(CHANNELS), required=True)
@click.option("--provider", type=click.Choice(PROVIDERS), required=True)
@click.option(
    "--secret", required=True, help="The signing secret the provider uses (Twilio auth token, Shopify app secret...)."
)
@click.option("--name", default=None)
@_settings_options
def add_command(slug: str, channel: str, provider: str, secret: str, name: str | None, **settings) -> None:
    """Add a source; its webhook URL is /webhooks/SLUG."""
    try:
        source = create_source(slug, channel, provider, secret, name, source_settings(provider, channel, **settings))
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.detail) from None
    audit.record("cli", "create_source", "source", source.id, slug=slug, provider=provider)
    db.session.commit()
    click.echo(f"added {provider} {channel} source {slug}: POST /webhooks/{slug}")


@sources_cli.command("configure")
@click.argument("slug")
@_settings_options
def configure_command(slug: str, **settings) -> None:
    """Replace a source's provider settings with the ones given (none given: clear them)."""
    source = _get(slug)
    try:
        source.settings = source_settings(source.provider, source.channel, **settings)
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.detail) from None
    audit.record("cli", "configure_source", "source", source.id, settings=source.settings)
    db.session.commit()
    click.echo(f"{slug}: {source.settings or 'no settings'}")


@sources_cli.command("list")
def list_command() -> None:
    """List sources with their settings and last delivery."""
    rows = db.session.scalars(select(Source).order_by(Source.slug))
    click.echo("slug\tchannel\tprovider\tactive\tlast delivery\tsettings")
    for source in rows:
        last = db.session.scalar(
            select(Delivery).where(Delivery.source_id == source.id).order_by(Delivery.id.desc()).limit(1)
        )
        when = f"{last.received_at:%Y-%m-%d %H:%M:%S} {last.status_code}" if last else "never"
        active = "yes" if source.active else "no"
        click.echo(f"{source.slug}\t{source.channel}\t{source.provider}\t{active}\t{when}\t{source.settings or ''}")


@sources_cli.command("rotate")
@click.argument("slug")
@click.option("--secret", default=None, help="The new secret (default: a random one, printed).")
@click.option(
    "--grace", default=None, type=click.IntRange(min=0), help="Seconds the old secret stays valid (default 24 h)."
)
def rotate_command(slug: str, secret: str | None, grace: int | None) -> None:
    """Rotate a source's secret."""
    source = _get(slug)
    try:
        value = rotate_secret(source, secret, grace)
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.detail) from None
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
