"""Duplicate suggestions: customers who share no identifier but are probably one person, for a person
to confirm (a recorded, undoable merge) or dismiss (never suggested again). Never merged on their own.

Computed for the customer touched after each processed interaction (`refresh_for`, called from the
pipeline's refresh: a few indexed queries through crm/profiles/matching.py), and for everyone by
`flask identity suggest` (`suggest_everyone`: blocking over all records in memory, near-linear).
Scoring and its readable reasons are crm/profiles/similarity.py.
"""

from __future__ import annotations

import base64
import json
import time
from collections import defaultdict
from datetime import datetime

from flask import current_app
from sqlalchemy import and_, bindparam, delete, func, or_, select, update

from crm import audit
from crm.columns import utcnow
from crm.errors import Conflict, InvalidPayload, NotFound
from crm.extensions import db, insert_ignoring_conflicts
from crm.profiles import matching
from crm.profiles.merge import merge_by_person
from crm.profiles.models import Customer, DuplicateSuggestion, MergeBlock
from crm.profiles.similarity import THRESHOLD, PersonRecord, score_pair

STATUSES = ("open", "confirmed", "dismissed")


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def threshold_setting() -> float:
    """The product's threshold: DUPLICATE_THRESHOLD when set, else the scorer's THRESHOLD."""
    value = current_app.config.get("DUPLICATE_THRESHOLD")
    return THRESHOLD if value is None else float(value)


def refresh_for(customer: Customer, interaction_id: int | None = None, *, threshold: float | None = None) -> int:
    """Store the customer's match record and, when it changed, re-score it against its candidates
    (suggested from `threshold`, by default the setting); returns how many were opened or refreshed."""
    with db.session.no_autoflush:
        return _refresh(customer, interaction_id, threshold_setting() if threshold is None else threshold)


def _refresh(customer: Customer, interaction_id: int | None, threshold: float) -> int:
    if customer.status != "active":
        matching.forget(customer.id)
        return 0
    record = matching.current_record(customer, interaction_id)
    blocking, changed = matching.store(record)
    if not changed:
        return 0
    existing = _suggestions_of(customer.id)
    candidates = matching.candidate_ids(customer.id, blocking)
    candidates |= {_other(row, customer.id) for row in existing.values() if row.status == "open"}
    others = matching.records_of(candidates)
    if not others:
        return 0
    freq = matching.frequencies_for([record, *others.values()])
    blocked = _blocked_with(customer.id)
    count = 0
    for cid, other in others.items():
        row = existing.get(_pair(customer.id, cid))
        if row is not None and (row.status != "open" or row.kind != "fuzzy"):
            continue  # decided by a person, or raised by resolution for a reason of its own
        found = None if cid in blocked else score_pair(record, other, frequencies=freq, threshold=threshold)
        if found is not None:
            _upsert(found.customer_a_id, found.customer_b_id, found.score, list(found.reasons), row)
            count += 1
        elif row is not None:
            db.session.delete(row)
    db.session.flush()
    return count


def _other(row: DuplicateSuggestion, customer_id: int) -> int:
    return row.customer_b_id if row.customer_a_id == customer_id else row.customer_a_id


def _suggestions_of(customer_id: int) -> dict[tuple[int, int], DuplicateSuggestion]:
    rows = db.session.scalars(
        select(DuplicateSuggestion).where(
            or_(DuplicateSuggestion.customer_a_id == customer_id, DuplicateSuggestion.customer_b_id == customer_id)
        )
    )
    return {(r.customer_a_id, r.customer_b_id): r for r in rows}


def _blocked_with(customer_id: int) -> set[int]:
    rows = db.session.execute(
        select(MergeBlock.customer_a_id, MergeBlock.customer_b_id).where(
            or_(MergeBlock.customer_a_id == customer_id, MergeBlock.customer_b_id == customer_id)
        )
    ).all()
    return {b if a == customer_id else a for a, b in rows}


def _upsert(lo: int, hi: int, score: float, reasons: list[str], row: DuplicateSuggestion | None) -> None:
    if row is not None:
        if row.score != score or row.reasons != reasons:
            row.score, row.reasons = score, reasons
        return
    # Two workers may find the same pair at once (each from its own side): the first insert wins.
    now = utcnow()
    db.session.execute(
        insert_ignoring_conflicts(DuplicateSuggestion, "customer_a_id", "customer_b_id").values(
            customer_a_id=lo,
            customer_b_id=hi,
            score=score,
            reasons=reasons,
            kind="fuzzy",
            status="open",
            created_at=now,
            updated_at=now,
        )
    )


# --- everyone -----------------------------------------------------------------------------------


def suggest_everyone(*, threshold: float | None = None, progress: bool = False) -> dict:
    """Suggestions for every active customer (from `threshold`, by default the setting), and their match
    records rebuilt; commits. Returns figures."""
    from tqdm import tqdm

    from crm.profiles.similarity import candidate_pairs

    clock = [time.perf_counter()]

    def lap() -> float:
        clock.append(time.perf_counter())
        return round(clock[-1] - clock[-2], 2)

    total = db.session.scalar(select(func.count()).select_from(Customer).where(Customer.status == "active")) or 0
    with tqdm(total=total, desc="reading customers", unit="customer", disable=not progress) as bar:
        records = load_records(bar)
    seconds = {"read": lap()}
    pairs = list(candidate_pairs(records))
    seconds["block"] = lap()
    with tqdm(total=len(pairs), desc="scoring candidate pairs", unit="pair", disable=not progress) as bar:
        stats = decide_everyone(
            records, pairs, threshold=threshold_setting() if threshold is None else threshold, progress=bar
        )
    seconds["score_and_write"] = lap()
    with tqdm(total=len(records), desc="writing match keys", unit="customer", disable=not progress) as bar:
        stats["keys"] = store_everyone(records, bar)
    db.session.commit()
    seconds["match_keys"] = lap()
    stats.update(customers=len(records), candidate_pairs=len(pairs), seconds=seconds)
    stats["open"] = (
        db.session.scalar(
            select(func.count()).select_from(DuplicateSuggestion).where(DuplicateSuggestion.status == "open")
        )
        or 0
    )
    return stats


def load_records(progress=None) -> list[PersonRecord]:
    """Every active customer's record, from their attributes, identifiers and interactions (bulk reads)."""
    from crm.profiles import attributes
    from crm.profiles.models import Identifier, Interaction

    ids = list(db.session.scalars(select(Customer.id).where(Customer.status == "active").order_by(Customer.id)))
    values = attributes.effective_by_customer(ids)
    idents: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for cid, kind, value in db.session.execute(select(Identifier.customer_id, Identifier.kind, Identifier.value)):
        idents[cid].append((kind, value))
    invalid: dict[int, set[str]] = defaultdict(set)
    rows = db.session.execute(
        select(Interaction.customer_id, Interaction.identifiers).where(Interaction.customer_id.is_not(None))
    )
    for cid, found in rows.yield_per(5000):
        phones = matching.invalid_phones_of(found)
        if phones:
            invalid[cid] |= phones
    records = []
    for cid in ids:
        records.append(matching.build_record(cid, values.get(cid, {}), idents.get(cid, ()), invalid.get(cid, ())))
        if progress is not None:
            progress.update(1)
    return records


def decide_everyone(records: list[PersonRecord], pairs, *, threshold: float, progress=None) -> dict:
    """Score candidate pairs and write the suggestions: new ones opened, open ones refreshed or dropped."""
    from crm.profiles.similarity import Frequencies

    freq = Frequencies.from_records(records) if len(records) >= matching.MIN_POPULATION else Frequencies()
    found = {}
    for i, j in pairs:
        s = score_pair(records[i], records[j], frequencies=freq, threshold=threshold)
        if s is not None:
            found[(s.customer_a_id, s.customer_b_id)] = s
        if progress is not None:
            progress.update(1)
    return _write_suggestions(found)


def _write_suggestions(found: dict) -> dict:
    """Bulk statements, not one per row: 10k customers' suggestions are written in a few round trips."""
    table = DuplicateSuggestion.__table__
    blocked = {(a, b) for a, b in db.session.execute(select(MergeBlock.customer_a_id, MergeBlock.customer_b_id))}
    existing = db.session.execute(
        select(table.c.id, table.c.customer_a_id, table.c.customer_b_id, table.c.status, table.c.kind)
    ).all()
    now = utcnow()
    stats = {"opened": 0, "refreshed": 0, "dropped": 0, "kept_decided": 0}
    gone, changed, seen = [], [], set()
    for row_id, a, b, status, kind in existing:
        seen.add((a, b))
        if status != "open" or kind != "fuzzy":
            stats["kept_decided"] += (a, b) in found
        elif (a, b) not in found or (a, b) in blocked:
            gone.append(row_id)
        else:
            s = found[(a, b)]
            changed.append({"row_id": row_id, "new_score": s.score, "new_reasons": list(s.reasons), "now": now})
    for start in range(0, len(gone), 1000):
        db.session.execute(delete(table).where(table.c.id.in_(gone[start : start + 1000])))
    if changed:
        db.session.execute(
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values(score=bindparam("new_score"), reasons=bindparam("new_reasons"), updated_at=bindparam("now")),
            changed,
        )
    new = [
        {"customer_a_id": a, "customer_b_id": b, "score": s.score, "reasons": list(s.reasons), "kind": "fuzzy"}
        | {"status": "open", "created_at": now, "updated_at": now}
        for (a, b), s in found.items()
        if (a, b) not in seen and (a, b) not in blocked
    ]
    for start in range(0, len(new), 1000):
        db.session.execute(table.insert(), new[start : start + 1000])
    stats.update(opened=len(new), refreshed=len(changed), dropped=len(gone))
    return stats


def store_everyone(records: list[PersonRecord], progress=None) -> int:
    """Rebuild match_profiles and match_keys from the records (PostgreSQL: COPY); returns keys written."""
    from crm.profiles.models import MatchKey, MatchProfile

    db.session.execute(delete(MatchKey))
    db.session.execute(delete(MatchProfile))
    now = utcnow()
    profiles, keys = [], []
    for record in records:
        profiles.append({"customer_id": record.customer_id, "record": matching.to_json(record), "updated_at": now})
        blocking, frequency = matching.record_keys(record)
        keys.extend((h, record.customer_id) for h in blocking | frequency)
        if progress is not None:
            progress.update(1)
    for start in range(0, len(profiles), 2000):
        db.session.execute(MatchProfile.__table__.insert(), profiles[start : start + 2000])
    _write_keys(keys)
    return len(keys)


def _write_keys(keys: list[tuple[int, int]]) -> None:
    from crm.profiles.models import MatchKey

    if db.engine.dialect.name == "postgresql":
        raw = db.session.connection().connection.driver_connection
        with raw.cursor() as cursor, cursor.copy("COPY match_keys (key_hash, customer_id) FROM STDIN") as copy:
            # COPY's text format, a chunk at a time: much faster than a Python call per row.
            for start in range(0, len(keys), 50_000):
                copy.write("".join(f"{h}\t{c}\n" for h, c in keys[start : start + 50_000]))
        return
    for start in range(0, len(keys), 20000):
        chunk = keys[start : start + 20000]
        db.session.execute(MatchKey.__table__.insert(), [{"key_hash": h, "customer_id": c} for h, c in chunk])


# --- listing and decisions ----------------------------------------------------------------------


def encode_cursor(created_at: datetime, row_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([created_at.isoformat(), row_id]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        at, row_id = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()))
        return datetime.fromisoformat(at), int(row_id)
    except (ValueError, TypeError) as exc:
        raise InvalidPayload("cursor is not one this API gave out", errors={"cursor": ["invalid cursor"]}) from exc


def list_suggestions(
    *, customer_id: int | None = None, status: str | None = None, limit: int = 25, cursor: str | None = None
) -> tuple[list[DuplicateSuggestion], str | None]:
    """Newest first; (page, next cursor)."""
    stmt = select(DuplicateSuggestion)
    if customer_id is not None:
        stmt = stmt.where(
            or_(DuplicateSuggestion.customer_a_id == customer_id, DuplicateSuggestion.customer_b_id == customer_id)
        )
    if status:
        stmt = stmt.where(DuplicateSuggestion.status == status)
    if cursor:
        at, row_id = decode_cursor(cursor)
        stmt = stmt.where(
            or_(
                DuplicateSuggestion.created_at < at,
                and_(DuplicateSuggestion.created_at == at, DuplicateSuggestion.id < row_id),
            )
        )
    stmt = stmt.order_by(DuplicateSuggestion.created_at.desc(), DuplicateSuggestion.id.desc()).limit(limit + 1)
    rows = list(db.session.scalars(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None)


def _open(suggestion_id: int) -> DuplicateSuggestion:
    row = db.session.get(DuplicateSuggestion, suggestion_id, populate_existing=True)
    if row is None:
        raise NotFound(f"no duplicate suggestion {suggestion_id}")
    if row.status != "open":
        raise Conflict(f"duplicate suggestion {suggestion_id} is {row.status} already")
    return row


def confirm(suggestion_id: int, actor: str) -> DuplicateSuggestion:
    """A person confirms: the pair merges into the older customer, as a recorded, undoable merge."""
    row = _open(suggestion_id)
    a, b = db.session.get(Customer, row.customer_a_id), db.session.get(Customer, row.customer_b_id)
    survivor, merged = sorted((a, b), key=lambda c: (c.created_at, c.id))
    merge = merge_by_person(survivor.id, merged.id, actor=actor, reason="suggestion")
    row.status, row.merge_id, row.decided_by, row.decided_at = "confirmed", merge.id, actor, utcnow()
    audit.record(actor, "confirm_suggestion", "duplicate_suggestion", row.id, merge_id=merge.id)
    db.session.flush()
    return row


def dismiss(suggestion_id: int, actor: str) -> DuplicateSuggestion:
    """A person says these are two people: the pair is never suggested again."""
    row = _open(suggestion_id)
    row.status, row.decided_by, row.decided_at = "dismissed", actor, utcnow()
    audit.record(actor, "dismiss_suggestion", "duplicate_suggestion", row.id)
    db.session.flush()
    return row
