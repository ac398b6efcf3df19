"""Managing users and their API tokens: what the admin pages and the users/tokens API call.

Every change is audited with the actor. Guard rail: the last active admin cannot be demoted or
disabled, so the install can always be administered from the app.
"""

from __future__ import annotations

from sqlalchemy import func, select

from crm import audit
from crm.auth import tokens
from crm.auth.models import ROLES, ApiToken, User
from crm.errors import Conflict, InvalidPayload, NotFound
from crm.extensions import db


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


def users_page(page: int = 1, per_page: int = 50, query: str | None = None):
    """A page of users, by email (Flask-SQLAlchemy Pagination)."""
    stmt = select(User).order_by(User.email)
    if query:
        pattern = f"%{query.strip().lower()}%"
        stmt = stmt.where(func.lower(User.email).like(pattern) | func.lower(User.name).like(pattern))
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


def add_user(email: str, role: str, password: str, name: str | None, actor: str) -> User:
    user = tokens.create_user(email, role, password, name or None)
    audit.record(actor, "create_user", "user", user.id, role=role)
    return user


def _active_admins() -> int:
    return db.session.scalar(select(func.count()).select_from(User).where(User.role == "admin", User.active)) or 0


def _guard_last_admin(user: User, role: str, active: bool) -> None:
    stays_admin = role == "admin" and active
    if user.role == "admin" and user.active and not stays_admin and _active_admins() <= 1:
        raise Conflict(f"{user.email} is the last active admin; make another admin first")


def update_user(
    user: User, *, actor: str, role: str | None = None, active: bool | None = None, name: str | None = None
) -> User:
    """Change a user's role, active flag or name (None leaves a field as it is)."""
    new_role = user.role if role is None else role
    new_active = user.active if active is None else active
    if new_role not in ROLES:
        raise InvalidPayload(f"role must be one of {', '.join(ROLES)}", errors={"role": [f"one of {', '.join(ROLES)}"]})
    _guard_last_admin(user, new_role, new_active)
    changes = {}
    if new_role != user.role:
        changes["role"] = [user.role, new_role]
        user.role = new_role
    if new_active != user.active:
        changes["active"] = [user.active, new_active]
        user.active = new_active
    if name is not None and name != (user.name or ""):
        user.name = name or None
        changes["name"] = "changed"
    if changes:
        audit.record(actor, "update_user", "user", user.id, **changes)
    return user


def tokens_of(user: User) -> list[ApiToken]:
    """The user's tokens, newest first, revoked ones included (they say when they were revoked)."""
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())))


def create_token(user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for the user; the value is returned once and only its hash is kept."""
    name = (name or "").strip()
    if not name:
        raise InvalidPayload("a token needs a name", errors={"name": ["say what the token is for"]})
    row, value = tokens.issue_token(user, name)
    audit.record(user.email, "create_token", "api_token", row.id, prefix=row.prefix)
    return row, value


def revoke_token(user: User, token_id: int) -> ApiToken:
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound(f"no token {token_id} for this user")
    if row.revoked_at is not None:
        raise Conflict(f"token {row.prefix}… is revoked already")
    tokens.revoke_token(user, token_id)
    audit.record(user.email, "revoke_token", "api_token", row.id, prefix=row.prefix)
    return row
