"""Search: one interface, two backends behind it.

With ELASTICSEARCH_URL set, customers and interactions are indexed into Elasticsearch through the
outbox and searched there; without it, the same calls are answered from the database (sql.py).
Profiles write rows and outbox entries; search reads them. Nothing outside this package talks to
Elasticsearch directly.
"""

from __future__ import annotations

from flask import current_app

from crm.search.outbox import index_lag_seconds, record_change


def uses_elasticsearch() -> bool:
    return bool(current_app.config.get("ELASTICSEARCH_URL"))


def state() -> dict:
    """For /healthz: {'state': 'up'|'down'|'sql', ...}."""
    if not uses_elasticsearch():
        return {"state": "sql"}
    from crm.search import elastic

    return elastic.cluster_state()


def drain(limit: int = 5000) -> int:
    """Index pending outbox rows (the job the worker runs after processing); returns rows indexed."""
    from crm.search.outbox import drain as _drain

    return _drain(limit=limit)


__all__ = ["drain", "index_lag_seconds", "record_change", "state", "uses_elasticsearch"]
