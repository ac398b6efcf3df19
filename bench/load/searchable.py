"""Webhook → searchable: post one interaction of a new person, then poll GET /api/v1/search (through
gunicorn, as an agent would) until that person is found; the time from the post to the first hit.

What it spans: the 202, the rq job (identity resolution, aggregates, personalization, segments), the
outbox drain into Elasticsearch, and the index refresh (1 s). Samples are taken one after another.
"""

from __future__ import annotations

import json
import time
import uuid

import requests

from crm.channels.signatures import sign_generic


def probe(base_url: str, slug: str, secret: str, token: str, *, timeout_s: float = 60.0) -> float:
    """Seconds from posting one new person's message to the search finding them (raises on timeout)."""
    word = uuid.uuid4().hex[:10]
    surname = "Probe" + "".join(chr(ord("a") + int(c, 16) % 26) for c in word)
    item = {
        "external_id": f"probe-{word}",
        "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "type": "message",
        "direction": "inbound",
        "customer": {"email": f"{word}@probe.example", "name": f"Pat {surname}"},
        "subject": "Where is my order?",
        "text": "My parcel has not arrived yet.",
    }
    body = json.dumps(item).encode()
    headers = {"Content-Type": "application/json", "X-CRM-Signature": sign_generic(secret, body, int(time.time()))}
    session = requests.Session()
    auth = {"Authorization": f"Bearer {token}"}
    started = time.perf_counter()
    answer = session.post(f"{base_url}/webhooks/{slug}", data=body, headers=headers, timeout=30)
    if answer.status_code != 202:
        raise RuntimeError(f"the probe webhook answered {answer.status_code}: {answer.text[:300]}")
    while time.perf_counter() - started < timeout_s:
        found = session.get(
            f"{base_url}/api/v1/search", params={"q": f"{word}@probe.example"}, headers=auth, timeout=30
        )
        if found.ok and found.json().get("items") and found.json().get("backend") == "elasticsearch":
            return time.perf_counter() - started
        time.sleep(0.05)
    raise RuntimeError(f"the probe {word} was not searchable within {timeout_s} s")


def latencies(base_url: str, slug: str, secret: str, token: str, samples: int) -> list[float]:
    """`samples` probes one after another, in milliseconds (the first, a warm-up, is left out)."""
    probe(base_url, slug, secret, token)
    return [probe(base_url, slug, secret, token) * 1000 for _ in range(samples)]


def raw_latencies(es_url: str, samples: int) -> list[float]:
    """The floor under the probe: one document indexed with refresh=wait_for into a scratch index (ms)."""
    from elasticsearch import Elasticsearch

    es = Elasticsearch(es_url, request_timeout=60)
    index = f"benchprobe-{uuid.uuid4().hex[:8]}"
    es.indices.create(index=index)
    try:
        out = []
        for n in range(samples + 1):
            started = time.perf_counter()
            es.index(index=index, id=str(n), document={"name": f"Pat Probe{n}"}, refresh="wait_for")
            es.search(index=index, query={"term": {"_id": str(n)}})
            out.append((time.perf_counter() - started) * 1000)
        return out[1:]
    finally:
        es.indices.delete(index=index, ignore_unavailable=True)
