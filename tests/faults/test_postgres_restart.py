"""PostgreSQL restarted in the middle of an ingest: deliveries during the restart get a clear 503 (never a
500), the sender's retry is accepted, the worker carries on, and nothing accepted is lost."""

from __future__ import annotations

import glob
import os
import subprocess
from collections import Counter

import pytest

from tests.conftest import ROOT, wait_for
from tests.factories import make_source
from tests.faults.ingest import Sender, assert_nothing_lost_and_index_clean, processed

pytestmark = [pytest.mark.services, pytest.mark.faults]


def restart_postgres() -> None:
    """pg_ctl restart (fast: open sessions are cut) as the service user, as scripts/services.sh runs it."""
    pg_bin = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
    command = [f"{pg_bin}/pg_ctl", "-D", str(ROOT / ".services" / "pgdata"), "-m", "fast", "-w", "-t", "60",
               "-l", str(ROOT / ".services" / "postgres.log"), "restart"]  # fmt: skip
    if os.geteuid() == 0:
        command = ["runuser", "-u", "crm-services", "--", *command]
    subprocess.run(command, check=True, timeout=120, capture_output=True)


@pytest.mark.timeout(600)
def test_postgres_restarted_mid_ingest_answers_503_until_back_and_loses_nothing(app, client, worker_process):
    source = make_source(channel="chat")
    worker = worker_process()
    sender = Sender(client, source, count=60).start()
    wait_for(lambda: processed() >= 5, 60, message="the ingest to be under way")
    restart_postgres()
    sender.join()
    assert set(sender.answers) <= {200, 202, 503}, Counter(sender.answers)  # a clear 503, never a 500
    assert_nothing_lost_and_index_clean(app, sender.count)
    assert "Traceback" not in worker.output() or "OperationalError" in worker.output()
