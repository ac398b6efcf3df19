"""The Elasticsearch node killed in the middle of an ingest: nothing accepted is lost, nothing manual is needed.

WARNING: this test really kills the shared node (SIGKILL, the pid in .services/es.pid) and restarts it
with scripts/services.sh, which disturbs other test runs on this machine for half a minute or so.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
from sqlalchemy import func, select

from crm.extensions import db
from crm.profiles.models import Interaction
from crm.search import elastic
from crm.search.models import OutboxEntry
from tests.conftest import ROOT, wait_for
from tests.factories import auth, interaction, make_source, make_user, post_generic

pytestmark = [pytest.mark.services, pytest.mark.faults]


def _es_up() -> bool:
    try:
        elastic.client().options(request_timeout=2).cluster.health()
        return True
    except elastic.ES_ERRORS:
        return False


def _count(stmt) -> int:
    db.session.expire_all()
    value = db.session.scalar(stmt)
    db.session.rollback()
    return value


def _restart_elasticsearch() -> None:
    env = dict(os.environ, CRM_WITH_BROWSER="0")
    subprocess.run(["bash", "scripts/services.sh"], cwd=ROOT, env=env, check=True, timeout=300, capture_output=True)


@pytest.mark.timeout(600)
def test_elasticsearch_killed_mid_ingest_loses_nothing_and_catches_up_without_a_manual_step(
    app, client, worker_process
):
    source = make_source(channel="chat")
    worker_process()
    accepted = []

    def deliver(n: int) -> None:
        item = interaction(
            f"kill-{n}", customer={"email": f"kay{n}@example.com", "name": f"Kay Number{n}"}, text=f"note {n}"
        )
        response = post_generic(client, source, item)
        accepted.append(response.status_code)

    for n in range(10):
        deliver(n)
    processed = select(func.count()).select_from(Interaction).where(Interaction.processed_at.is_not(None))
    wait_for(lambda: _count(processed) >= 3, 60, message="the first interactions to be processed")

    pid = int((ROOT / ".services" / "es.pid").read_text().strip())
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not _es_up(), 30, message="the Elasticsearch node to go down")
    try:
        for n in range(10, 30):
            deliver(n)
            time.sleep(0.1)
        assert accepted == [202] * 30
        # The worker goes on resolving identities without the index; the outbox holds what it could not send.
        wait_for(lambda: _count(processed) == 30, 120, message="the worker to process every interaction")
        assert _count(select(func.count()).select_from(OutboxEntry)) > 0
    finally:
        _restart_elasticsearch()
    app.extensions.pop("crm.es", None)

    wait_for(lambda: _count(select(func.count()).select_from(OutboxEntry)) == 0, 180, message="the outbox to empty")
    result = app.test_cli_runner().invoke(args=["search", "check"])
    assert result.exit_code == 0, result.output
    assert "customers: 30 in the database, 30 in the index" in result.output
    assert "interactions: 30 in the database, 30 in the index" in result.output
    body = client.get("/api/v1/search", query_string={"q": "Kay Number29"}, headers=auth(make_user("agent")[1])).json
    assert body["backend"] == "elasticsearch" and body["items"][0]["customer"]["display_name"] == "Kay Number29"
