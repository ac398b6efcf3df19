"""A worker SIGKILLed in the middle of a batch of many people: the rows it had not committed are swept and
processed by the next worker, none twice, and the index ends equal to the database (no customer
missing, none stale). tests/profiles/test_identity_workers.py checks one person's counts after the same."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from crm.profiles.models import Customer
from tests.conftest import wait_for
from tests.factories import interaction, make_source, post_generic
from tests.faults.ingest import assert_nothing_lost_and_index_clean, count, processed

pytestmark = [pytest.mark.services, pytest.mark.faults]


def children(pid: int) -> set[int]:
    return {int(c) for task in Path(f"/proc/{pid}/task").iterdir() for c in (task / "children").read_text().split()}


def running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.timeout(600)
def test_a_worker_killed_mid_batch_leaves_nothing_unprocessed_and_the_index_clean(app, client, worker_process):
    source = make_source(channel="store")
    people = 300
    items = [
        interaction(f"fault-{n}", type_="purchase", customer={"email": f"fault{n}@example.com"},
                    data={"total": "9.50", "currency": "USD"})
        for n in range(people)
    ]  # fmt: skip
    for start in range(0, people, 100):  # three batches, three jobs
        response = post_generic(client, source, {"interactions": items[start : start + 100]})
        assert response.status_code == 202
    first = worker_process()
    wait_for(lambda: processed() >= 30, 90, message="the worker to be part-way through the batches")
    scheduler = children(first.proc.pid)  # rq's scheduler, forked by the worker
    assert scheduler, "the worker should have started rq's scheduler"
    first.kill(9)
    assert processed() < people, "the worker must be killed mid-way"
    # The scheduler goes with it, instead of running on forever on its own.
    wait_for(lambda: not any(running(pid) for pid in scheduler), 30, message="the killed worker's scheduler to stop")
    worker_process()  # its sweep re-enqueues what the killed job left unprocessed

    assert_nothing_lost_and_index_clean(app, people)
    assert count(select(func.count()).select_from(Customer).where(Customer.status == "active")) == people
