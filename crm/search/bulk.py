"""Bulk requests on worker threads while the caller reads the next batch from the database.

Reading rows and building documents is Python and PostgreSQL; indexing them is Elasticsearch. Done one
after the other, each waits for the other; here the caller builds batch N+1 while batches N (and N-1)
are being indexed, and gets each batch's failures back in the order it submitted them. The worker
threads touch no database and no app context: they only talk to Elasticsearch.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from concurrent.futures import Future, ThreadPoolExecutor

from elasticsearch import Elasticsearch

from crm.search import elastic
from crm.search.elastic import Failures


class BulkPipeline:
    def __init__(self, es: Elasticsearch, *, threads: int = 2, in_flight: int = 2, chunk_size: int = 500):
        self.es, self.in_flight, self.chunk_size = es, in_flight, chunk_size
        self.refresh = elastic.refresh_option()
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="crm-bulk")
        self.pending: deque[tuple[Hashable, Future]] = deque()

    def _send(self, actions: list[dict]) -> Failures:
        return elastic.bulk_failures(self.es, actions, refresh=self.refresh, chunk_size=self.chunk_size)

    def submit(self, tag: Hashable, actions: list[dict]) -> list[tuple[Hashable, Failures]]:
        """Queue a batch; returns the batches that finished meanwhile (waiting when too many are in flight)."""
        self.pending.append((tag, self.executor.submit(self._send, actions)))
        done = []
        while self.pending and (len(self.pending) > self.in_flight or self.pending[0][1].done()):
            done.append(self._collect())
        return done

    def _collect(self) -> tuple[Hashable, Failures]:
        tag, future = self.pending.popleft()
        try:
            failures = future.result()
        except elastic.ES_ERRORS as exc:
            failures = {None: elastic.describe(exc)}  # the whole batch: the caller fails every row of it
        elastic.notice_missing_indices({k: v for k, v in failures.items() if k is not None})
        return tag, failures

    def finish(self) -> list[tuple[Hashable, Failures]]:
        """Wait for every batch still in flight; their results, in submission order."""
        done = [self._collect() for _ in range(len(self.pending))]
        self.executor.shutdown(wait=True)
        return done

    def __enter__(self) -> BulkPipeline:
        return self

    def __exit__(self, *exc) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
