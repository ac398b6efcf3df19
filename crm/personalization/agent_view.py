"""What the agent view adds to the profile and timeline: context, next best actions and
recommendations, computed together from one load of the customer's facts, and the cache in front.

The cache is keyed by the customer's version (bumped on every change: a new interaction, a merge, an
action marked done), so a changed customer is a new key and nothing is ever invalidated by hand. The
key also carries the row's creation time, so a database restored or truncated under a running cache
never serves another customer's view under a reused id. Entries expire after AGENT_VIEW_CACHE_S
because the view also moves with time alone ("silent for 61 days", a case past its SLA). In Redis when
REDIS_URL is set (shared by every web process), else in an in-process LRU (embedded mode is one process).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime

from flask import current_app
from redis.exceptions import RedisError

from crm import jobs
from crm.columns import utcnow
from crm.personalization.actions import next_best_actions
from crm.personalization.catalog_db import product_table, refresh_if_stale
from crm.personalization.context import build_context
from crm.personalization.loader import load_customer
from crm.personalization.recommend_db import recommend_later
from crm.profiles.models import Customer

DEFAULT_TTL_S = 300
LRU_SIZE = 2048


def personalize(customer: Customer, now: datetime | None = None) -> dict:
    """{context, actions, recommendations, generated_at} for one customer, plain values (the API serialises)."""
    return personalize_later(customer, now)()


def personalize_later(customer: Customer, now: datetime | None = None) -> Callable[[], dict]:
    """`personalize` in two steps: the facts are read and the recommendations' search is sent now; the
    returned function finishes the view. The agent view reads the profile and the timeline in between,
    while Elasticsearch answers (the search was the slowest part of the slowest views)."""
    now = now or utcnow()
    config = current_app.config
    loaded = load_customer(customer)
    table = product_table()
    if table.build_id is None or _stale(table):
        # The product model is derived data: the worker (or, without Redis, this request) rebuilds it.
        jobs.enqueue(refresh_if_stale, once_key="personalization.product_model")
        table = product_table()
    recommendations = recommend_later(loaded, table=table)
    customer_id, version = customer.id, customer.version

    def finish() -> dict:
        context = build_context(loaded.facts, now, config["BASE_CURRENCY"])
        actions = next_best_actions(
            loaded.facts, now, sla_hours=config["CASE_SLA_HOURS"], catalogue=table.catalogue, value=context["value"]
        )
        return {
            "customer_id": customer_id,
            "version": version,
            "generated_at": now,
            "context": context,
            "actions": actions,
            "recommendations": recommendations(),
        }

    return finish


_last_stale_check: dict[str, float] = {}


def _stale(table) -> bool:
    # Checked at most once a minute per process: the periodic worker job is the usual refresher.
    now = time.monotonic()
    if now - _last_stale_check.get("at", -1e9) < 60:
        return False
    _last_stale_check["at"] = now
    from crm.personalization.catalog_db import REFRESH_AFTER, latest_build

    latest = latest_build()
    return latest is None or utcnow() - latest[2] > REFRESH_AFTER


def cache_key(customer: Customer, variant: str = "") -> str:
    created = int(customer.created_at.timestamp() * 1_000_000) if customer.created_at else 0
    return f"{customer.id}:{created}:{customer.version}:{variant}"


class LocalCache:
    """A small thread-safe LRU with expiry, for one process."""

    def __init__(self, size: int = LRU_SIZE):
        self.size, self._items, self._lock = size, OrderedDict(), threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            expires, value = found
            if expires < time.monotonic():
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return value

    def put(self, key: str, value: bytes, ttl_s: float) -> None:
        with self._lock:
            self._items[key] = (time.monotonic() + ttl_s, value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_local = LocalCache()


def _ttl() -> int:
    return int(current_app.config.get("AGENT_VIEW_CACHE_S", DEFAULT_TTL_S))


def _redis_key(key: str) -> str:
    return f"crm:{current_app.config['RQ_QUEUE']}:agent-view:{key}"


def cached(customer: Customer, variant: str = "") -> bytes | None:
    """The serialised view of this customer version, if one is cached."""
    if _ttl() <= 0:
        return None
    key = cache_key(customer, variant)
    conn = jobs.redis_connection()
    if conn is None:
        return _local.get(key)
    try:
        return conn.get(_redis_key(key))
    except RedisError as exc:
        jobs.warn_once("agent-view-cache", f"agent view cache unavailable: {exc}; serving uncached views")
        return None


def remember(customer: Customer, body: bytes, variant: str = "") -> None:
    ttl = _ttl()
    if ttl <= 0:
        return
    key = cache_key(customer, variant)
    conn = jobs.redis_connection()
    if conn is None:
        _local.put(key, body, ttl)
        return
    try:
        conn.set(_redis_key(key), body, ex=ttl)
    except RedisError as exc:
        jobs.warn_once("agent-view-cache", f"agent view cache unavailable: {exc}; serving uncached views")
