"""Privacy: an admin exports everything about a customer, or erases it (rows, raw payloads, search
documents), leaving a record with no personal data."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from crm.audit import AuditEvent
from crm.channels.models import ErasedDelivery
from crm.extensions import db
from crm.profiles.models import (
    Case,
    Customer,
    CustomerAttribute,
    DuplicateSuggestion,
    Identifier,
    Interaction,
    InteractionPayload,
    Merge,
    PrivacyRequest,
)
from crm.segments.models import Segment, SegmentMember
from tests.conftest import MODE
from tests.factories import auth, make_source, make_user, post_generic
from tests.profiles.identity_helpers import customer_of, deliver, item

ANN = {"email": "ann.privacy@example.com", "name": "Ann Private", "attributes": {"birth_date": "1991-02-03"}}


def _person(client, run_jobs):
    """Ann: a chat, a call merged in by a purchase, a segment membership, and a suggestion with Anne."""
    chat, phone, store = make_source(channel="chat"), make_source(channel="phone"), make_source(channel="store")
    (chat_id,) = deliver(client, run_jobs, chat, item("c", 0, ANN, text="My card was charged twice"))
    (call_id,) = deliver(client, run_jobs, phone, item("p", 1, {"phone": "+14155550122"}, type_="call"))
    merged = customer_of(call_id).id
    deliver(client, run_jobs, store, item("o", 2, {"email": ANN["email"], "phone": "+14155550122"}, type_="purchase"))
    other = {"email": "anne.privat@example.com", "name": "Ann Private", "attributes": {"birth_date": "1991-02-03"}}
    (other_id,) = deliver(client, run_jobs, chat, item("c2", 3, other))
    ann = customer_of(chat_id)
    segment = Segment(name="Card trouble", rule={"all": []})
    db.session.add(segment)
    db.session.flush()
    db.session.add(SegmentMember(segment_id=segment.id, customer_id=ann.id))
    db.session.commit()
    return ann.id, merged, customer_of(other_id).id


def test_an_admin_exports_everything_about_a_customer(app, client, run_jobs):
    admin, token = make_user("admin")
    _, agent = make_user("agent")
    ann, merged, other = _person(client, run_jobs)
    assert client.get(f"/api/v1/customers/{ann}/export", headers=auth(agent)).status_code == 403
    response = client.get(f"/api/v1/customers/{ann}/export", headers=auth(token))
    assert response.status_code == 200, response.json
    doc = response.json
    assert doc["customer"]["id"] == ann and [c["id"] for c in doc["merged_customers"]] == [merged]
    assert {(i["kind"], i["value"]) for i in doc["identifiers"]} == {
        ("email", "ann.privacy@example.com"),
        ("phone", "+14155550122"),
    }
    assert doc["attributes"]["effective"]["birth_date"]["value"] == "1991-02-03"
    assert doc["attributes"]["effective"]["birth_date"]["source"]
    assert len(doc["interactions"]) == 3
    chat = next(i for i in doc["interactions"] if i["channel"] == "chat")
    assert json.loads(chat["payload"]["body"])["text"] == "My card was charged twice"
    assert {c["channel"] for c in doc["cases"]} == {"chat", "phone"}
    assert [(m["survivor_id"], m["merged_id"]) for m in doc["merges"]] == [(ann, merged)]
    assert "snapshot" not in doc["merges"][0]
    assert [m["segment_name"] for m in doc["segment_memberships"]["current"]] == ["Card trouble"]
    assert [(s["customer_a_id"], s["customer_b_id"]) for s in doc["duplicate_suggestions"]] == [(ann, other)]
    request = db.session.scalar(select(PrivacyRequest))
    assert (request.kind, request.customer_id, request.requested_by) == ("export", ann, admin.email)
    conflict = client.get(f"/api/v1/customers/{merged}/export", headers=auth(token))
    assert conflict.status_code == 409 and f"merged into customer {ann}" in conflict.json["detail"]


def _count(model, *conditions) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0


def test_erasing_a_customer_removes_rows_payloads_and_search_documents_and_keeps_no_personal_data(
    app, client, run_jobs
):
    admin, token = make_user("admin")
    _, agent = make_user("agent")
    ann, merged, other = _person(client, run_jobs)
    interaction_ids = list(db.session.scalars(select(Interaction.id).where(Interaction.customer_id == ann)))
    assert client.delete(f"/api/v1/customers/{ann}", headers=auth(agent)).status_code == 403

    response = client.delete(f"/api/v1/customers/{ann}", headers=auth(token))
    assert response.status_code == 200, response.json
    assert response.json["erased"]["customers"] == 2 and response.json["erased"]["interactions"] == 3
    run_jobs()
    db.session.expire_all()
    people = [ann, merged]
    assert _count(Customer, Customer.id.in_(people)) == 0
    for model in (Identifier, CustomerAttribute, Case, SegmentMember):
        assert _count(model, model.customer_id.in_(people)) == 0, model.__name__
    assert _count(Interaction, Interaction.id.in_(interaction_ids)) == 0
    assert _count(InteractionPayload, InteractionPayload.interaction_id.in_(interaction_ids)) == 0
    assert _count(DuplicateSuggestion) == 0 and _count(Merge) == 0
    assert db.session.get(Customer, other).status == "active"  # the other person is untouched

    request = db.session.scalar(select(PrivacyRequest).where(PrivacyRequest.kind == "erase"))
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "erase"))
    kept = json.dumps([request.summary, audit.details, audit.target_id, request.requested_by])
    for personal in ("ann.privacy", "Private", "4155550122", "1991", "charged"):
        assert personal not in kept
    assert client.get(f"/api/v1/customers/{ann}", headers=auth(agent)).status_code == 404
    lookup = client.get(
        "/api/v1/customers/lookup", query_string={"identifier": f"email:{ANN['email']}"}, headers=auth(agent)
    )
    assert lookup.status_code == 404
    if MODE == "full":
        from crm.search.elastic import alias
        from crm.search.elastic import client as es

        es().indices.refresh(index=[alias("customer"), alias("interaction")])
        assert es().count(index=alias("interaction"), query={"terms": {"customer_id": people}})["count"] == 0
        assert es().count(index=alias("customer"), query={"ids": {"values": [str(c) for c in people]}})["count"] == 0
        assert es().count(index=alias("customer"), query={"ids": {"values": [str(other)]}})["count"] == 1


def test_the_cli_exports_to_a_file_and_erases_only_with_yes(app, client, run_jobs, tmp_path):
    ann, merged, _ = _person(client, run_jobs)
    runner = app.test_cli_runner()
    out = tmp_path / "ann.json"
    exported = runner.invoke(args=["privacy", "export", str(ann), "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    assert json.loads(out.read_text())["customer"]["id"] == ann

    refused = runner.invoke(args=["privacy", "erase", str(merged), "--yes"])
    assert refused.exit_code != 0 and f"merged into customer {ann}" in refused.output
    asked = runner.invoke(args=["privacy", "erase", str(ann)], input="n\n")
    assert asked.exit_code != 0 and db.session.get(Customer, ann) is not None
    erased = runner.invoke(args=["privacy", "erase", str(ann), "--yes"])
    assert erased.exit_code == 0, erased.output
    assert "erased customer" in erased.output and "3 interactions" in erased.output
    missing = runner.invoke(args=["privacy", "export", "424242"])
    assert missing.exit_code != 0 and "no customer 424242" in missing.output and "Traceback" not in missing.output


def test_erase_by_post_for_clients_without_delete(app, client, run_jobs):
    _, token = make_user("admin")
    ann, _, _ = _person(client, run_jobs)
    response = client.post(f"/api/v1/customers/{ann}/erase", headers=auth(token))
    assert response.status_code == 200 and response.json["customer_id"] == ann
    assert client.post(f"/api/v1/customers/{ann}/erase", headers=auth(token)).status_code == 404


def test_a_providers_retry_after_an_erasure_stores_nothing_but_a_new_message_is_kept(app, client, run_jobs):
    _, token = make_user("admin")
    chat = make_source(channel="chat")
    first = item("late-retry", 0, ANN, text="My card was charged twice")
    deliver(client, run_jobs, chat, first)
    ann = db.session.scalar(select(Customer.id))
    assert client.delete(f"/api/v1/customers/{ann}", headers=auth(token)).status_code == 200

    retry = post_generic(client, chat, {"interactions": [first, item("after", 5, ANN, text="Hello again")]})
    assert retry.status_code == 202, retry.json
    assert retry.json["erased"] == ["late-retry"] and retry.json["ids"][0] is None
    run_jobs()
    db.session.expire_all()
    texts = list(db.session.scalars(select(Interaction.text)))
    assert texts == ["Hello again"]  # the erased message did not come back; the new one is stored
    assert _count(InteractionPayload) == 1 and _count(Customer) == 1

    again = post_generic(client, chat, first)
    assert again.status_code == 200 and again.json == {
        "accepted": [],
        "replayed": [],
        "ids": [None],
        "erased": ["late-retry"],
    }
    kept = json.dumps([row.digest for row in db.session.scalars(select(ErasedDelivery))])
    assert "late-retry" not in kept and ANN["email"] not in kept  # the tombstone names nobody
