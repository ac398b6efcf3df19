"""Segment fixtures: a data set built once per module (demo data, a generated pool), kept across the
module's tests and cleaned up after the last one, with an index prefix of its own."""

from __future__ import annotations

import uuid
from contextlib import contextmanager

from crm.extensions import db
from tests.conftest import MODE, RUN_ID, _delete_indices, _truncate


def index_everything() -> int:
    """Drain the outbox into Elasticsearch until nothing waits (full mode); returns documents indexed."""
    if MODE != "full":
        return 0
    from crm.search import drain
    from crm.search.elastic import alias, client

    total = 0
    while True:
        done = drain(limit=100_000)
        total += done
        if not done:
            break
    client().indices.refresh(index=alias("customer"))
    return total


@contextmanager
def module_data(_app):
    """An app context whose tables and index outlive single tests; emptied when the module ends."""
    prefix = f"crmt-{RUN_ID}-seg{uuid.uuid4().hex[:6]}"
    previous = _app.config["SEARCH_INDEX_PREFIX"]
    if MODE == "full":
        _app.config["SEARCH_INDEX_PREFIX"] = prefix
    try:
        with _app.app_context():
            yield _app
            db.session.rollback()
            _truncate(db)
    finally:
        if MODE == "full":
            _delete_indices(_app, f"{prefix}-*")
        _app.config["SEARCH_INDEX_PREFIX"] = previous
