"""Redis killed and restarted in the middle of an ingest: deliveries are still accepted (the database has
them before the 202), the work waits for the sweep, and once Redis is back every interaction is
processed and indexed without a manual step."""

from __future__ import annotations

import os
import signal

import pytest
from redis import Redis
from redis.exceptions import RedisError

from tests.conftest import ROOT, wait_for
from tests.factories import make_source
from tests.faults.ingest import Sender, assert_nothing_lost_and_index_clean, processed, restart_services

pytestmark = [pytest.mark.services, pytest.mark.faults]


def _redis_up() -> bool:
    try:
        return bool(Redis.from_url(os.environ["REDIS_URL"], socket_connect_timeout=1).ping())
    except RedisError:
        return False


@pytest.mark.timeout(600)
def test_redis_killed_mid_ingest_loses_nothing_and_the_sweep_catches_up_once_it_is_back(app, client, worker_process):
    source = make_source(channel="email")
    first = worker_process()
    sender = Sender(client, source, count=60).start()
    wait_for(lambda: processed() >= 5, 60, message="the ingest to be under way")
    os.kill(int((ROOT / ".services" / "redis.pid").read_text().strip()), signal.SIGKILL)
    wait_for(lambda: not _redis_up(), 10, message="Redis to go down")
    try:
        wait_for(lambda: len(sender.accepted) >= 30, 60, message="deliveries accepted while Redis is down")
    finally:
        restart_services()
    app.extensions.pop("crm.redis", None)
    sender.join()
    # rq's own worker quits when Redis vanishes under it; `flask worker` starts a new one in the same
    # process once Redis answers again, so the same process catches up with no supervisor's help.
    wait_for(lambda: processed() == sender.count, 180, message="the worker to process everything accepted")
    assert first.proc.poll() is None, first.output()[-2000:]
    assert_nothing_lost_and_index_clean(app, sender.count)
