"""The load: signed webhook requests sent from client threads as fast as the server answers them.

Bodies are built and signed before the clock starts, so what is timed is the server. Each thread has
its own HTTP session; a request's latency runs from just before it is sent to its full answer.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import requests

from crm.channels.signatures import sign_generic


@dataclass
class Phase:
    """What one phase did: requests, accepted interactions, wall time, per-request latencies (ms)."""

    name: str
    requests: int
    interactions: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    note: str = ""

    @property
    def per_second(self) -> float:
        return self.interactions / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")


def signed(base_url: str, slugs: dict[str, str], secret: str, batches: list[tuple[str, list[dict]]]) -> list[tuple]:
    """(url, body, headers) per request: one interaction as is, several as {"interactions": [...]}."""
    now = int(time.time())
    out = []
    for channel, items in batches:
        body = json.dumps(items[0] if len(items) == 1 else {"interactions": items}).encode()
        headers = {"Content-Type": "application/json", "X-CRM-Signature": sign_generic(secret, body, now)}
        out.append((f"{base_url}/webhooks/{slugs[channel]}", body, headers))
    return out


def drive(name: str, prepared: list[tuple], concurrency: int) -> Phase:
    """Send every prepared request from `concurrency` threads; the phase ends with the last answer."""
    order = itertools.count()
    latencies: list[float] = []
    statuses: Counter = Counter()
    accepted = [0]
    lock = threading.Lock()

    def client() -> None:
        session = requests.Session()
        while (n := next(order)) < len(prepared):
            url, body, headers = prepared[n]
            started = time.perf_counter()
            try:
                response = session.post(url, data=body, headers=headers, timeout=120)
                code, count = response.status_code, len(response.json().get("accepted", [])) if response.ok else 0
            except (requests.RequestException, ValueError) as exc:
                code, count = type(exc).__name__, 0
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                statuses[code] += 1
                accepted[0] += count

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    return Phase(name, len(prepared), accepted[0], seconds, latencies, statuses)
