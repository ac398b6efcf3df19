"""Identity under real rq worker processes: a worker killed mid-job, and two workers racing on one person."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from crm.extensions import db
from crm.jobs import queue
from crm.profiles.models import Customer, Interaction, Merge
from tests.conftest import wait_for
from tests.factories import make_source, post_generic
from tests.profiles.identity_helpers import item


def _processed() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).where(Interaction.processed_at.is_not(None))) or 0


@pytest.mark.services
def test_a_worker_killed_mid_job_leaves_no_duplicate_and_counts_once_after_the_retry(app, client, worker_process):
    source = make_source(channel="store")
    total = 400
    # One batch, one job: 400 purchases of one person, each recounting the whole profile, so the job runs
    # for seconds and is killed with part of the batch committed and the rest not.
    batch = [
        item(f"order-{n}", n, {"email": "kim@example.com"}, type_="purchase", data={"total": "1.25", "currency": "USD"})
        for n in range(total)
    ]
    response = post_generic(client, source, {"interactions": batch})
    assert response.status_code == 202 and len(response.json["accepted"]) == total
    first = worker_process()
    wait_for(lambda: _processed() >= 20, timeout=60, message="the worker to be part-way through the batch")
    first.kill(9)
    done_when_killed = _processed()
    assert 20 <= done_when_killed < total, "the job must be killed mid-way"

    # The same batch delivered again (a provider retry) stores nothing new.
    replay = post_generic(client, source, {"interactions": batch[:50]})
    assert replay.status_code == 200 and replay.json["accepted"] == []
    worker_process()  # its sweep re-enqueues what the killed job left unprocessed
    wait_for(lambda: _processed() == total, timeout=120, message="the retried work to finish")

    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Interaction)) == total
    (customer,) = db.session.scalars(select(Customer).where(Customer.status == "active"))
    assert customer.interaction_count == total and customer.orders_count == total
    assert customer.lifetime_value == {"USD": f"{total * 1.25:.2f}"}
    assert customer.counts == {"channel": {"store": total}, "type": {"purchase": total}}


@pytest.mark.services
def test_two_workers_on_interactions_of_one_new_person_make_one_customer(app, client, worker_process):
    sources = [make_source(channel="chat"), make_source(channel="phone"), make_source(channel="email")]
    blocks = [
        {"email": "lu@example.com"},
        {"email": "LU@example.com ", "phone": "+1 (415) 555-0144"},
        {"phone": "415.555.0144"},
        {"email": "lu@example.com", "chat_handle": "@lu"},
    ]
    # Every interaction its own job, all queued before any worker runs, so both workers start at once.
    for n in range(120):
        source = sources[n % 3]
        response = post_generic(client, source, item(f"m-{n}", n, blocks[n % len(blocks)]))
        assert response.status_code == 202
    assert queue().count >= 120
    workers = [worker_process(), worker_process()]
    wait_for(lambda: _processed() == 120, timeout=120, message="both workers to process every interaction")
    for w in workers:
        assert "Traceback" not in w.output(), w.output()[-3000:]

    db.session.expire_all()
    active = list(db.session.scalars(select(Customer).where(Customer.status == "active")))
    assert len(active) == 1
    (customer,) = active
    assert customer.interaction_count == 120
    assert db.session.scalar(select(func.count()).where(Interaction.customer_id != customer.id)) == 0
    kinds = Counter(i.kind for i in customer.identifiers)
    assert kinds == {"email": 1, "phone": 1, "chat": 3}  # a chat handle is namespaced by its source
    # Any merge on the way was between parts of this one person, and each names what linked them.
    assert all(m.identifier_value for m in db.session.scalars(select(Merge)))
