"""`flask demo seed`: demo users, sources and interactions, processed through the real pipeline."""

from __future__ import annotations

from collections import defaultdict

import click
from flask.cli import AppGroup
from sqlalchemy import select
from tqdm import tqdm

from crm.auth import tokens
from crm.auth.models import User
from crm.channels.models import Source
from crm.extensions import db

demo_cli = AppGroup("demo", help="Demo data.")

DEMO_PASSWORD = "demo-password"
DEMO_USERS = [
    ("agent@demo.example", "agent", "Alex Agent"),
    ("marketer@demo.example", "marketer", "Morgan Marketer"),
    ("admin@demo.example", "admin", "Ada Admin"),
]


def ensure_demo_users() -> None:
    for email, role, name in DEMO_USERS:
        if db.session.scalar(select(User).where(User.email == email)) is None:
            tokens.create_user(email, role, DEMO_PASSWORD, name)


def ensure_demo_sources() -> dict[str, Source]:
    from crm.channels.cli import create_source
    from crm.demo.generate import OWN_ADDRESS, SOURCES

    out = {}
    for slug, (channel, provider) in SOURCES.items():
        source = db.session.scalar(select(Source).where(Source.slug == slug))
        if source is None:
            settings = {"own_addresses": [OWN_ADDRESS]} if channel == "email" else {}
            source = create_source(slug, channel, provider, f"{slug}-secret-change-me", f"Demo {channel}", settings)
        out[slug] = source
    return out


def seed(count: int, seed_value: int, progress: bool = True) -> dict:
    from crm.channels.intake import Received, store_canonical
    from crm.demo.generate import generate
    from crm.pipeline import after_processing, process_interactions

    ensure_demo_users()
    sources = ensure_demo_sources()
    db.session.commit()
    by_source: dict[str, list[dict]] = defaultdict(list)
    for slug, item in generate(count, seed_value):
        by_source[slug].append(item)
    accepted: list[int] = []
    total = sum(len(v) for v in by_source.values())
    with tqdm(total=total, desc="storing", unit="interaction", disable=not progress) as bar:
        for slug, items in by_source.items():
            for start in range(0, len(items), 500):
                chunk = items[start : start + 500]
                outcome = store_canonical(
                    sources[slug], chunk, Received(body=b"", headers={}, url="demo", content_type="application/json")
                )
                accepted.extend(outcome.accepted)
                bar.update(len(chunk))
    # Process in the order things happened, as live traffic would arrive: a call with only a phone
    # before a purchase with phone and email makes two customers, then a recorded merge.
    from crm.profiles.models import Interaction

    accepted = (
        list(
            db.session.scalars(
                select(Interaction.id)
                .where(Interaction.id.in_(accepted))
                .order_by(Interaction.occurred_at, Interaction.id)
            )
        )
        if accepted
        else []
    )
    with tqdm(total=len(accepted), desc="processing", unit="interaction", disable=not progress) as bar:
        for start in range(0, len(accepted), 200):
            process_interactions(accepted[start : start + 200])
            bar.update(len(accepted[start : start + 200]))
    after_processing()
    return {"interactions": total, "new": len(accepted)}


@demo_cli.command("seed")
@click.option("--customers", default=300, show_default=True, help="How many demo people.")
@click.option("--seed", "seed_value", default=7, show_default=True, help="Random seed: the same seed, the same data.")
def seed_command(customers: int, seed_value: int) -> None:
    """Create demo users, sources and a few hundred customers with interactions on all four channels."""
    result = seed(customers, seed_value)
    click.echo(
        f"demo data: {result['interactions']} interactions ({result['new']} new); "
        f"log in as {DEMO_USERS[0][0]} / {DEMO_PASSWORD} (also marketer@ and admin@demo.example)"
    )
