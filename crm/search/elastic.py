"""The Elasticsearch backend: the client, the indices behind aliases, applying outbox rows, searching."""

from __future__ import annotations

import logging

from elastic_transport import ConnectionError as ESConnectionError
from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch, helpers
from flask import current_app

from crm.search import documents, mappings

log = logging.getLogger(__name__)

ES_ERRORS = (ApiError, TransportError, ESConnectionError)


def client() -> Elasticsearch:
    es = current_app.extensions.get("crm.es")
    if es is None:
        cfg = current_app.config
        kwargs = {"request_timeout": cfg["ELASTICSEARCH_TIMEOUT"], "max_retries": 1, "retry_on_timeout": False}
        if cfg.get("ELASTICSEARCH_API_KEY"):
            kwargs["api_key"] = cfg["ELASTICSEARCH_API_KEY"]
        if cfg.get("ELASTICSEARCH_CA_CERTS"):
            kwargs["ca_certs"] = cfg["ELASTICSEARCH_CA_CERTS"]
        es = Elasticsearch(cfg["ELASTICSEARCH_URL"], **kwargs)
        current_app.extensions["crm.es"] = es
    return es


def cluster_state() -> dict:
    try:
        health = client().options(request_timeout=2).cluster.health()
        return {"state": "up", "cluster": health["status"]}
    except ES_ERRORS as exc:
        return {"state": "down", "error": f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:200]}"}


def alias(entity: str, kind: str = "read") -> str:
    """The read or write alias of an entity's index: <prefix>-<entity>s-<kind>."""
    return f"{current_app.config['SEARCH_INDEX_PREFIX']}-{entity}s-{kind}"


def ensure_indices() -> None:
    """Create the current index version for each entity, with both aliases, if no read alias exists yet."""
    es = client()
    for entity in mappings.ENTITIES:
        read = alias(entity, "read")
        if es.indices.exists_alias(name=read):
            continue
        index = mappings.index_name(current_app.config["SEARCH_INDEX_PREFIX"], entity, mappings.VERSION)
        if not es.indices.exists(index=index):
            es.indices.create(index=index, **mappings.index_body(entity))
        es.indices.update_aliases(
            actions=[
                {"add": {"index": index, "alias": read}},
                {"add": {"index": index, "alias": alias(entity, "write"), "is_write_index": True}},
            ]
        )


def apply_changes(rows) -> tuple[list[int], dict]:
    """Send the documents for outbox rows in one bulk request: (ids of rows done, {row: error})."""
    try:
        ensure_indices()
    except ES_ERRORS as exc:
        return [], {row: f"{exc.__class__.__name__}: {exc}" for row in rows}
    actions = documents.actions_for(rows, {e: alias(e, "write") for e in mappings.ENTITIES})
    if not actions:
        return [row.id for row in rows], {}
    failed_keys: dict[tuple[str, str], str] = {}
    try:
        for ok, item in helpers.streaming_bulk(
            client(), actions, raise_on_error=False, raise_on_exception=False, max_retries=2, chunk_size=500
        ):
            if not ok:
                op, result = next(iter(item.items()))
                if op == "delete" and result.get("status") == 404:
                    continue  # already gone: the goal of a delete
                entity = "customer" if "-customers-" in str(result.get("_index")) else "interaction"
                failed_keys[(entity, str(result.get("_id")))] = str(result.get("error"))[:500]
    except ES_ERRORS as exc:
        return [], {row: f"{exc.__class__.__name__}: {exc}" for row in rows}
    ok_ids, failed = [], {}
    for row in rows:
        key = (row.entity, str(row.entity_id))
        if key in failed_keys:
            failed[row] = failed_keys[key]
        else:
            ok_ids.append(row.id)
    return ok_ids, failed
