"""The outbound webhook on assignment: one signed delivery per customer, naming their variant."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from crm.channels.signatures import verify_generic
from crm.experiments.assignment import assign_members
from crm.extensions import db
from crm.segments.outbound import deliver_due
from tests.experiments import records
from tests.factories import auth, make_user


@pytest.fixture
def receiver():
    """A real HTTP endpoint on loopback that records what it is sent."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()
    server.server_close()


def test_each_assignment_is_posted_signed_with_the_customers_variant(app, client, receiver):
    url, received = receiver
    marketer = auth(make_user("marketer")[1])
    segment = records.static_segment()
    ids = records.customers(6)
    records.add_members(segment, ids)
    body = records.payload(
        segment,
        webhook={"url": url},
        variants=[{"name": "control", "share": 50}, {"name": "sms", "share": 50}],  # the webhook is the treatment
    )
    created = client.post("/api/v1/experiments", json=body, headers=marketer)
    assert created.status_code == 201, created.json
    secret = created.json["webhook"]["secret"]
    assert len(secret) >= 32
    # The secret is shown once, at creation.
    assert "secret" not in client.get(f"/api/v1/experiments/{created.json['id']}", headers=marketer).json["webhook"]
    client.post(f"/api/v1/experiments/{created.json['id']}/start", headers=marketer)
    assign_members(created.json["id"])
    assert deliver_due() == 6

    assigned = records.assignments(created.json["id"])
    assert len(received) == 6
    for request in received:
        verify_generic([secret], body=request["body"], headers=request["headers"], now=datetime.now(UTC))
        assert request["headers"]["x-crm-event"] == "experiment.assigned"
        event = json.loads(request["body"])
        row = assigned[event["customer_id"]]
        assert event["variant"] == row.variant and event["control"] == (row.variant == "control")
        assert event["experiment"] == {"id": created.json["id"], "name": body["name"]}


def test_segment_enter_and_leave_events_are_not_sent_to_an_experiments_webhook(app, receiver):
    from crm.segments.membership import enter
    from crm.segments.models import Segment

    url, received = receiver
    segment = records.static_segment()
    records.experiment(segment, webhook={"url": url, "secret": "s" * 20})
    (cid,) = records.customers(1)
    enter(db.session.get(Segment, segment.id), cid, at=records.now())
    db.session.commit()
    assert deliver_due() == 0 and received == []
