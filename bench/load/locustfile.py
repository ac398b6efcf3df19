"""The locust users of the load test (bench/load/run.py starts locust with this file, headless):
webhook senders, each delivering one signed interaction a second — half from new people, half from
customers already known by their loyalty card — and agents searching and opening customers.

Settings come from the environment run.py sets; what the senders had accepted is written to
BENCH_LOAD_RESULT when the run stops, for the zero-lost check against the database.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
from collections import Counter

from locust import HttpUser, between, constant_pacing, events, task

from crm.channels.signatures import sign_generic
from crm.demo import people

SLUG, SECRET = os.environ["BENCH_LOAD_SLUG"], os.environ["BENCH_LOAD_SECRET"]
TOKEN, CUSTOMERS = os.environ["BENCH_LOAD_TOKEN"], int(os.environ["BENCH_LOAD_CUSTOMERS"])
SENDERS, AGENTS = int(os.environ.get("BENCH_LOAD_SENDERS", "50")), int(os.environ.get("BENCH_LOAD_AGENTS", "5"))
_sequence = itertools.count(1)
accepted: set[str] = set()
answers: Counter = Counter()


class WebhookSender(HttpUser):
    fixed_count = SENDERS
    wait_time = constant_pacing(1)

    @task
    def deliver(self) -> None:
        n = next(_sequence)
        known = n % 2 == 0
        customer = (
            {"loyalty_id": f"L{100000 + random.randint(1, CUSTOMERS)}"}
            if known
            else {"email": f"load{n}.{os.getpid()}@load.example", "name": f"{random.choice(people.FIRST)} Load{n}"}
        )
        external_id = f"load-{os.getpid()}-{n}"
        item = {"external_id": external_id, "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "type": "message", "direction": "inbound", "customer": customer,
                "subject": "Order question", "text": "Where is my order? It has not arrived."}  # fmt: skip
        body = json.dumps(item).encode()
        headers = {"Content-Type": "application/json", "X-CRM-Signature": sign_generic(SECRET, body, int(time.time()))}
        with self.client.post(f"/webhooks/{SLUG}", data=body, headers=headers, name="POST /webhooks/<slug>",
                              catch_response=True) as response:  # fmt: skip
            answers[response.status_code] += 1
            if response.status_code in (200, 202):
                accepted.add(external_id)
            else:
                response.failure(f"{response.status_code}: {response.text[:200]}")


class Agent(HttpUser):
    fixed_count = AGENTS
    wait_time = between(0.5, 2)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {TOKEN}"

    @task(2)
    def search(self) -> None:
        q = f"{random.choice(people.FIRST)} {random.choice(people.LAST)}"
        self.client.get("/api/v1/search", params={"q": q}, name="GET /api/v1/search")

    @task(3)
    def open_customer(self) -> None:
        cid = random.randint(1, CUSTOMERS)
        self.client.get(f"/api/v1/customers/{cid}/agent-view", name="GET /api/v1/customers/<id>/agent-view")


@events.quitting.add_listener
def _write_result(environment, **_kwargs) -> None:
    with open(os.environ["BENCH_LOAD_RESULT"], "w") as out:
        json.dump({"accepted": sorted(accepted), "answers": {str(k): v for k, v in answers.items()}}, out)
