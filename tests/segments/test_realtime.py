"""Real-time membership and outbound webhooks: the interaction that makes a customer qualify (or stop
qualifying) changes the membership, records the event and queues its delivery in the job that processes
it — no refresh — and a real HTTP receiver gets the signed event, retried with backoff when it fails."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from crm.channels.signatures import verify_generic
from crm.columns import utcnow
from crm.extensions import db
from crm.profiles.models import Identifier
from crm.segments import elastic
from crm.segments.jobs import deliver_outbound
from crm.segments.models import OutboundDelivery, Segment, SegmentEvent, SegmentMember
from crm.segments.outbound import BACKOFF_S, MAX_ATTEMPTS, deliver_due
from crm.segments.rules import lower
from tests.conftest import MODE, wait_for
from tests.factories import auth, make_source, make_user
from tests.segments.builders import deliver, message, order, survey


class Receiver:
    """A local HTTP endpoint that records what it is sent and answers `statuses` in turn (then 200)."""

    def __init__(self, statuses: list[int] | None = None):
        self.requests: list[dict] = []
        self.statuses = list(statuses or [])
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/crm"

    def events(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def _make(statuses: list[int] | None = None) -> Receiver:
        made.append(Receiver(statuses))
        return made[-1]

    yield _make
    for r in made:
        r.close()


@pytest.fixture
def marketer(app):
    _, token = make_user("marketer")
    return auth(token)


def customer_id(email: str) -> int:
    db.session.expire_all()
    return db.session.scalar(select(Identifier.customer_id).where(Identifier.value == email))


def saved(client, headers, run_jobs, rule: dict, url: str | None = None, name: str = "Segment") -> tuple[int, str]:
    response = client.post("/api/v1/segments", json={"name": name, "rule": rule}, headers=headers)
    assert response.status_code == 201, response.json
    run_jobs()
    secret = None
    if url:
        hook = client.post(f"/api/v1/segments/{response.json['id']}/webhooks", json={"url": url}, headers=headers)
        assert hook.status_code == 201, hook.json
        secret = hook.json["secret"]
    return response.json["id"], secret


def assert_signed(request: dict, secret: str) -> None:
    verify_generic([secret], body=request["body"], headers=request["headers"], now=utcnow())


def test_a_purchase_that_makes_a_customer_qualify_enters_them_with_a_delivery_in_that_job(
    client, app, marketer, run_jobs, receiver
):
    store = make_source(channel="store")
    deliver(client, store, run_jobs, order("bob@example.com", "40.00", days=2))
    hooks = receiver()
    rule = {"condition": "spend", "within_days": 30, "op": "gte", "value": 100}
    segment_id, secret = saved(client, marketer, run_jobs, rule, hooks.url, name="Spent 100 this month")
    refreshed_at = db.session.get(Segment, segment_id).refreshed_at
    bob = customer_id("bob@example.com")
    assert db.session.get(SegmentMember, (segment_id, bob)) is None

    (interaction_id,) = deliver(client, store, run_jobs, order("bob@example.com", "70.00"))

    db.session.expire_all()
    assert db.session.get(SegmentMember, (segment_id, bob)) is not None
    (event,) = db.session.scalars(select(SegmentEvent).where(SegmentEvent.segment_id == segment_id))
    assert (event.event, event.customer_id, event.interaction_id) == ("enter", bob, interaction_id)
    (delivery,) = db.session.scalars(select(OutboundDelivery))
    assert (delivery.event_id, delivery.kind, delivery.status) == (event.id, "segment.enter", "pending")
    assert db.session.get(Segment, segment_id).refreshed_at == refreshed_at, "no full refresh ran"
    if MODE == "full":  # the customer's document follows: the index finds bob by his membership
        segment_rule = lower({"condition": "segment", "segment_id": segment_id}, utcnow())
        assert elastic.matching_ids(segment_rule) == [bob]

    assert deliver_outbound() == 1
    (request,) = hooks.requests
    assert_signed(request, secret)
    assert request["headers"]["x-crm-event"] == "segment.enter"
    assert request["headers"]["x-crm-delivery"] == str(delivery.id)
    body = hooks.events()[0]
    assert body["segment"] == {"id": segment_id, "name": "Spent 100 this month", "kind": "dynamic"}
    assert (body["customer"]["id"], body["customer"]["email"], body["interaction_id"]) == (
        bob,
        "bob@example.com",
        interaction_id,
    )
    db.session.expire_all()
    assert db.session.get(OutboundDelivery, delivery.id).status == "delivered"


def test_a_survey_that_makes_a_customer_leave_records_the_leave_and_sends_it(client, app, marketer, run_jobs, receiver):
    mail = make_source(channel="email")
    deliver(client, mail, run_jobs, survey("cat@example.com", "csat", 1, days=3))
    hooks = receiver()
    segment_id, secret = saved(client, marketer, run_jobs, {"condition": "csat", "at_most": 2}, hooks.url)
    cat = customer_id("cat@example.com")
    assert db.session.get(SegmentMember, (segment_id, cat)) is not None

    (interaction_id,) = deliver(client, mail, run_jobs, survey("cat@example.com", "csat", 5))

    db.session.expire_all()
    assert db.session.get(SegmentMember, (segment_id, cat)) is None
    events = client.get(f"/api/v1/segments/{segment_id}/events", headers=marketer).json["items"]
    assert [(e["event"], e["interaction_id"]) for e in events] == [("leave", interaction_id), ("enter", None)]
    assert deliver_outbound() == 1
    assert_signed(hooks.requests[0], secret)
    assert hooks.events()[0]["type"] == "segment.leave"


def test_a_failing_receiver_is_retried_with_backoff_and_every_attempt_logged(client, app, marketer, run_jobs, receiver):
    hooks = receiver([500, 503])
    mail = make_source(channel="email")
    segment_id, _ = saved(client, marketer, run_jobs, {"condition": "identifier", "kind": "email"}, hooks.url)
    deliver(client, mail, run_jobs, message("dan@example.com"))
    now = utcnow()
    assert deliver_due(now=now) == 0
    (delivery,) = db.session.scalars(select(OutboundDelivery))
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("pending", 1, 500)
    assert delivery.next_attempt_at == now + timedelta(seconds=BACKOFF_S[0])
    assert deliver_due(now=now + timedelta(seconds=BACKOFF_S[0] - 1)) == 0
    assert len(hooks.requests) == 1, "not due yet: nothing sent"
    assert deliver_due(now=now + timedelta(seconds=BACKOFF_S[0])) == 0
    assert deliver_due(now=now + timedelta(seconds=BACKOFF_S[0] + BACKOFF_S[1])) == 1
    log = client.get(f"/api/v1/segments/{segment_id}/deliveries", headers=marketer).json["items"]
    assert [a["response_status"] for a in log[0]["log"]] == [500, 503, 200]
    assert log[0]["status"] == "delivered"
    assert len({r["body"] for r in hooks.requests}) == 1, "the same event each time"


def test_a_webhook_to_a_loopback_address_is_refused_unless_allowed(client, app, marketer, run_jobs, receiver):
    hooks = receiver()
    segment_id, _ = saved(client, marketer, run_jobs, {"condition": "identifier", "kind": "email"}, hooks.url)
    deliver(client, make_source(channel="email"), run_jobs, message("fay@example.com"))
    app.config["OUTBOUND_ALLOW_PRIVATE"] = False
    try:
        assert deliver_due() == 0
    finally:
        app.config["OUTBOUND_ALLOW_PRIVATE"] = True
    (delivery,) = client.get(f"/api/v1/segments/{segment_id}/deliveries", headers=marketer).json["items"]
    assert delivery["status"] == "pending" and delivery["attempts"] == 1
    assert "127.0.0.1, not a public address (set OUTBOUND_ALLOW_PRIVATE=1 to allow)" in delivery["last_error"]
    assert hooks.requests == [], "nothing reached the receiver"


def test_a_receiver_that_keeps_failing_ends_as_a_failed_delivery(client, app, marketer, run_jobs, receiver):
    hooks = receiver([500] * MAX_ATTEMPTS)
    segment_id, _ = saved(client, marketer, run_jobs, {"condition": "identifier", "kind": "email"}, hooks.url)
    deliver(client, make_source(channel="email"), run_jobs, message("eve@example.com"))
    at = utcnow()
    for _ in range(MAX_ATTEMPTS + 2):
        deliver_due(now=at)
        at += timedelta(days=1)
    failed = client.get(f"/api/v1/segments/{segment_id}/deliveries?status=failed", headers=marketer).json["items"]
    assert [(d["attempts"], d["last_error"]) for d in failed] == [(MAX_ATTEMPTS, "HTTP 500 Internal Server Error")]
    assert len(hooks.requests) == MAX_ATTEMPTS


def test_a_segment_reading_another_follows_it_in_the_same_job(client, app, marketer, run_jobs):
    store, mail = make_source(channel="store"), make_source(channel="email")
    deliver(client, mail, run_jobs, message("fay@example.com", 3))
    spenders, _ = saved(client, marketer, run_jobs, {"condition": "spend", "op": "gte", "value": 100}, name="Spenders")
    rule = {
        "all": [
            {"condition": "segment", "segment_id": spenders},
            {"condition": "interactions", "channel": "email", "op": "gte", "value": 1},
        ]
    }
    writing, _ = saved(client, marketer, run_jobs, rule, name="Spenders who write")
    (interaction_id,) = deliver(client, store, run_jobs, order("fay@example.com", "150.00"))
    db.session.expire_all()
    events = db.session.scalars(select(SegmentEvent).order_by(SegmentEvent.id))
    assert [(e.segment_id, e.event, e.interaction_id) for e in events] == [
        (spenders, "enter", interaction_id),
        (writing, "enter", interaction_id),
    ]


@pytest.mark.services
def test_a_real_worker_sends_the_event_on_its_own(client, app, marketer, run_jobs, receiver, worker_process):
    hooks = receiver()
    store = make_source(channel="store")
    _, secret = saved(client, marketer, run_jobs, {"condition": "bought", "sku": "SKU-9"}, hooks.url)
    worker_process()
    # The order arrives while the worker runs; the test calls nothing else.
    deliver(client, store, lambda: None, order("gus@example.com", "12.00", skus=("SKU-9",)))
    wait_for(lambda: hooks.requests, timeout=60, message="the worker to process the order and send the event")
    assert_signed(hooks.requests[0], secret)
    assert hooks.events()[0]["customer"]["email"] == "gus@example.com"
