"""The baseline: the rows the webhook writes, inserted straight into PostgreSQL with psycopg.

Per request, in one transaction, as the intake does: the interactions (one multi-row INSERT ...
RETURNING id), their raw payloads, their outbox rows (when Elasticsearch is configured) and one
delivery-log row. No HTTP, no signature, no parsing or validation: what is left is the database's
own cost, and the webhook's throughput divided by this one is the price of everything else.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import Counter
from datetime import UTC, datetime

import psycopg
from psycopg.types.json import Jsonb

from bench.ingest.load import Phase

COLUMNS = ("source_id", "external_id", "channel", "type", "direction", "occurred_at", "received_at", "subject",
           "text", "data", "customer_in", "identifiers", "process_attempts")  # fmt: skip


def prepare(sources: dict[str, int], batches: list[tuple[str, list[dict]]]) -> list[tuple[int, list[tuple], list]]:
    """Per request: (source id, interaction rows, raw bodies), built before the clock starts."""
    prepared = []
    for channel, items in batches:
        rows, bodies = [], []
        for item in items:
            rows.append(
                (sources[channel], item["external_id"], channel, item["type"], item["direction"],
                 datetime.fromisoformat(item["occurred_at"]), None, item.get("subject"), item.get("text"),
                 Jsonb(item.get("data") or {}), Jsonb(item["customer"]), Jsonb([]), 0)
            )  # fmt: skip
            bodies.append(json.dumps(item).encode())
        prepared.append((sources[channel], rows, bodies))
    return prepared


def _insert_one(conn: psycopg.Connection, source_id: int, rows: list[tuple], bodies: list[bytes], outbox: bool) -> int:
    now = datetime.now(UTC)
    rows = [(*row[:6], now, *row[7:]) for row in rows]
    placeholders = ", ".join(["(" + ", ".join(["%s"] * len(COLUMNS)) + ")"] * len(rows))
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(
            f"INSERT INTO interactions ({', '.join(COLUMNS)}) VALUES {placeholders} RETURNING id",
            [value for row in rows for value in row],
        )
        ids = [r[0] for r in cur.fetchall()]
        cur.executemany(
            "INSERT INTO interaction_payloads (interaction_id, content_type, body, headers) VALUES (%s, %s, %s, %s)",
            [(i, "application/json", body, Jsonb({})) for i, body in zip(ids, bodies, strict=True)],
        )
        if outbox:
            cur.executemany(
                "INSERT INTO outbox (entity, entity_id, created_at, available_at, attempts) VALUES (%s, %s, %s, %s, 0)",
                [("interaction", i, now, now) for i in ids],
            )
        cur.execute(
            "INSERT INTO deliveries (source_id, received_at, status_code, content_type, size_bytes, accepted, replayed)"
            " VALUES (%s, %s, 202, 'application/json', %s, %s, 0)",
            (source_id, now, sum(len(b) for b in bodies), len(ids)),
        )
    return len(ids)


def drive(name: str, url: str, prepared: list, concurrency: int, outbox: bool) -> Phase:
    """Insert every prepared request from `concurrency` connections, one transaction each."""
    order = itertools.count()
    latencies: list[float] = []
    lock = threading.Lock()
    inserted = [0]

    def client(conn: psycopg.Connection) -> None:
        with conn:
            while (n := next(order)) < len(prepared):
                source_id, rows, bodies = prepared[n]
                started = time.perf_counter()
                count = _insert_one(conn, source_id, rows, bodies, outbox)
                with lock:
                    latencies.append((time.perf_counter() - started) * 1000)
                    inserted[0] += count

    # Connected before the clock starts, as the app's pools are.
    threads = [threading.Thread(target=client, args=(psycopg.connect(url),)) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    return Phase(name, len(prepared), inserted[0], seconds, latencies, Counter({"inserted": len(prepared)}))
