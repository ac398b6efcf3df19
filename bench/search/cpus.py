"""Elasticsearch on CPUs of its own, for the indexing passes measured a second way.

On this machine the node, PostgreSQL and the drain share two cores, so every CPU second the drain spends
reading rows and building documents is one the node cannot spend indexing them; raw bulk of prebuilt
documents pays nothing of the kind. In production the node has hosts of its own. `split(es)` models that
for the length of a `with` block: the node's threads on one half of the CPUs this process may use,
everything else (this process and what it forks, PostgreSQL's server and backends) on the other half,
and every affinity put back afterwards.

Linux only, with both services on this machine and the right to move their threads (root, or the user
they run as); otherwise the block gets None and the reason is printed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text


def _tasks(pid: int | str) -> list[int]:
    try:
        return [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except FileNotFoundError:
        return []


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    return int(stat[stat.rindex(")") + 2 :].split()[1])


def _postgres_pids() -> list[int]:
    """The server process of the database the app talks to, and all its children (backends, workers)."""
    from crm.extensions import db

    with db.engine.connect() as conn:
        backend = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    server = _parent(backend)
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if _parent(int(entry)) == server:
                    children.append(int(entry))
            except (FileNotFoundError, ProcessLookupError, ValueError):
                continue
    return [server, *children]


def _node_pid(es) -> int:
    nodes = es.nodes.info(metric="process")["nodes"]
    return next(iter(nodes.values()))["process"]["id"]


def _node_here(es) -> tuple[int | None, str | None]:
    """(the node's process id, None), or (None, why the node cannot be moved from here)."""
    if not hasattr(os, "sched_setaffinity"):
        return None, "no sched_setaffinity on this platform"
    if len(os.sched_getaffinity(0)) < 2:
        return None, "fewer than two CPUs"
    from crm.extensions import db

    if db.engine.dialect.name != "postgresql":
        return None, "not on PostgreSQL"
    pid = _node_pid(es)
    if not os.path.exists(f"/proc/{pid}"):
        return None, f"Elasticsearch's process {pid} is not on this machine"
    return pid, None


def _move(pid: int, cpus: set[int]) -> None:
    """Every thread of a process (a thread's affinity is its own; threads started later copy their parent's)."""
    for tid in _tasks(pid):
        try:
            os.sched_setaffinity(tid, cpus)
        except ProcessLookupError:
            continue  # a thread that ended meanwhile


@contextmanager
def split(es) -> Iterator[dict | None]:
    """{"elasticsearch": [cpus], "rest": [cpus]} inside the block, or None (with the reason printed)."""
    es_pid, reason = _node_here(es)
    before: dict[int, set[int]] = {}
    pg: list[int] = []
    if reason is None:
        cpus = sorted(os.sched_getaffinity(0))
        rest, node = set(cpus[: len(cpus) // 2]), set(cpus[len(cpus) // 2 :])
        pg = _postgres_pids()
        try:
            for pid, target in [(es_pid, node), *((p, rest) for p in pg), (os.getpid(), rest)]:
                try:
                    before[pid] = os.sched_getaffinity(pid)
                except ProcessLookupError:
                    continue  # a backend that ended meanwhile
                _move(pid, target)
        except PermissionError as exc:
            reason = f"not allowed to move the services' threads ({exc})"
    try:
        if reason is not None:
            print(f"[bench] Elasticsearch on CPUs of its own: skipped, {reason}", flush=True)
            yield None
        else:
            yield {"elasticsearch": sorted(node), "rest": sorted(rest)}
    finally:
        # Threads and backends started inside the block copied the pinned affinity: they go back with
        # their process (a new backend with the server's).
        for pid, cpus_before in before.items():
            _move(pid, cpus_before)
        if pg and pg[0] in before:
            for pid in _postgres_pids():
                if pid not in before:
                    _move(pid, before[pg[0]])
