"""One-use signing tokens: Mailgun signs a timestamp and a token, not the message.

A captured (timestamp, token, signature) triple would otherwise sign any content for as long as the
timestamp is fresh, which for Mailgun spans its 8-hour retry schedule. Each token is remembered in
Redis with the messages it came with: a retry of the same message under the same token is still a
harmless replay, the same token with another message is refused as a forgery. Without Redis
(embedded mode) or while it is down, the check is skipped: the signature still holds.
"""

from __future__ import annotations

import hashlib

from flask import current_app
from redis.exceptions import RedisError

from crm import jobs
from crm.channels.signatures import MAILGUN_RETRY_WINDOW_S
from crm.errors import InvalidSignature


def claim(provider: str, source_id: int, token: str | None, external_ids: list[str]) -> None:
    """Remember `token` for these messages; InvalidSignature when it already signed other ones."""
    conn = jobs.redis_connection()
    if not token or conn is None:
        return
    fingerprint = hashlib.sha256("\x1f".join(sorted(external_ids)).encode("utf-8", "replace")).hexdigest()
    digest = hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
    key = f"crm:{current_app.config['RQ_QUEUE']}:token:{provider}:{source_id}:{digest}"
    try:
        if conn.set(key, fingerprint, nx=True, ex=MAILGUN_RETRY_WINDOW_S + 3600):
            return
        first = conn.get(key)
    except RedisError:
        return
    if first is not None and first.decode() != fingerprint:
        raise InvalidSignature(f"this {provider} token already signed another message; a token signs one message")
