"""The Elasticsearch side: the client, the indices behind their aliases, and bulk writes.

Each entity has a read alias (searches), a write alias (the drain) and, while `flask search reindex`
runs, a rebuild alias on the index being built: the drain writes every change to both, so nothing that
happens during a rebuild is lost. Writes are versioned (external_gte, the database clock at the time
the rows were read), so a slower writer holding older data can never overwrite newer data, whichever
arrives last.
"""

from __future__ import annotations

import logging
import re
import time

import orjson
from elastic_transport import ConnectionError as ESConnectionError
from elastic_transport import TransportError
from elasticsearch import ApiError, BadRequestError, Elasticsearch, NotFoundError
from elasticsearch.serializer import OrjsonSerializer
from flask import current_app

from crm.search import mappings

log = logging.getLogger(__name__)

ES_ERRORS = (ApiError, TransportError, ESConnectionError)
ALIAS_KINDS = ("read", "write", "rebuild")


def client() -> Elasticsearch:
    es = current_app.extensions.get("crm.es")
    if es is None:
        cfg = current_app.config
        kwargs = {"request_timeout": cfg["ELASTICSEARCH_TIMEOUT"], "max_retries": 1, "retry_on_timeout": False}
        # The client's own orjson serializer: JSON was half the client's cost of a bulk request, and it
        # holds the interpreter lock the drain builds the next documents under.
        kwargs["serializer"] = OrjsonSerializer()
        if cfg.get("ELASTICSEARCH_API_KEY"):
            kwargs["api_key"] = cfg["ELASTICSEARCH_API_KEY"]
        if cfg.get("ELASTICSEARCH_CA_CERTS"):
            kwargs["ca_certs"] = cfg["ELASTICSEARCH_CA_CERTS"]
        es = Elasticsearch(cfg["ELASTICSEARCH_URL"], **kwargs)
        current_app.extensions["crm.es"] = es
    return es


def describe(exc: Exception) -> str:
    return f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"


def cluster_state() -> dict:
    try:
        health = client().options(request_timeout=2).cluster.health()
        return {"state": "up", "cluster": health["status"]}
    except ES_ERRORS as exc:
        return {"state": "down", "error": describe(exc)}


def prefix() -> str:
    return current_app.config["SEARCH_INDEX_PREFIX"]


def alias(entity: str, kind: str = "read") -> str:
    """An entity's alias: <prefix>-<entity>s-read | -write | -rebuild."""
    if kind not in ALIAS_KINDS:
        raise ValueError(f"alias kind must be one of {', '.join(ALIAS_KINDS)}")
    return f"{prefix()}-{entity}s-{kind}"


def entity_of(index_or_alias: str | None) -> str:
    return "customer" if re.search(r"-customers-", str(index_or_alias or "")) else "interaction"


def refresh_option() -> dict:
    """SEARCH_REFRESH: 'false' in production (the index refreshes every second), 'wait_for' in tests."""
    value = str(current_app.config.get("SEARCH_REFRESH") or "false").lower()
    return {} if value in ("false", "0", "no", "") else {"refresh": "wait_for" if value == "wait_for" else "true"}


def put_templates(es: Elasticsearch) -> None:
    for entity in mappings.ENTITIES:
        es.indices.put_index_template(
            name=mappings.template_name(prefix(), entity), **mappings.template_body(prefix(), entity)
        )


def ensure_indices() -> None:
    """Templates, and a first index version with both aliases where none exists; once per process and prefix."""
    ready: set = current_app.extensions.setdefault("crm.search.ready", set())
    if prefix() in ready:
        return
    es = client()
    put_templates(es)
    for entity in mappings.ENTITIES:
        if es.indices.exists_alias(name=alias(entity, "read")):
            upgrade_mapping(es, entity)
            continue
        # A fixed first name: two workers starting at once create one index, not two.
        index = mappings.index_name(prefix(), entity, mappings.VERSION, "0")
        try:
            es.indices.create(index=index)
        except BadRequestError as exc:
            if exc.error != "resource_already_exists_exception":
                raise
        es.indices.update_aliases(
            actions=[
                {"add": {"index": index, "alias": alias(entity, "read")}},
                {"add": {"index": index, "alias": alias(entity, "write"), "is_write_index": True}},
            ]
        )
    ready.add(prefix())


def forget_indices() -> None:
    """After an alias went missing (indices deleted by hand): check them again on the next write."""
    current_app.extensions.setdefault("crm.search.ready", set()).discard(prefix())


def upgrade_mapping(es: Elasticsearch, entity: str) -> None:
    """Fields added to the design since the live index was built are put on it in place."""
    wanted = mappings.mappings(entity)
    current = es.indices.get_mapping(index=alias(entity, "write"))
    for index, body in current.items():
        meta = (body.get("mappings") or {}).get("_meta") or {}
        if meta.get("mapping_hash") == wanted["_meta"]["mapping_hash"]:
            continue
        try:
            es.indices.put_mapping(
                index=index,
                properties=wanted["properties"],
                dynamic_templates=wanted["dynamic_templates"],
                meta=wanted["_meta"],
            )
            log.info("search: added the new fields of design %s to %s", mappings.VERSION, index)
        except BadRequestError as exc:
            log.warning(
                "search: %s cannot take the current design in place (%s); run `flask search reindex`", index, exc
            )


def write_targets(es: Elasticsearch) -> dict[str, list[str]]:
    """entity -> aliases every change goes to: the write alias, plus the rebuild alias while one exists."""
    targets = {entity: [alias(entity, "write")] for entity in mappings.ENTITIES}
    try:
        found = es.indices.get_alias(name=f"{prefix()}-*-rebuild")
    except NotFoundError:
        return targets
    names = {name for body in found.values() for name in (body.get("aliases") or {})}
    for entity in mappings.ENTITIES:
        if alias(entity, "rebuild") in names:
            targets[entity].append(alias(entity, "rebuild"))
    return targets


# A bulk request holds at most this many actions and about this many bytes; a rejected action (429, the
# node's write queue full) is sent again this many times, after a backoff doubling from the first.
BULK_CHUNK_BYTES = 10 * 1024 * 1024
BULK_RETRIES, BULK_FIRST_BACKOFF_S, BULK_MAX_BACKOFF_S = 3, 0.5, 5.0

Failures = dict[tuple[str, int], str]


def bulk_failures(es: Elasticsearch, actions, *, refresh: dict | None = None, chunk_size: int = 500) -> Failures:
    """Send bulk actions; (entity, id) -> error for each that did not take.

    A version conflict means newer data is there already, and a delete of a missing document is
    already done: neither is a failure. Rejections (429) are retried with backoff. Runs on worker
    threads too (no app context there): they pass `refresh` in. A connection error is raised.

    The requests are written here (orjson, one NDJSON body per chunk) and their answers read only where
    they report errors, rather than through helpers.streaming_bulk: with the helper's Python per action
    (expanding, chunking, yielding each result) the client cost 20 µs a document, 1.0 s of CPU per
    50,000, against 8 µs this way, on threads that share the interpreter lock with the drain building
    the next documents. (The helper also dropped `require_alias` from the actions without a word.)
    """
    in_app = refresh is None
    options = refresh_option() if in_app else refresh
    failures: Failures = {}
    for chunk in _bulk_chunks(actions, chunk_size):
        failures.update(_send_chunk(es, chunk, options))
    if in_app:
        notice_missing_indices(failures)
    return failures


def _bulk_lines(action: dict) -> bytes:
    """An action as the bulk API reads it: the metadata line, and the document's line for an index."""
    op = action.get("_op_type", "index")
    meta = {key: value for key, value in action.items() if key not in ("_op_type", "_source")}
    head = orjson.dumps({op: meta})
    if op == "delete":
        return head + b"\n"
    return head + b"\n" + orjson.dumps(action["_source"]) + b"\n"


def _bulk_chunks(actions, chunk_size: int):
    chunk: list[tuple[dict, bytes]] = []
    size = 0
    for action in actions:
        lines = _bulk_lines(action)
        if chunk and (len(chunk) >= chunk_size or size + len(lines) > BULK_CHUNK_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append((action, lines))
        size += len(lines)
    if chunk:
        yield chunk


def _failure_key(action: dict) -> tuple[str, int]:
    return entity_of(action.get("_index")), int(action["_id"])


def _send_chunk(es: Elasticsearch, chunk: list[tuple[dict, bytes]], options: dict) -> Failures:
    failures: Failures = {}
    pending = chunk
    for attempt in range(BULK_RETRIES + 1):
        last = attempt == BULK_RETRIES
        try:
            response = es.bulk(operations=b"".join(lines for _, lines in pending), **options)
        except ApiError as exc:
            if exc.status_code == 429 and not last:
                _bulk_backoff(attempt)
                continue
            error = describe(exc)
            return {**failures, **{_failure_key(action): error for action, _ in pending}}
        if not response.get("errors"):
            return failures
        rejected = []
        for (action, lines), item in zip(pending, response["items"], strict=True):
            op, result = next(iter(item.items()))
            status = result.get("status") or 0
            if status < 300 or status == 409 or (op == "delete" and status == 404):
                continue
            if status == 429 and not last:
                rejected.append((action, lines))
                continue
            failures[_failure_key(action)] = str(result.get("error"))[:500]
        if not rejected:
            return failures
        pending = rejected
        _bulk_backoff(attempt)
    return failures


def _bulk_backoff(attempt: int) -> None:
    time.sleep(min(BULK_MAX_BACKOFF_S, BULK_FIRST_BACKOFF_S * 2**attempt))


def notice_missing_indices(failures: dict) -> None:
    """An index or alias deleted by hand: look at them again on the next write."""
    if any("index_not_found_exception" in error for error in failures.values()):
        forget_indices()


def interactions_naming(es: Elasticsearch, customer_ids: list[int], targets: list[str]) -> set[int]:
    """Ids of the interaction documents that name any of these customers, in any of the targets.

    (This node has no _delete_by_query: the reindex module is not in the distribution.)
    """
    found: set[int] = set()
    for start in range(0, len(customer_ids), 1000):
        query = {"terms": {"customer_id": customer_ids[start : start + 1000]}}
        after = None
        while True:
            page = es.search(
                index=",".join(targets),
                query=query,
                size=10_000,
                sort=[{"id": "asc"}],
                source=False,
                docvalue_fields=["id"],
                ignore_unavailable=True,
                **({"search_after": after} if after else {}),
            )["hits"]["hits"]
            found.update(int(h["fields"]["id"][0]) for h in page)
            if len(page) < 10_000:
                break
            after = page[-1]["sort"]
    return found
