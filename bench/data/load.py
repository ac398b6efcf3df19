"""The COPY loader: the shared data set written straight into a dedicated PostgreSQL database, then the
index built from it with `flask search reindex` (the same rebuild production runs).

    .venv/bin/python -m bench.data.load [--customers 100000] [--interactions 1000000] [--seed 7] [--force]

A database already holding the same version, size and seed is reused (a `bench_dataset` row says what
it holds); `--force` loads it again. Pushing a million interactions through the webhooks and the
pipeline would take hours on two cores; the rows are the ones the pipeline would have written.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass

import psycopg
from tqdm import tqdm

from bench.data import rows
from bench.data.episodes import SOURCE_SLUGS
from bench.data.generate import ANCHOR, people_and_histories
from bench.data.services import (
    ROOT,
    bench_app,
    database_exists,
    database_url,
    flask_env,
    libpq,
    recreate_database,
    services_env,
)

VERSION = "2"  # bump when the generator or the rows change: a loaded database of another version is reloaded
CHUNK = 2000  # customers generated and copied at a time
SEGMENTS = ("VIP", "Newsletter", "Outdoor", "Runners", "Campers", "North", "South", "Lapsed")
BENCH_SECRET = "bench-secret-0123456789abcdef"
USERS = (("agent@bench.example", "agent"), ("marketer@bench.example", "marketer"), ("admin@bench.example", "admin"))


@dataclass(frozen=True)
class Dataset:
    customers: int
    interactions: int
    seed: int = 7

    @property
    def name(self) -> str:
        return f"crm_bench_{self.customers}_{self.interactions}_s{self.seed}"

    @property
    def prefix(self) -> str:
        """The index prefix of this data set (aliases <prefix>-customers-read ...); not crm*, which test runs clean up."""
        return f"benchdata-{self.customers}-{self.interactions}-s{self.seed}"

    @property
    def url(self) -> str:
        return database_url(self.name)


def loaded(ds: Dataset) -> dict | None:
    """What the database holds when it is this data set of this version, else None."""
    if not database_exists(ds.name):
        return None
    with psycopg.connect(libpq(ds.url)) as conn:
        try:
            row = conn.execute("SELECT version, customers, interactions, seed, seconds FROM bench_dataset").fetchone()
        except psycopg.errors.UndefinedTable:
            return None
    if row is None or tuple(row[:4]) != (VERSION, ds.customers, ds.interactions, ds.seed):
        return None
    return {"version": row[0], "customers": row[1], "interactions": row[2], "seed": row[3], "load_s": row[4]}


def _prepare(ds: Dataset) -> None:
    """A fresh database: migrated, the four bench sources (ids 1-4, as the generator numbers them), users."""
    recreate_database(ds.name)
    app = bench_app(ds.name, ds.prefix)
    with app.app_context():
        from flask_migrate import upgrade

        from crm.auth import tokens
        from crm.channels.cli import create_source
        from crm.extensions import db

        upgrade()
        for channel, slug in SOURCE_SLUGS.items():
            source = create_source(slug, channel, "generic", BENCH_SECRET)
            assert source.id == rows.SOURCE_IDS[channel], "the bench database must be fresh"
        for email, role in USERS:
            tokens.create_user(email, role, "bench-password")
        db.session.commit()
        db.engine.dispose()


def _copy(cur, table: str, columns: tuple[str, ...], data) -> int:
    n = 0
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in data:
            copy.write_row(row)
            n += 1
    return n


def _copy_chunk(cur, chunk: list) -> None:
    # Parents first: interactions name their customer and case.
    _copy(cur, "customers", rows.CUSTOMER_COLUMNS, (rows.customer_row(p, m) for p, m in chunk))
    _copy(cur, "cases", rows.CASE_COLUMNS, (rows.case_row(c) for _, m in chunk for c in m.cases))
    _copy(cur, "interactions", rows.INTERACTION_COLUMNS, (rows.interaction_row(r) for _, m in chunk for r in m.rows))
    _copy(cur, "identifiers", rows.IDENTIFIER_COLUMNS, (r for p, m in chunk for r in rows.identifier_rows(p, m)))
    _copy(cur, "customer_attributes", rows.ATTRIBUTE_COLUMNS, (r for p, m in chunk for r in rows.attribute_rows(p, m)))


def _segments(cur, customers: int, seed: int) -> None:
    """Static segments with memberships of 2 to 20 % of customers (search filters and agent views read them)."""
    import random

    rng = random.Random(seed + 1)
    for sid, name in enumerate(SEGMENTS, start=1):
        cur.execute(
            "INSERT INTO segments (id, name, kind, rule, created_at, updated_at, member_count) "
            "VALUES (%s, %s, 'static', '{}', %s, %s, 0)",
            (sid, name, ANCHOR, ANCHOR),
        )
    share = [rng.uniform(0.02, 0.2) for _ in SEGMENTS]
    members = ((sid, cid, ANCHOR) for cid in range(1, customers + 1) for sid in range(1, len(SEGMENTS) + 1)
               if rng.random() < share[sid - 1])  # fmt: skip
    _copy(cur, "segment_members", ("segment_id", "customer_id", "entered_at"), members)
    cur.execute("UPDATE segments SET member_count = (SELECT count(*) FROM segment_members m WHERE m.segment_id = id)")


def copy_rows(ds: Dataset) -> None:
    with psycopg.connect(libpq(ds.url)) as conn, conn.cursor() as cur:
        chunk: list = []
        with tqdm(total=ds.interactions, desc="generate + COPY", unit="interaction", mininterval=2) as bar:
            for person, made in people_and_histories(ds.customers, ds.interactions, ds.seed):
                chunk.append((person, made))
                if len(chunk) == CHUNK:
                    _copy_chunk(cur, chunk)
                    bar.update(sum(len(m.rows) for _, m in chunk))
                    chunk = []
            if chunk:
                _copy_chunk(cur, chunk)
                bar.update(sum(len(m.rows) for _, m in chunk))
        _segments(cur, ds.customers, ds.seed)
        for table in ("customers", "interactions", "cases", "identifiers", "customer_attributes", "segments"):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT coalesce(max(id), 1) FROM {table}))"
            )
        conn.commit()
    with psycopg.connect(libpq(ds.url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def _mark(ds: Dataset, seconds: float) -> None:
    with psycopg.connect(libpq(ds.url)) as conn:
        conn.execute(
            "CREATE TABLE bench_dataset (version text, customers int, interactions int, seed int, seconds real, "
            "loaded_at timestamptz DEFAULT now())"
        )
        conn.execute(
            "INSERT INTO bench_dataset (version, customers, interactions, seed, seconds) VALUES (%s, %s, %s, %s, %s)",
            (VERSION, ds.customers, ds.interactions, ds.seed, round(seconds, 1)),
        )


def reindex(ds: Dataset, batch: int = 2000) -> float:
    """`flask search reindex` on the data set, as a subprocess; returns its wall time in seconds."""
    started = time.perf_counter()
    done = subprocess.run(
        # --force: the bench owns its prefix; a rebuild cut short (Elasticsearch restarted) is taken over.
        [sys.executable, "-m", "flask", "search", "reindex", "--batch", str(batch), "--grace", "0", "--force"],
        cwd=ROOT, env=flask_env(ds.name, ds.prefix), capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"flask search reindex failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return time.perf_counter() - started


def ensure(ds: Dataset, *, force: bool = False, index: bool = True) -> dict:
    """Load the data set unless the database already holds it; build the index when it was loaded.

    Returns what was done: {"reused": bool, "load_s", "reindex_s" (when indexed here)}.
    """
    services_env()
    held = None if force else loaded(ds)
    if held:
        return {"reused": True, "load_s": held["load_s"]}
    started = time.perf_counter()
    _prepare(ds)
    copy_rows(ds)
    seconds = time.perf_counter() - started
    _mark(ds, seconds)
    out = {"reused": False, "load_s": round(seconds, 1)}
    if index:
        out["reindex_s"] = round(reindex(ds), 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--force", action="store_true", help="load again even when the database holds this data set")
    args = parser.parse_args()
    if args.interactions < args.customers:
        parser.error("--interactions must be at least --customers (every customer has one interaction or more)")
    ds = Dataset(args.customers, args.interactions, args.seed)
    print(json.dumps({"database": ds.name, "prefix": ds.prefix, **ensure(ds, force=args.force)}))


if __name__ == "__main__":
    main()
