"""API tokens: shown once at creation, stored as a SHA-256 hash, revocable, last use recorded."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from crm.auth.models import ROLES, ApiToken, User
from crm.columns import utcnow
from crm.errors import Conflict, InvalidPayload, NotFound
from crm.extensions import db

TOKEN_PREFIX = "crm_"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(email: str, role: str, password: str, name: str | None = None) -> User:
    email = email.strip().lower()
    if role not in ROLES:
        raise InvalidPayload(f"role must be one of {', '.join(ROLES)}", errors={"role": [f"one of {', '.join(ROLES)}"]})
    if "@" not in email:
        raise InvalidPayload("email is not an email address", errors={"email": ["not an email address"]})
    if len(password) < 8:
        raise InvalidPayload("password too short", errors={"password": ["at least 8 characters"]})
    if db.session.scalar(select(User).where(User.email == email)):
        raise Conflict(f"a user with email {email} exists already")
    user = User(email=email, role=role, name=name, password_hash=generate_password_hash(password))
    db.session.add(user)
    db.session.flush()
    return user


def set_password(user: User, password: str) -> None:
    if len(password) < 8:
        raise InvalidPayload("password too short", errors={"password": ["at least 8 characters"]})
    user.password_hash = generate_password_hash(password)


def check_password(user: User, password: str) -> bool:
    return check_password_hash(user.password_hash, password)


def user_by_email(email: str) -> User:
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"no user with email {email}")
    return user


def issue_token(user: User, name: str = "default") -> tuple[ApiToken, str]:
    """A new token for the user; returns the row and the token, which is not stored and not shown again."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name[:100], token_hash=_hash(token), prefix=token[:12])
    db.session.add(row)
    db.session.flush()
    return row, token


def user_for_token(token: str) -> User | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(token), ApiToken.revoked_at.is_(None)))
    if row is None or not row.user.active:
        return None
    now = utcnow()
    # Record use at most once a minute: a write per API call would cost more than the call.
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        row.last_used_at = now
        db.session.commit()
    return row.user


def revoke_token(user: User, token_id: int) -> None:
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound(f"no token {token_id} for this user")
    row.revoked_at = utcnow()
