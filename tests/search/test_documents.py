"""The documents built from the rows, on PostgreSQL (full mode) and SQLite (embedded): the same fields either way."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from crm.extensions import db
from crm.profiles.models import Customer, Interaction
from crm.search import documents
from crm.segments import documents as segment_documents
from tests.factories import interaction, make_source, post_generic
from tests.search.people import customer_of


def test_a_customers_purchases_give_its_order_numbers_skus_and_categories(app, client, run_jobs):
    store = make_source(channel="store")
    for n, (order, items) in enumerate(
        [("#5001", [("TEA-1", "Pantry"), ("MUG-2", "Kitchen")]), ("so-9", [("TEA-1", "Pantry")]), (None, [])]
    ):
        data = {"items": [{"sku": s, "category": c, "unit_price": "1.00"} for s, c in items], "currency": "USD"}
        if order:
            data["order_number"] = order
        item = interaction(f"o-{n}", type_="purchase", customer={"email": "kim@example.com"}, data=data)
        assert post_generic(client, store, item).status_code == 202
    run_jobs()
    doc = documents.customer_docs([customer_of("email", "kim@example.com")]).popitem()[1]
    assert doc["order_numbers"] == ["5001", "SO-9"]
    assert doc["skus"] == ["MUG-2", "TEA-1"]
    assert doc["categories"] == ["kitchen", "pantry"]


def test_purchases_older_than_the_activity_list_still_give_their_order_numbers_and_skus(
    app, client, run_jobs, monkeypatch
):
    # The purchases are read with the activity list when it holds a customer's whole history; a customer
    # with more interactions than it keeps has the rest read from the database (limit lowered to 2 here).
    monkeypatch.setattr(segment_documents, "ACTIVITY_LIMIT", 2)
    store = make_source(channel="store")
    for n, sku in enumerate(["OLD-1", "MID-2", "NEW-3"]):
        data = {"items": [{"sku": sku, "category": "Pantry"}], "order_number": f"SO-{n}", "currency": "USD"}
        item = interaction(
            f"o-{n}",
            type_="purchase",
            customer={"email": "kim@example.com"},
            data=data,
            occurred_at=datetime(2026, n + 1, 1, tzinfo=UTC),
        )
        assert post_generic(client, store, item).status_code == 202
    run_jobs()
    doc = documents.customer_docs([customer_of("email", "kim@example.com")]).popitem()[1]
    assert len(doc["segment_fields"]["activity"]) == 2
    assert doc["order_numbers"] == ["SO-0", "SO-1", "SO-2"]
    assert doc["skus"] == ["MID-2", "NEW-3", "OLD-1"]


def test_purchase_values_read_in_python_are_what_postgresql_reads():
    purchases = [
        {"order_number": 5001, "items": [{"sku": "TEA-1", "category": "Pantry"}, {"sku": ""}, "not an item"]},
        {"order_number": "", "items": {"sku": "not a list"}},
        None,
        {"items": [{"sku": 77, "category": None}]},
    ]
    assert documents.purchase_values(purchases) == (["5001"], ["TEA-1", "77"], ["Pantry"])


def test_merged_and_missing_customers_have_no_document(app, client, run_jobs):
    source = make_source(channel="email")
    post_generic(client, source, interaction("a-1", customer={"email": "al@example.com"}))
    run_jobs()
    cid = customer_of("email", "al@example.com")
    db.session.get(Customer, cid).status = "merged"
    db.session.commit()
    assert documents.customer_docs([cid, 999_999]) == {cid: None, 999_999: None}


def test_an_interaction_document_holds_the_folded_text_of_a_chat_and_its_details(app, client, run_jobs):
    chat = make_source(channel="chat")
    messages = [{"author": "customer", "text": "Où est ma commande?"}, {"author": "agent", "text": "Looking now"}]
    item = interaction("c-1", customer={"email": "lea@example.com"}, subject="Délai", data={"messages": messages})
    assert post_generic(client, chat, item).status_code == 202
    run_jobs()
    iid = db.session.scalar(select(Interaction.id))
    doc = documents.interaction_docs([iid])[iid]
    assert doc["subject"] == "delai"
    assert doc["text"] == "customer: ou est ma commande?\nagent: looking now"  # the transcript, once
    assert (doc["channel"], doc["type"], doc["customer_id"]) == (
        "chat",
        "message",
        customer_of("email", "lea@example.com"),
    )
