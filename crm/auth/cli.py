"""`flask users ...`: create users, reset passwords, issue API tokens."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from crm.auth import tokens
from crm.auth.models import ROLES
from crm.errors import DomainError
from crm.extensions import db

users_cli = AppGroup("users", help="Users, roles and API tokens.")


def _fail(exc: DomainError) -> None:
    db.session.rollback()
    raise click.ClickException(exc.detail)


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--name", default=None)
def create_user(email: str, role: str, password: str, name: str | None) -> None:
    """Create a user with a role."""
    try:
        user = tokens.create_user(email, role, password, name)
    except DomainError as exc:
        _fail(exc)
    db.session.commit()
    click.echo(f"created {user.role} {user.email} (id {user.id})")


@users_cli.command("token")
@click.argument("email")
@click.option("--name", default="cli", help="A label for the token.")
def token(email: str, name: str) -> None:
    """Print a new API token for the user (shown once)."""
    try:
        user = tokens.user_by_email(email)
    except DomainError as exc:
        _fail(exc)
    _, value = tokens.issue_token(user, name)
    db.session.commit()
    click.echo(value)


@users_cli.command("list")
def list_users() -> None:
    """List users and their roles."""
    from sqlalchemy import select

    from crm.auth.models import User

    for user in db.session.scalars(select(User).order_by(User.id)):
        click.echo(f"{user.id}\t{user.email}\t{user.role}\t{'active' if user.active else 'disabled'}")
