"""Outbound webhooks: enter/leave events POSTed to the segment's subscribers, signed like incoming ones.

`X-CRM-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>` (crm.channels.signatures),
with `X-CRM-Event` and `X-CRM-Delivery` (the id receivers deduplicate on: delivery is at least once).
A delivery is claimed with a lease, sent outside any transaction, and its attempt logged; a failure
waits BACKOFF_S[attempt] before the next try, and after the last one the delivery is marked failed.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import secrets
import socket
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select

from crm.channels.signatures import GENERIC_HEADER, sign_generic
from crm.columns import utcnow
from crm.extensions import db
from crm.segments.membership import decode_cursor, encode_cursor
from crm.segments.models import OutboundAttempt, OutboundDelivery, SegmentWebhook

BACKOFF_S = (10, 30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600)
MAX_ATTEMPTS = len(BACKOFF_S) + 1
LEASE_S = 120  # a claimed delivery whose worker died is tried again after this
TIMEOUT_S = 5
BATCH = 50
SENDERS = 8


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect is an answer, not a success: following it would replay the body elsewhere.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _pinned(connection_class, addresses: list[str]):
    """A connection class for urllib that connects to these addresses (the ones checked), in order, and
    never resolves the host name again; TLS still verifies the certificate for the name in the URL."""

    def make(host, **kwargs):
        connection = connection_class(host, **kwargs)

        def connect_checked(address, timeout, source_address=None):
            error: OSError | None = None
            for ip in addresses:
                try:
                    return socket.create_connection((ip, address[1]), timeout, source_address)
                except OSError as exc:
                    error = exc
            raise error or OSError(f"no address to connect to for {host}")

        connection._create_connection = connect_checked
        return connection

    return make


class _PinnedHTTP(urllib.request.HTTPHandler):
    def __init__(self, addresses: list[str]):
        super().__init__()
        self.addresses = addresses

    def http_open(self, req):
        return self.do_open(_pinned(http.client.HTTPConnection, self.addresses), req)


class _PinnedHTTPS(urllib.request.HTTPSHandler):
    def __init__(self, addresses: list[str]):
        super().__init__()
        self.addresses = addresses

    def https_open(self, req):
        return self.do_open(_pinned(http.client.HTTPSConnection, self.addresses), req, context=self._context)


def _opener(url: str, addresses: list[str] | None) -> urllib.request.OpenerDirector:
    """No redirects; connections to the checked addresses, unless a proxy (which resolves the name) is set
    for the URL's scheme and host."""
    parts = urlsplit(url)
    proxied = parts.scheme in urllib.request.getproxies() and not urllib.request.proxy_bypass(parts.hostname or "")
    if addresses and not proxied:
        return urllib.request.build_opener(_NoRedirect, _PinnedHTTP(addresses), _PinnedHTTPS(addresses))
    return urllib.request.build_opener(_NoRedirect)


@dataclass
class Claimed:
    id: int
    url: str
    secret: str
    kind: str
    body: bytes


@dataclass
class Result:
    status: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def body_of(payload: dict) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def headers_for(claimed: Claimed, t: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "crm-outbound/1",
        GENERIC_HEADER: sign_generic(claimed.secret, claimed.body, t),
        "X-CRM-Event": claimed.kind,
        "X-CRM-Delivery": str(claimed.id),
    }


class PrivateDestination(ValueError):
    """The subscriber URL leads to an address on this side of the network edge."""


def check_destination(url: str) -> list[str]:
    """The addresses the URL's host resolves to, all public; refuses a loopback, private, link-local or
    otherwise non-public one.

    Checked before each attempt, since DNS can change after the webhook was saved, and the attempt then
    connects to the addresses checked, not to whatever the name resolves to a moment later (a name
    that answers a public address to the check and a private one to the connection, DNS rebinding).
    """
    host = urlsplit(url).hostname or ""
    try:
        found = [info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)]
    except (socket.gaierror, UnicodeError) as exc:
        raise PrivateDestination(f"cannot resolve {host!r}: {exc}") from None
    addresses = list(dict.fromkeys(found))  # in the resolver's order, each once
    for address in sorted(addresses):
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global:
            raise PrivateDestination(
                f"refused: {host} resolves to {ip}, not a public address (set OUTBOUND_ALLOW_PRIVATE=1 to allow)"
            )
    return addresses


def send(claimed: Claimed, allow_private: bool = False) -> Result:
    """One POST; never raises (the outcome is logged, whatever it is)."""
    started = time.perf_counter()
    request = urllib.request.Request(
        claimed.url, data=claimed.body, headers=headers_for(claimed, int(time.time())), method="POST"
    )
    try:
        addresses = None if allow_private else check_destination(claimed.url)
        with _opener(claimed.url, addresses).open(request, timeout=TIMEOUT_S) as response:
            status, error = response.status, None
    except urllib.error.HTTPError as exc:
        status, error = exc.code, f"HTTP {exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        status, error = None, f"{exc.__class__.__name__}: {reason}"[:500]
    return Result(status, error, int((time.perf_counter() - started) * 1000))


def _claim(now: datetime, limit: int) -> list[Claimed]:
    stmt = (
        select(OutboundDelivery, SegmentWebhook)
        .join(SegmentWebhook, SegmentWebhook.id == OutboundDelivery.webhook_id)
        .where(
            OutboundDelivery.status == "pending",
            OutboundDelivery.next_attempt_at <= now,
            SegmentWebhook.active.is_(True),
        )
        .order_by(OutboundDelivery.next_attempt_at, OutboundDelivery.id)
        .limit(limit)
    )
    if db.engine.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=OutboundDelivery)
    claimed = []
    for delivery, hook in db.session.execute(stmt).all():
        delivery.next_attempt_at = now + timedelta(seconds=LEASE_S)
        claimed.append(Claimed(delivery.id, hook.url, hook.secret, delivery.kind, body_of(delivery.payload)))
    db.session.commit()
    return claimed


def _record(delivery_id: int, result: Result, now: datetime) -> None:
    delivery = db.session.get(OutboundDelivery, delivery_id)
    if delivery is None or delivery.status != "pending":
        return
    delivery.attempts += 1
    delivery.response_status = result.status
    db.session.add(
        OutboundAttempt(
            delivery_id=delivery_id,
            at=now,
            response_status=result.status,
            error=result.error,
            duration_ms=result.duration_ms,
        )
    )
    if result.ok:
        delivery.status, delivery.delivered_at, delivery.last_error = "delivered", now, None
        return
    delivery.last_error = result.error
    if delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = "failed"
    else:
        delivery.next_attempt_at = now + timedelta(seconds=BACKOFF_S[delivery.attempts - 1])


def deliver_due(now: datetime | None = None, limit: int = BATCH) -> int:
    """Send what is due (a few at a time, in parallel); returns how many were delivered."""
    return send_due(now, limit)[1]


def send_due(now: datetime | None = None, limit: int = BATCH) -> tuple[int, int]:
    """(sent, delivered) for one batch of due deliveries."""
    now = now or utcnow()
    claimed = _claim(now, limit)
    if not claimed:
        return 0, 0
    with ThreadPoolExecutor(max_workers=min(SENDERS, len(claimed))) as pool:
        results = list(pool.map(partial(send, allow_private=current_app.config["OUTBOUND_ALLOW_PRIVATE"]), claimed))
    delivered = 0
    for item, result in zip(claimed, results, strict=True):
        _record(item.id, result, now)
        delivered += result.ok
    db.session.commit()
    return len(claimed), delivered


def attempts_of(delivery_ids: list[int]) -> dict[int, list[OutboundAttempt]]:
    out: dict[int, list[OutboundAttempt]] = {i: [] for i in delivery_ids}
    if delivery_ids:
        for row in db.session.scalars(
            select(OutboundAttempt).where(OutboundAttempt.delivery_id.in_(delivery_ids)).order_by(OutboundAttempt.id)
        ):
            out[row.delivery_id].append(row)
    return out


def deliveries_page(
    segment_id: int, *, limit: int, cursor: str | None, status: str | None = None
) -> tuple[list[OutboundDelivery], dict[int, list[OutboundAttempt]], str | None]:
    """A segment's deliveries, newest first, with their attempts; the cursor names the last id given."""
    stmt = (
        select(OutboundDelivery)
        .join(SegmentWebhook, SegmentWebhook.id == OutboundDelivery.webhook_id)
        .where(SegmentWebhook.segment_id == segment_id)
    )
    if status:
        stmt = stmt.where(OutboundDelivery.status == status)
    if cursor:
        (before,) = decode_cursor(cursor, 1)
        stmt = stmt.where(OutboundDelivery.id < int(before))
    rows = list(db.session.scalars(stmt.order_by(OutboundDelivery.id.desc()).limit(limit + 1)))
    more, rows = len(rows) > limit, rows[:limit]
    return rows, attempts_of([r.id for r in rows]), (encode_cursor(rows[-1].id) if more and rows else None)
