"""The index follows the database: ingest, merge, undo, erase, failures and late writers (real Elasticsearch)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update

from crm.columns import utcnow
from crm.extensions import db
from crm.profiles.models import Customer, Interaction, Merge
from crm.search import drain, elastic, indexer, record_change
from crm.search.models import OutboxEntry
from crm.search.outbox import BACKOFF_S, LEASE_S
from tests.factories import auth, interaction, make_source, make_user, post_generic
from tests.search.people import ago, customer_of

pytestmark = pytest.mark.services


def one_customer(client, run_jobs, external_id: str, email: str, **customer) -> int:
    """A customer made by one processed email interaction; its id."""
    post_generic(client, make_source(channel="email"), interaction(external_id, customer={"email": email, **customer}))
    run_jobs()
    return customer_of("email", email)


def es_doc(entity: str, entity_id: int) -> dict | None:
    es = elastic.client()
    es.indices.refresh(index=elastic.alias(entity))
    found = es.search(index=elastic.alias(entity), query={"term": {"id": entity_id}})["hits"]["hits"]
    return found[0]["_source"] if found else None


def es_ids(entity: str, **term) -> set[int]:
    es = elastic.client()
    es.indices.refresh(index=elastic.alias(entity))
    query = {"term": term} if term else {"match_all": {}}
    hits = es.search(index=elastic.alias(entity), query=query, size=1000)["hits"]["hits"]
    return {h["_source"]["id"] for h in hits}


def searched(client, q: str) -> dict:
    response = client.get("/api/v1/search", query_string={"q": q}, headers=auth(make_user("agent")[1]))
    assert response.status_code == 200, response.json
    return response.json


def test_an_ingested_interaction_is_searchable_once_processed_and_nothing_waits(app, client, run_jobs):
    source = make_source(channel="email")
    item = interaction("m-1", customer={"email": "mo@example.com", "name": "Mo Farah"}, subject="Lost parcel")
    assert post_generic(client, source, item).status_code == 202
    run_jobs()
    body = searched(client, "mo farah")
    assert [i["kind"] for i in body["items"]] == ["customer"]
    assert searched(client, "lost parcel")["items"][0]["interaction"]["subject"] == "Lost parcel"
    assert db.session.scalar(select(db.func.count()).select_from(OutboxEntry)) == 0
    health = client.get("/healthz").json
    assert health["checks"]["search"]["index_lag_s"] == 0.0


def test_a_customer_document_carries_attributes_aggregates_purchases_and_segments(app, client, run_jobs):
    store = make_source(channel="store")
    customer = {
        "email": "kim@example.com",
        "loyalty_id": "L-77",
        "attributes": {
            "first_name": "Kim",
            "last_name": "Lê",
            "birth_date": "1990-04-01",
            "address": {"city": "Málaga", "postcode": "29001", "country": "ES"},
            "custom": {"tier": "gold", "shoe_size": 9.5, "vip": True, "member_since": "2019-05-01"},
        },
    }
    order = {
        "order_number": "#5001",
        "currency": "USD",
        "total": "30.00",
        "items": [{"sku": "TEA-1", "name": "Tea", "category": "Pantry", "unit_price": "30.00"}],
    }
    assert (
        post_generic(client, store, interaction("o-1", type_="purchase", customer=customer, data=order)).status_code
        == 202
    )
    run_jobs()
    doc = es_doc("customer", customer_of("email", "kim@example.com"))
    assert doc["names"].split() == ["kim", "le"]
    assert doc["address"] == {"city": "malaga", "postcode": "29001", "region": None, "country": "ES"}
    assert doc["birth_year"] == 1990
    assert doc["custom_keyword"] == {"tier": "gold"}
    assert doc["custom_number"] == {"shoe_size": 9.5}
    assert doc["custom_boolean"] == {"vip": True}
    assert doc["custom_date"] == {"member_since": "2019-05-01"}
    assert (doc["order_numbers"], doc["skus"], doc["categories"]) == (["5001"], ["TEA-1"], ["pantry"])
    assert (doc["orders_count"], doc["ltv_amount"], doc["channels"]) == (1, 30.0, ["store"])
    assert doc["loyalty_ids"] == ["L77"] and doc["segments"] == []
    assert "segment_fields" in doc  # the segments package's fields, merged in


def test_a_custom_key_typed_differently_by_two_customers_indexes_both(app, client, run_jobs):
    source = make_source(channel="email")
    for n, tier in enumerate(["gold", 3]):
        customer = {"email": f"t{n}@example.com", "attributes": {"custom": {"tier": tier}}}
        assert post_generic(client, source, interaction(f"t-{n}", customer=customer)).status_code == 202
    run_jobs()
    assert db.session.scalar(select(db.func.count()).select_from(OutboxEntry)) == 0
    assert es_doc("customer", customer_of("email", "t1@example.com"))["custom_number"] == {"tier": 3}


def _merged_pair(client, run_jobs) -> tuple[int, int, Merge]:
    chat, phone, store = (make_source(channel=c) for c in ("chat", "phone", "store"))
    post_generic(
        client, chat, interaction("c-1", customer={"email": "ivy@example.com", "name": "Ivy Chen"}, occurred_at=ago(3))
    )
    run_jobs()
    post_generic(
        client, phone, interaction("p-1", type_="call", customer={"phone": "+1 646 555 0101"}, occurred_at=ago(2))
    )
    run_jobs()
    caller = customer_of("phone", "+16465550101")
    survivor = customer_of("email", "ivy@example.com")
    post_generic(
        client,
        store,
        interaction(
            "o-1", type_="purchase", customer={"email": "ivy@example.com", "phone": "646-555-0101"}, occurred_at=ago(1)
        ),
    )
    run_jobs()
    db.session.expire_all()
    merge = db.session.scalar(select(Merge).where(Merge.merged_id == caller))
    assert merge is not None and merge.survivor_id == survivor
    return survivor, caller, merge


def test_a_merge_removes_the_merged_document_and_the_survivor_has_every_identifier(app, client, run_jobs):
    survivor, merged, _ = _merged_pair(client, run_jobs)
    assert es_doc("customer", merged) is None
    doc = es_doc("customer", survivor)
    assert set(doc["identifiers"]) == {"email:ivy@example.com", "phone:+16465550101"}
    assert es_ids("interaction", customer_id=survivor) == set(db.session.scalars(select(Interaction.id)))
    assert [i["id"] for i in searched(client, "(646) 555-0101")["items"] if i["kind"] == "customer"] == [survivor]


def test_undoing_a_merge_brings_both_documents_back_as_they_were(app, client, run_jobs):
    from crm.profiles.undo import undo_merge

    survivor, merged, merge = _merged_pair(client, run_jobs)
    undo_merge(merge.id, "agent@test")
    db.session.commit()
    drain()
    assert es_doc("customer", survivor)["identifiers"] == ["email:ivy@example.com"]
    assert es_doc("customer", merged)["identifiers"] == ["phone:+16465550101"]
    call = db.session.scalar(select(Interaction.id).where(Interaction.type == "call"))
    assert es_doc("interaction", call)["customer_id"] == merged


def test_erasing_a_customer_leaves_nothing_in_either_index(app, client, run_jobs):
    from crm.profiles.privacy import erase_customer

    survivor, merged, _ = _merged_pair(client, run_jobs)
    other = make_source(channel="email")
    post_generic(client, other, interaction("keep", customer={"email": "keep@example.com"}))
    run_jobs()
    erase_customer(survivor, "admin@test")
    run_jobs()
    kept = customer_of("email", "keep@example.com")
    assert es_ids("customer") == {kept}
    assert {es_doc("interaction", i)["customer_id"] for i in es_ids("interaction")} == {kept}
    assert searched(client, "ivy@example.com")["items"] == []


def test_a_deleted_customer_row_takes_its_interaction_documents_with_it(app, client, run_jobs):
    source = make_source(channel="email")
    post_generic(client, source, interaction("gone-1", customer={"email": "gone@example.com"}, subject="Hello there"))
    run_jobs()
    cid = customer_of("email", "gone@example.com")
    assert es_ids("interaction", customer_id=cid)
    # Only the customer is recorded: the interaction documents still naming it go with it all the same.
    db.session.execute(delete(Interaction).where(Interaction.customer_id == cid))
    db.session.execute(delete(Customer).where(Customer.id == cid))
    record_change("customer", cid)
    db.session.commit()
    assert drain() == 1
    assert es_doc("customer", cid) is None
    assert es_ids("interaction", customer_id=cid) == set()


def test_a_backlog_larger_than_one_drain_is_shared_by_the_queue_and_indexed_to_the_end(app, client, run_jobs):
    from crm import search
    from crm.jobs import queue

    source = make_source(channel="chat")
    items = [interaction(f"b-{n}", customer={"email": f"back{n}@example.com"}) for n in range(8)]
    assert post_generic(client, source, {"interactions": items}).status_code == 202
    run_jobs()
    ids = [customer_of("email", f"back{n}@example.com") for n in range(8)]
    # A backlog with nothing else arriving (as after an outage): renamed in the database, one row each.
    for cid in ids:
        db.session.execute(update(Customer).where(Customer.id == cid).values(display_name=f"Renamed {cid}"))
        record_change("customer", cid)
    db.session.commit()
    assert search.drain(limit=3) == 3
    assert queue().count == 1  # the rest, queued for the next free worker (once, not per drain)
    run_jobs()
    assert db.session.scalar(select(db.func.count()).select_from(OutboxEntry)) == 0
    assert [es_doc("customer", cid)["display_name"] for cid in ids] == [f"Renamed {cid}" for cid in ids]


def test_rows_stay_in_the_outbox_with_their_error_while_elasticsearch_is_unreachable(app, client, run_jobs):
    source = make_source(channel="chat")
    url = app.config["ELASTICSEARCH_URL"]
    app.config["ELASTICSEARCH_URL"] = "http://127.0.0.1:1"
    app.extensions.pop("crm.es", None)
    try:
        started = utcnow()
        post_generic(client, source, interaction("down-1", customer={"email": "wait@example.com"}))
        run_jobs()
        rows = list(db.session.scalars(select(OutboxEntry)))
        assert rows and all(r.attempts >= 1 and "Connection" in (r.last_error or "") for r in rows)
        # Pushed back by the backoff of their attempt (not left due, and not left under the claim's lease).
        # Measured from before the webhook: the first backoff is a second, which a slow run can outlast.
        for r in rows:
            backoff = timedelta(seconds=BACKOFF_S[r.attempts - 1])
            assert started + backoff <= r.available_at < utcnow() + backoff < started + timedelta(seconds=LEASE_S)
        result = app.test_cli_runner().invoke(args=["search", "lag"])
        assert "changes waiting" in result.output and "failed at least once" in result.output
    finally:
        app.config["ELASTICSEARCH_URL"] = url
        app.extensions.pop("crm.es", None)
    db.session.execute(update(OutboxEntry).values(available_at=utcnow()))
    db.session.commit()
    assert drain() >= 2
    assert es_doc("customer", customer_of("email", "wait@example.com")) is not None


def test_an_older_write_arriving_late_never_overwrites_a_newer_document(app, client, run_jobs):
    source = make_source(channel="email")
    post_generic(client, source, interaction("v-1", customer={"email": "vic@example.com", "name": "Vic Old"}))
    run_jobs()
    cid = customer_of("email", "vic@example.com")
    stale_version = indexer.clock_us()
    stale = indexer.docs_for("customer", [cid])
    post_generic(client, source, interaction("v-2", customer={"email": "vic@example.com", "name": "Vic New"}))
    run_jobs()
    es = elastic.client()
    late = indexer.actions("customer", stale, [elastic.alias("customer", "write")], stale_version)
    assert elastic.bulk_failures(es, late) == {}  # refused as older: not an error
    assert "new" in es_doc("customer", cid)["names"].split()


def test_a_late_write_of_an_erased_customer_does_not_bring_the_document_back(app, client, run_jobs):
    cid = one_customer(client, run_jobs, "e-1", "eve@example.com")
    stale_version = indexer.clock_us()
    stale = indexer.docs_for("customer", [cid])
    db.session.execute(delete(Interaction).where(Interaction.customer_id == cid))
    db.session.execute(delete(Customer).where(Customer.id == cid))
    record_change("customer", cid)
    db.session.commit()
    drain()
    late = indexer.actions("customer", stale, [elastic.alias("customer", "write")], stale_version)
    assert elastic.bulk_failures(elastic.client(), late) == {}
    assert es_doc("customer", cid) is None


def test_claimed_rows_are_skipped_by_other_drains_and_never_lost_whatever_becomes_of_their_batch(app):
    from crm.search import outbox

    for n in range(6):
        record_change("customer", 900_000 + n)
    db.session.commit()
    created = {r.id: r.created_at for r in db.session.scalars(select(OutboxEntry))}
    first = outbox._claim(3)
    second = outbox._claim(10)  # another drain meanwhile: only the rows the first did not take
    assert {r.id for r in first.rows} | {r.id for r in second.rows} == set(created)
    assert not {r.id for r in first.rows} & {r.id for r in second.rows}
    assert outbox.pending_count() == 6  # claimed rows still count as waiting (and for the index lag)
    first.release()  # the drain died or gave up: its rows are due again at once, as they were
    again = outbox._claim(10)
    assert {r.id for r in again.rows} == {r.id for r in first.rows}
    # Indexing failed for one of them: it is put back with its age, one more attempt and a backoff.
    failing = again.rows[0]
    before = utcnow()
    assert outbox._settle(again, {(failing.entity, failing.entity_id): "ConnectionError: refused"}) == 2
    assert outbox._settle(second, {}) == 3
    db.session.expire_all()
    (left,) = db.session.scalars(select(OutboxEntry)).all()
    assert (left.id, left.created_at, left.attempts, left.last_error) == (
        failing.id,
        created[failing.id],
        1,
        "ConnectionError: refused",
    )
    assert left.available_at >= before + timedelta(seconds=BACKOFF_S[0])


def _write_index(es, entity: str) -> str:
    return next(iter(es.indices.get_alias(name=elastic.alias(entity, "write"))))


def test_writes_refused_while_the_node_is_overloaded_are_sent_again_and_land(app, client, run_jobs, monkeypatch):
    # A node refusing writes answers 429 (here: the flood-stage block a full disk sets, put on by hand).
    # The bulk sends the refused actions again after a backoff; once the node takes writes they land.
    monkeypatch.setattr(elastic, "BULK_FIRST_BACKOFF_S", 0.2)
    cid = one_customer(client, run_jobs, "r-1", "rae@example.com", name="Rae Old")
    es = elastic.client()
    index = _write_index(es, "customer")
    docs = indexer.docs_for("customer", [cid])
    docs[cid]["display_name"] = "Rae Again"
    action = list(indexer.actions("customer", docs, [elastic.alias("customer", "write")], indexer.clock_us()))
    db.session.rollback()
    es.indices.put_settings(index=index, settings={"index.blocks.read_only_allow_delete": True})
    lift = threading.Timer(
        0.5, es.indices.put_settings, kwargs={"index": index, "settings": {"index.blocks.read_only_allow_delete": None}}
    )
    lift.start()
    try:
        started = time.monotonic()
        assert elastic.bulk_failures(es, action) == {}
        assert time.monotonic() - started >= 0.5  # it waited for the node, it did not drop the write
    finally:
        lift.join()
    assert es_doc("customer", cid)["display_name"] == "Rae Again"


def test_writes_refused_for_longer_than_the_retries_are_reported_for_the_outbox_to_keep(
    app, client, run_jobs, monkeypatch
):
    monkeypatch.setattr(elastic, "BULK_FIRST_BACKOFF_S", 0.05)
    cid = one_customer(client, run_jobs, "r-2", "ron@example.com")
    es = elastic.client()
    index = _write_index(es, "customer")
    es.indices.put_settings(index=index, settings={"index.blocks.read_only_allow_delete": True})
    try:
        record_change("customer", cid)
        db.session.commit()
        assert drain() == 0
        row = db.session.scalar(select(OutboxEntry).where(OutboxEntry.entity_id == cid))
        assert row is not None and "read-only-allow-delete" in row.last_error
    finally:
        es.indices.put_settings(index=index, settings={"index.blocks.read_only_allow_delete": None})


def test_a_write_to_a_rebuild_alias_that_is_gone_fails_and_creates_no_index_by_its_name(app, client, run_jobs):
    # A drain that looked up its targets while a rebuild ran may write after the rebuild dropped its alias:
    # that write must fail (the row goes back to the outbox), not create an index called like the alias,
    # which would stop the next rebuild from taking the name.
    cid = one_customer(client, run_jobs, "g-1", "gus@example.com")
    es = elastic.client()
    gone = elastic.alias("customer", "rebuild")
    docs = indexer.docs_for("customer", [cid])
    failures = elastic.bulk_failures(es, indexer.actions("customer", docs, [gone], indexer.clock_us()))
    db.session.rollback()
    assert "index_not_found_exception" in failures[("customer", cid)]
    assert not es.indices.exists(index=gone)
