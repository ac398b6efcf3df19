"""`flask search reindex`: a new index version built from the database while searches go on.

1. New indices `<prefix>-<entity>s-v<VERSION>-<stamp>` are created from the templates, with refresh off.
2. The rebuild alias is put on them: from this moment every drain writes each change to the live
   index *and* the new one, so nothing that happens during the build is lost.
3. Every row is read in id order and sent in bulk (read here, indexed on bulk threads meanwhile), each
   batch versioned with the database clock before its read: a change drained meanwhile carries a later
   version, so the build never overwrites it with what it read earlier.
4. The new indices are compared with the database and repaired (rows erased mid-build, documents the
   bulk refused), refreshed, then the read and write aliases move to them in one atomic alias update.
5. After a grace period for searches still running on the old indices, the old ones are deleted.
If anything fails before the swap, the new indices are deleted and the live ones are untouched.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from elasticsearch import Elasticsearch
from sqlalchemy import func, select
from tqdm import tqdm

from crm.columns import utcnow
from crm.extensions import db
from crm.profiles.models import Customer, Interaction
from crm.search import check, elastic, indexer, mappings
from crm.search.bulk import BulkPipeline

log = logging.getLogger(__name__)


class RebuildError(RuntimeError):
    """A rebuild that could not finish; the live indices are as they were."""


@dataclass
class RebuildReport:
    indices: dict[str, str]
    documents: dict[str, int]
    repaired: dict[str, int]
    dropped: list[str]
    seconds: dict[str, float] = field(default_factory=dict)


def _id_batches(entity: str, batch: int):
    t = Customer.__table__ if entity == "customer" else Interaction.__table__
    where = [t.c.status == "active"] if entity == "customer" else []
    last = 0
    while True:
        ids = list(db.session.scalars(select(t.c.id).where(t.c.id > last, *where).order_by(t.c.id).limit(batch)))
        if not ids:
            return
        yield ids
        last = ids[-1]


def row_count(entity: str) -> int:
    t = Customer.__table__ if entity == "customer" else Interaction.__table__
    where = [t.c.status == "active"] if entity == "customer" else []
    return db.session.scalar(select(func.count()).select_from(t).where(*where)) or 0


def load(es: Elasticsearch, entity: str, index: str, *, batch: int = 1000, progress: bool = True) -> int:
    """Every row of an entity into a concrete index; returns the documents sent. Refused documents are
    logged here and put right by the repair pass."""
    refused: dict = {}
    sent = 0
    with (
        BulkPipeline(es) as bulk,
        tqdm(total=row_count(entity), desc=f"indexing {entity}s", unit="doc", disable=not progress) as bar,
    ):
        for ids in _id_batches(entity, batch):
            version = indexer.clock_us()
            docs = indexer.docs_for(entity, ids)
            db.session.rollback()  # end the read transaction: a long rebuild must not hold one open
            for _, failures in bulk.submit(None, list(indexer.actions(entity, docs, [index], version, aliases=False))):
                refused.update(failures)
            sent += len(ids)
            bar.update(len(ids))
        for _, failures in bulk.finish():
            refused.update(failures)
    if refused:
        log.warning(
            "rebuild: %d %s documents refused (e.g. %s); the repair pass retries them",
            len(refused),
            entity,
            next(iter(refused.items())),
        )
    return sent


def repair(es: Elasticsearch, entity: str, index: str) -> int:
    """Make a new index hold exactly the database's ids before it goes live; returns ids fixed."""
    result = check.compare(es, entity, index)
    wrong = sorted(set(result.missing) | set(result.extra) | set(result.stale))
    for start in range(0, len(wrong), 1000):
        ids = wrong[start : start + 1000]
        version = indexer.clock_us()
        failures = elastic.bulk_failures(
            es, indexer.actions(entity, indexer.docs_for(entity, ids), [index], version, aliases=False)
        )
        if failures:
            raise RebuildError(
                f"{len(failures)} {entity} documents could not be indexed, e.g. {next(iter(failures.items()))}"
            )
    db.session.rollback()
    return len(wrong)


def _live_indices(es: Elasticsearch, entity: str) -> list[str]:
    return sorted(es.indices.get_alias(name=elastic.alias(entity, "read")).keys())


def _start(es: Elasticsearch, force: bool) -> dict[str, str]:
    elastic.ensure_indices()
    elastic.put_templates(es)
    running = elastic.write_targets(es)
    busy = [elastic.alias(e, "rebuild") for e, targets in running.items() if len(targets) > 1]
    if busy and not force:
        raise RebuildError(
            f"a rebuild is already running ({', '.join(busy)} exist); if it died, run again with --force"
        )
    for name in busy:
        es.indices.delete(index=list(es.indices.get_alias(name=name).keys()), ignore_unavailable=True)
    stamp = utcnow().strftime("%Y%m%d%H%M%S%f")
    new = {e: mappings.index_name(elastic.prefix(), e, mappings.VERSION, stamp) for e in mappings.ENTITIES}
    for index in new.values():
        es.indices.create(index=index, settings={"refresh_interval": "-1"})
    es.indices.update_aliases(
        actions=[{"add": {"index": new[e], "alias": elastic.alias(e, "rebuild")}} for e in mappings.ENTITIES]
    )
    return new


def _swap(es: Elasticsearch, new: dict[str, str]) -> list[str]:
    old: list[str] = []
    actions: list[dict] = []
    for entity, index in new.items():
        live = _live_indices(es, entity)
        old += live
        for name in live:
            actions.append({"remove": {"index": name, "alias": elastic.alias(entity, "read")}})
            actions.append({"remove": {"index": name, "alias": elastic.alias(entity, "write")}})
        actions.append({"add": {"index": index, "alias": elastic.alias(entity, "read")}})
        actions.append({"add": {"index": index, "alias": elastic.alias(entity, "write"), "is_write_index": True}})
        actions.append({"remove": {"index": index, "alias": elastic.alias(entity, "rebuild")}})
    es.indices.update_aliases(actions=actions)
    return old


def _abandon(es: Elasticsearch, new: dict[str, str]) -> None:
    """After a failure before the swap: drop the half-built indices (and their rebuild alias with them)."""
    try:
        db.session.rollback()
    except Exception:  # the database may be what failed; the indices must go all the same
        log.warning("rebuild: the database session could not be rolled back", exc_info=True)
    try:
        es.indices.delete(index=",".join(new.values()), ignore_unavailable=True)
    except elastic.ES_ERRORS as exc:
        log.warning("rebuild: could not delete %s (%s); the next rebuild needs --force", ", ".join(new.values()), exc)


def rebuild(
    *,
    batch: int = 1000,
    grace_s: float = 2.0,
    force: bool = False,
    progress: bool = True,
    on_phase: Callable | None = None,
) -> RebuildReport:
    es = elastic.client()
    new = _start(es, force)
    report = RebuildReport(indices=new, documents={}, repaired={}, dropped=[])
    try:
        for entity, index in new.items():
            started = time.perf_counter()
            report.documents[entity] = load(es, entity, index, batch=batch, progress=progress)
            report.seconds[entity] = round(time.perf_counter() - started, 2)
            if on_phase:
                on_phase(f"loaded {entity}s")
        es.indices.put_settings(index=",".join(new.values()), settings={"refresh_interval": "1s"})
        for entity, index in new.items():
            report.repaired[entity] = repair(es, entity, index)
        if on_phase:
            on_phase("swap")
        old = _swap(es, new)
    except BaseException:
        _abandon(es, new)
        raise
    time.sleep(grace_s)  # searches that resolved the old indices just before the swap finish first
    if old:
        es.indices.delete(index=",".join(old), ignore_unavailable=True)
    report.dropped = old
    return report
