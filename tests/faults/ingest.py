"""A sender that keeps delivering while a fault happens, retrying what was not accepted as a provider
does, and the checks every fault test ends with: nothing accepted lost, every interaction processed,
the index equal to the database."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from dataclasses import dataclass, field

import pytest
from sqlalchemy import func, select

from crm.channels.signatures import sign_generic
from crm.extensions import db
from crm.profiles.models import Interaction
from crm.search.models import OutboxEntry
from tests.conftest import ROOT, wait_for
from tests.factories import interaction

RETRYABLE = (502, 503, 504)


@dataclass
class Sender:
    """Delivers `count` interactions of distinct people, one request each, retrying 5xx-but-500 answers."""

    client: object
    source: object
    count: int
    pause_s: float = 0.05
    accepted: dict[str, int] = field(default_factory=dict)  # external id -> interaction id
    answers: list[int] = field(default_factory=list)  # every status seen, retries included
    thread: threading.Thread | None = None
    failure: BaseException | None = None

    def __post_init__(self) -> None:
        # Read now: the sending thread has no app context to load them in.
        self.slug, self.secret = self.source.slug, self.source.secret

    def deliver(self, n: int) -> None:
        item = interaction(f"fault-{n}", customer={"email": f"fault{n}@example.com", "name": f"Fay Fault{n}"})
        body = json.dumps(item).encode()
        for _ in range(200):
            headers = {
                "Content-Type": "application/json",
                "X-CRM-Signature": sign_generic(self.secret, body, int(time.time())),
            }
            response = self.client.post(f"/webhooks/{self.slug}", data=body, headers=headers)
            self.answers.append(response.status_code)
            if response.status_code in (200, 202):
                self.accepted[item["external_id"]] = response.json["ids"][0]
                return
            assert response.status_code in RETRYABLE, (response.status_code, response.get_data(as_text=True))
            time.sleep(0.25)  # the provider's backoff, short: the outage is seconds
        raise AssertionError(f"{item['external_id']} was never accepted")

    def run(self) -> None:
        for n in range(self.count):
            self.deliver(n)
            time.sleep(self.pause_s)

    def _run_catching(self) -> None:
        try:
            self.run()
        except BaseException as exc:  # re-raised in join(), on the test's own thread
            self.failure = exc

    def start(self) -> Sender:
        self.thread = threading.Thread(target=self._run_catching, daemon=True)
        self.thread.start()
        return self

    def join(self, timeout: float = 240) -> None:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the sender did not finish"
        if self.failure is not None:
            raise self.failure
        assert len(self.accepted) == self.count and 500 not in self.answers


def count(stmt) -> int:
    db.session.expire_all()
    try:
        return db.session.scalar(stmt) or 0
    finally:
        db.session.rollback()


def stored() -> int:
    return count(select(func.count()).select_from(Interaction))


def processed() -> int:
    return count(select(func.count()).select_from(Interaction).where(Interaction.processed_at.is_not(None)))


def restart_services() -> None:
    """scripts/services.sh starts whichever service is down and leaves the others alone."""
    env = dict(os.environ, CRM_WITH_BROWSER="0")
    subprocess.run(["bash", "scripts/services.sh"], cwd=ROOT, env=env, check=True, timeout=300, capture_output=True)


def outbox_state() -> dict:
    """What waits in the outbox and why, for a failure message."""
    from crm.search import outbox

    db.session.expire_all()
    try:
        soonest = db.session.scalar(select(func.min(OutboxEntry.available_at)))
        return {"rows": outbox.pending_count(), "next_due": soonest, **outbox.failing_summary()}
    finally:
        db.session.rollback()


def assert_nothing_lost_and_index_clean(app, accepted: int) -> None:
    """Every accepted interaction stored once and processed; the outbox drained; `search check` clean."""
    wait_for(lambda: processed() == accepted, 180, message="every accepted interaction to be processed")
    assert stored() == accepted, "the database holds exactly what was accepted"
    try:
        wait_for(lambda: count(select(func.count()).select_from(OutboxEntry)) == 0, 180, message="the outbox to drain")
    except pytest.fail.Exception as timeout:
        raise AssertionError(f"{timeout}; the outbox: {outbox_state()}") from None
    result = app.test_cli_runner().invoke(args=["search", "check"])
    assert result.exit_code == 0, result.output
    assert f"interactions: {accepted} in the database, {accepted} in the index" in result.output
    assert "no differences" in result.output
