"""Fault tests on the real services: each takes one service (or the worker) away in the middle of an
ingest and ends with nothing accepted lost and `flask search check` clean.

- Elasticsearch killed and restarted: tests/search/test_outage.py (kept there, beside the outbox it tests)
- Redis killed and restarted: test_redis_restart.py
- a worker SIGKILLed mid-batch: test_worker_killed.py (tests/profiles/test_identity_workers.py holds the
  identity side: one person's counts after the retry)
- PostgreSQL restarted: test_postgres_restart.py

WARNING: these stop the shared services for a few seconds; other test runs on the machine see the outage.
"""
