"""Database against index: which ids each side has, and which customer documents carry an older version
than the row. `flask search check` prints this; the rebuild uses the same comparison to repair the new
index before its aliases move.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from elasticsearch import Elasticsearch
from sqlalchemy import select

from crm.extensions import db
from crm.profiles.models import Customer, Interaction
from crm.search import mappings
from crm.search.models import OutboxEntry

PAGE = 10_000


@dataclass
class EntityCheck:
    entity: str
    database: int
    index: int
    missing: list[int] = field(default_factory=list)  # in the database, not in the index
    extra: list[int] = field(default_factory=list)  # in the index, not (or no longer) in the database
    stale: list[int] = field(default_factory=list)  # customer documents older than their row
    pending: int = 0  # of the differences, how many have an outbox row waiting (the drain will fix them)

    @property
    def differences(self) -> int:
        return len(self.missing) + len(self.extra) + len(self.stale)


def database_versions(entity: str) -> dict[int, int | None]:
    """id -> version of every row the index should hold (active customers; every interaction)."""
    if entity == "customer":
        t = Customer.__table__
        return dict(db.session.execute(select(t.c.id, t.c.version).where(t.c.status == "active")).all())
    return {i: None for i in db.session.scalars(select(Interaction.__table__.c.id))}


def index_versions(es: Elasticsearch, index: str, entity: str) -> dict[int, int | None]:
    """id -> version of every document in an index or alias, read in pages sorted by id."""
    fields = ["id", "version"] if entity == "customer" else ["id"]
    out: dict[int, int | None] = {}
    for hit in _scan(es, index, fields):
        values = hit.get("fields", {})
        version = values.get("version", [None])[0]
        out[int(values["id"][0])] = int(version) if version is not None else None
    return out


def _scan(es: Elasticsearch, index: str, fields: list[str]) -> Iterator[dict]:
    after = None
    while True:
        kwargs = {"search_after": after} if after else {}
        page = es.search(
            index=index,
            size=PAGE,
            sort=[{"id": "asc"}],
            source=False,
            docvalue_fields=fields,
            query={"match_all": {}},
            track_total_hits=False,
            **kwargs,
        )["hits"]["hits"]
        yield from page
        if len(page) < PAGE:
            return
        after = page[-1]["sort"]


def compare(es: Elasticsearch, entity: str, index: str) -> EntityCheck:
    es.indices.refresh(index=index)
    wanted = database_versions(entity)
    have = index_versions(es, index, entity)
    result = EntityCheck(entity, len(wanted), len(have))
    result.missing = sorted(set(wanted) - set(have))
    result.extra = sorted(set(have) - set(wanted))
    if entity == "customer":
        result.stale = sorted(i for i, v in wanted.items() if i in have and have[i] is not None and have[i] < v)
    differing = set(result.missing) | set(result.extra) | set(result.stale)
    if differing:
        waiting = set(db.session.scalars(select(OutboxEntry.entity_id).where(OutboxEntry.entity == entity)))
        result.pending = len(differing & waiting)
    return result


def compare_all(es: Elasticsearch, read_alias) -> list[EntityCheck]:
    return [compare(es, entity, read_alias(entity, "read")) for entity in mappings.ENTITIES]
