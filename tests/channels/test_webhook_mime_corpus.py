"""The hand-written MIME corpus (multipart, quoted-printable, base64, RFC 2047, HTML only, attachments,
no Date, non-UTF-8 charsets, a thread) through the webhook, processed by a real worker process."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.profiles.models import Customer, Interaction
from tests.channels import deliver
from tests.channels.deliver import processed_count
from tests.conftest import wait_for
from tests.factories import auth, make_source, make_user

CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.eml"))


@pytest.mark.services
def test_every_corpus_message_posted_as_raw_email_becomes_a_sensible_interaction(app, client, worker_process):
    source = make_source(channel="email", own_domains=["shop.example"])
    ids: dict[str, int] = {}
    for path in CORPUS:
        response = deliver.post(client, deliver.mime(source, path.read_bytes()))
        assert response.status_code == 202, (path.name, response.json)
        (ids[path.name[:2]],) = response.json["accepted"]
    worker = worker_process()
    wait_for(lambda: processed_count() == len(CORPUS), timeout=90, message="the worker to process the corpus")
    assert "Traceback" not in worker.output(), worker.output()[-3000:]

    db.session.expire_all()
    rows = {n: db.session.get(Interaction, i) for n, i in ids.items()}
    for name, row in rows.items():
        assert row.customer_id is not None and row.type == "message" and row.channel == "email", name
        assert row.text and row.text.strip(), f"{name} has a readable body"
        assert row.subject and "=?" not in row.subject, f"{name}'s subject is decoded"
        assert "\x00" not in row.text and "\ufffd" not in row.subject, name
        assert row.payload.content_type == "message/rfc822"
    assert rows["01"].subject == "Broken mug in order #1042" and "<b>" not in rows["01"].text
    assert rows["02"].subject == "Commande non reçue"
    assert rows["03"].subject == "Loyalty points \U0001f381 question"
    assert "I\u2019d like to \u201creturn\u201d the jacket & the scarf." in rows["04"].text  # HTML only, as text
    assert rows["04"].data["body_format"] == "html" and "<p" not in rows["04"].text
    assert [a["content_type"] for a in rows["05"].data["attachments"]] == ["application/pdf"]
    assert rows["07"].occurred_at == rows["07"].received_at, "no Date: the receipt time"
    assert rows["08"].external_id.startswith("sha256:"), "no Message-ID: a hash of the message"
    assert rows["09"].subject.isascii() is False and rows["10"].subject.isascii() is False
    assert rows["13"].direction == "outbound", "sent from the shop's own address"

    # The thread: Maria's message, the shop's reply, her answer: one customer, one case.
    maria = {rows[n].customer_id for n in ("01", "12", "13")}
    assert len(maria) == 1
    assert len({rows[n].case_id for n in ("01", "12", "13")}) == 1
    _, token = make_user("agent")
    found = client.get(
        "/api/v1/customers/lookup", query_string={"identifier": "email:maria.gonzalez@example.com"}, headers=auth(token)
    )
    assert found.status_code == 200 and found.json["id"] == maria.pop()
    timeline = client.get(f"/api/v1/customers/{found.json['id']}/timeline", headers=auth(token)).json["items"]
    assert [i["external_id"] for i in timeline] == [
        "<CAB1042-reply2.maria@mail.example.com>",
        "<reply1.1042@shop.example>",
        "<CAB1042.maria@mail.example.com>",
    ], "newest first"
    assert db.session.scalar(select(db.func.count()).select_from(Customer).where(Customer.status == "active")) >= 14

    # The whole corpus again (a mail relay retrying): nothing new.
    again = [deliver.post(client, deliver.mime(source, path.read_bytes())) for path in CORPUS]
    assert {a.status_code for a in again} == {200}
    assert sorted(i for a in again for i in a.json["ids"]) == sorted(ids.values())
