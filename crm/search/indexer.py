"""From entity ids to bulk actions and back to what failed: the part the drain and the rebuild share.

Documents are read from the database at the moment of sending and versioned with the database clock
taken before the read, so of two writers the one that read later wins in the index, whatever order
their requests arrive in (external_gte versioning).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from elasticsearch import Elasticsearch
from sqlalchemy import select, text

from crm.extensions import db
from crm.profiles.models import Customer
from crm.search import documents, elastic
from crm.search.ids import id_in

VERSION_TYPE = "external_gte"


def clock_us() -> int:
    """Microseconds on the database clock (the one every writer shares); the local clock on SQLite."""
    if db.engine.dialect.name == "postgresql":
        return int(
            db.session.execute(text("SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint")).scalar()
        )
    return time.time_ns() // 1000


def docs_for(entity: str, ids: Iterable[int]) -> dict[int, dict | None]:
    with cyclic_gc_paused():
        return documents.customer_docs(ids) if entity == "customer" else documents.interaction_docs(ids)


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Build a batch of documents without the cyclic garbage collector.

    Documents are plain dicts and lists made from rows, with no reference cycles: reference counting
    frees them. The collector, triggered every few hundred allocations, walked every live object of the
    process each time it reached the older generations, about a third of the time spent building
    customer documents (measured on the bench data set). It runs again as usual once the batch is built.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def actions(entity: str, docs: dict[int, dict | None], targets: list[str], version: int, *, aliases: bool = True):
    """Index or delete actions for each document and target: aliases, or (`aliases=False`) an index by name."""
    for entity_id, doc in docs.items():
        for target in targets:
            meta = {"_index": target, "_id": str(entity_id), "version": version, "version_type": VERSION_TYPE}
            if doc is None:
                yield {"_op_type": "delete", **meta}
            else:
                # require_alias: a write to a removed rebuild alias must fail, not create an index by that name.
                yield {"_op_type": "index", **({"require_alias": True} if aliases else {}), **meta, "_source": doc}


def erased_customers(ids: list[int]) -> list[int]:
    """Of customers whose document goes, those whose row is gone (erased), not merged."""
    if not ids:
        return []
    present = set(db.session.scalars(select(Customer.id).where(id_in(Customer.id, ids))))
    return [i for i in ids if i not in present]


def build_actions(es: Elasticsearch, wanted: dict[str, set[int]], version: int) -> list[dict]:
    """The bulk actions that bring the index in line with the database for these ids (reads the rows now)."""
    elastic.ensure_indices()
    targets = elastic.write_targets(es)
    customer_docs = docs_for("customer", wanted.get("customer") or ())
    interaction_ids = set(wanted.get("interaction") or ())
    gone = erased_customers([i for i, d in customer_docs.items() if d is None])
    if gone:
        # Interaction documents still naming an erased customer are read again from the database too
        # (deleted when their row is gone): a safety net behind erasure, whatever it recorded.
        interaction_ids |= elastic.interactions_naming(es, gone, targets["interaction"])
    out = list(actions("customer", customer_docs, targets["customer"], version))
    out += actions("interaction", docs_for("interaction", interaction_ids), targets["interaction"], version)
    return out


def index_entities(es: Elasticsearch, wanted: dict[str, set[int]], version: int) -> dict[tuple[str, int], str]:
    """Build and send in one go; (entity, id) -> error for what did not take."""
    return elastic.bulk_failures(es, build_actions(es, wanted, version))
