"""Redis down: deliveries are still accepted (202) once the database has them, and nothing is lost —
`flask interactions sweep`, or the worker's own periodic sweep, queues them once Redis is back."""

from __future__ import annotations

import contextlib
import os

import pytest
from sqlalchemy import select

from crm.channels.models import Delivery
from crm.extensions import db
from crm.jobs import queue
from tests.channels import deliver
from tests.channels.deliver import interaction_count, processed_count
from tests.conftest import wait_for
from tests.factories import auth, interaction, make_source, make_user

pytestmark = pytest.mark.services


@contextlib.contextmanager
def redis_down(app):
    """The app's queue pointed at a port nobody listens on, then restored."""
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    app.extensions.pop("crm.redis", None)
    try:
        yield
    finally:
        app.config["REDIS_URL"] = os.environ["REDIS_URL"]
        app.extensions.pop("crm.redis", None)


def _post_while_redis_is_down(app, client, count: int) -> list[int]:
    queue().empty()  # jobs earlier tests queued and never ran; ids restart with each test
    source = make_source(channel="chat")
    with redis_down(app):
        answers = [
            deliver.post(client, deliver.generic(source, interaction(f"down-{n}", customer={"email": f"p{n}@ex.com"})))
            for n in range(count)
        ]
    assert [a.status_code for a in answers] == [202] * count
    assert interaction_count() == count and processed_count() == 0
    return [a.json["accepted"][0] for a in answers]


def _customer_visible(client, email: str) -> bool:
    _, token = make_user("agent")
    response = client.get(
        "/api/v1/customers/lookup", query_string={"identifier": f"email:{email}"}, headers=auth(token)
    )
    return response.status_code == 200


def test_with_redis_down_deliveries_are_accepted_and_the_sweep_command_queues_them_once_it_is_back(
    app, client, worker_process
):
    _post_while_redis_is_down(app, client, 3)
    db.session.expire_all()
    assert [d.status_code for d in db.session.scalars(select(Delivery))] == [202] * 3
    assert queue().count == 0, "nothing reached the queue while Redis was down"

    result = app.test_cli_runner().invoke(args=["interactions", "sweep"])
    assert result.exit_code == 0 and "enqueued 3 unprocessed interactions" in result.output
    assert queue().count == 1
    again = app.test_cli_runner().invoke(args=["interactions", "sweep"])
    assert "enqueued 0" in again.output, "a second sweep does not queue the same work twice"

    worker = worker_process()
    wait_for(lambda: processed_count() == 3, timeout=60, message="the worker to process the swept interactions")
    assert "Traceback" not in worker.output()
    assert all(_customer_visible(client, f"p{n}@ex.com") for n in range(3))


def test_the_workers_periodic_sweep_finds_what_redis_missed_without_any_command(app, client, worker_process):
    _post_while_redis_is_down(app, client, 2)
    worker_process()  # its ticker sweeps every few seconds what has waited SWEEP_AFTER_S (2 s here)
    wait_for(lambda: processed_count() == 2, timeout=60, message="the periodic sweep to get them processed")
    assert _customer_visible(client, "p1@ex.com")


def test_with_redis_down_a_replay_is_still_a_200(app, client):
    source = make_source(channel="chat")
    delivery = deliver.generic(source, interaction("once"))
    with redis_down(app):
        assert deliver.post(client, delivery).status_code == 202
        assert deliver.post(client, delivery).status_code == 200
    assert interaction_count() == 1
