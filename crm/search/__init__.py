"""Search: one interface, two backends behind it.

With ELASTICSEARCH_URL set, customers and interactions are indexed into Elasticsearch through the
outbox and searched there; without it, the same calls are answered from the database (sql.py).
Profiles write rows and outbox entries; search reads them. Nothing outside this package talks to
Elasticsearch directly, except through `elastic.client()` and the read aliases `elastic.alias(...)`.
"""

from __future__ import annotations

from flask import current_app

from crm.search.outbox import index_lag_seconds, record_change
from crm.search.query import ParsedQuery, SearchPage, SearchRequest

BACKENDS = ("elasticsearch", "sql")


def uses_elasticsearch() -> bool:
    return bool(current_app.config.get("ELASTICSEARCH_URL"))


def state() -> dict:
    """For /healthz: {'state': 'up'|'down'|'sql', ...}."""
    if not uses_elasticsearch():
        return {"state": "sql"}
    from crm.search import elastic

    return elastic.cluster_state()


def drain(limit: int = 5000) -> int:
    """Index pending outbox rows (the job the worker runs after processing); returns rows indexed.

    A backlog (an Elasticsearch outage, a bulk import) is shared by the free workers: when more than
    `limit` rows are due, another drain is queued before this one starts, which a free worker takes and
    does the same; drains claim different rows (crm.search.outbox). A drain that reaches its limit
    queues the next, so the rest does not wait for the worker's ticker. Jobs inline (no Redis): one.
    """
    from crm import jobs
    from crm.search.outbox import drain as _drain
    from crm.search.outbox import due_beyond

    queued = bool(current_app.config.get("REDIS_URL"))
    if queued and due_beyond(limit):
        jobs.enqueue(drain, once_key="drain")
    done = _drain(limit=limit)
    if queued and done >= limit:
        jobs.enqueue(drain, once_key="drain")
    return done


def parse_query(raw: str) -> ParsedQuery:
    """The search box's text read with this deployment's phone region and plus-tag rule."""
    from crm.search.query import parse

    cfg = current_app.config
    return parse(raw, default_region=cfg["DEFAULT_PHONE_REGION"], strip_plus_tags=cfg["EMAIL_STRIP_PLUS_TAGS"])


def search(request: SearchRequest, backend: str | None = None) -> SearchPage:
    """Run a search on Elasticsearch when configured, else on the database; `backend` forces one.

    When Elasticsearch fails (down, timing out) an unforced search is answered by the SQL backend.
    """
    forced = backend is not None
    backend = backend or ("elasticsearch" if uses_elasticsearch() else "sql")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}")
    from crm.search import sql

    if backend == "sql":
        return sql.search(request)
    from crm.search import elastic, es_query

    try:
        return es_query.search(request)
    except elastic.ES_ERRORS as exc:
        if forced:
            raise
        # The database holds the truth and the SQL backend reads it directly: slower, never wrong.
        from crm.jobs import warn_once

        warn_once("search-es", f"search: Elasticsearch failed ({elastic.describe(exc)}); answering from the database")
        page = sql.search(request)
        page.notes.append("Elasticsearch is unavailable: answered from the database")
        return page


__all__ = [
    "SearchPage",
    "SearchRequest",
    "drain",
    "index_lag_seconds",
    "parse_query",
    "record_change",
    "search",
    "state",
    "uses_elasticsearch",
]
