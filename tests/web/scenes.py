"""Customers the web tests open: built through the real webhooks and the real pipeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from crm.extensions import db
from crm.profiles.models import Customer, Identifier
from tests.factories import interaction, make_source, post_generic

ANN = {"email": "ann.lee@example.com", "phone": "+44 20 7946 0958", "name": "Ann Lee"}


def ago(**delta) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


def ann_on_four_channels(client, run_jobs) -> Customer:
    """Ann writes an email, chats, calls, buys in a store and answers an NPS survey: one customer."""
    sources = {ch: make_source(channel=ch) for ch in ("email", "chat", "phone", "store")}
    email = {"email": ANN["email"], "name": ANN["name"], "attributes": {"address": {"city": "London", "country": "GB"}}}
    items = [
        interaction(
            "mail-1",
            customer=email,
            occurred_at=ago(days=9),
            subject="Where is my order?",
            text="Hello, my trail shoes have not arrived yet. Order 10042.",
            data={"message_id": "<m1@example.com>", "thread_id": "t-10042"},
        ),
        interaction(
            "mail-2",
            direction="outbound",
            customer={"email": ANN["email"]},
            occurred_at=ago(days=8),
            subject="Re: Where is my order?",
            text="Sorry for the wait: it left our warehouse today.\n\nOn Monday Ann Lee wrote:\n> Hello, my trail shoes have not arrived yet. Order 10042.",
            data={"message_id": "<r1@shop.example>", "in_reply_to": "<m1@example.com>", "thread_id": "t-10042"},
        ),
        interaction(
            "chat-1",
            customer={"email": ANN["email"]},
            occurred_at=ago(days=7),
            text="Chat about delivery",
            data={
                "conversation_id": "c-77",
                "messages": [
                    {"author": "customer", "at": ago(days=7).isoformat(), "text": "Any news on my delivery?"},
                    {"author": "agent", "at": ago(days=7, minutes=-2).isoformat(), "text": "It ships tomorrow."},
                ],
            },
        ),
        interaction(
            "call-1",
            type_="call",
            customer={"phone": ANN["phone"], "email": ANN["email"]},
            occurred_at=ago(days=5),
            text="Asked to change the delivery address.",
            data={"duration_s": 245, "outcome": "answered"},
        ),
        interaction(
            "order-1",
            type_="purchase",
            customer={"phone": ANN["phone"], "loyalty_id": "L-1234"},
            occurred_at=ago(days=3),
            data={
                "order_number": "10042",
                "store_name": "SoHo flagship",
                "currency": "USD",
                "total": "133.00",
                "items": [
                    {
                        "sku": "TRL-SHOE-01",
                        "name": "Trail running shoes",
                        "category": "footwear",
                        "quantity": 1,
                        "unit_price": "119.00",
                    },
                    {
                        "sku": "SOCK-MER-04",
                        "name": "Merino running socks",
                        "category": "accessories",
                        "quantity": 1,
                        "unit_price": "14.00",
                    },
                ],
            },
        ),
        interaction(
            "nps-1",
            type_="survey",
            customer={"email": ANN["email"]},
            occurred_at=ago(days=1),
            data={"kind": "nps", "score": 9, "comment": "Great shoes, slow delivery"},
        ),
    ]
    channel_of = {
        "mail-1": "email",
        "mail-2": "email",
        "chat-1": "chat",
        "call-1": "phone",
        "order-1": "store",
        "nps-1": "email",
    }
    for item in items:
        response = post_generic(client, sources[channel_of[item["external_id"]]], item)
        assert response.status_code == 202, response.json
    run_jobs()
    db.session.expire_all()
    owner = db.session.scalar(select(Identifier).where(Identifier.kind == "email", Identifier.value == ANN["email"]))
    return db.session.get(Customer, owner.customer_id)


def _line(sku: str, name: str, category: str, price: str) -> dict:
    return {"sku": sku, "name": name, "category": category, "quantity": 1, "unit_price": price}


SHOES = _line("TRL-SHOE-01", "Trail running shoes", "footwear", "119.00")
TENT = _line("TNT-2P-22", "Two-person tent", "camping", "299.00")


def shoppers(client, run_jobs) -> dict[str, int]:
    """Five people: who emailed, who chatted, who bought shoes or a tent. Their customer ids by name."""
    email, store, chat = (make_source(channel=ch) for ch in ("email", "store", "chat"))
    people = {
        "Bea Shoes-and-mail": {"mail": True, "buys": SHOES},
        "Cy Mail-only": {"mail": True},
        "Di Shoes-only": {"buys": SHOES},
        "Ed Tent-and-mail": {"mail": True, "buys": TENT},
        "Flo Chat-only": {"chat": True},
    }
    batches: dict = {email: [], store: [], chat: []}
    for n, (name, does) in enumerate(people.items()):
        who = {"email": f"shopper{n}@example.com", "name": name}
        if does.get("mail"):
            batches[email].append(interaction(f"m-{n}", customer=who, occurred_at=ago(days=20 - n), subject="Sizes?"))
        if does.get("chat"):
            batches[chat].append(interaction(f"c-{n}", customer=who, occurred_at=ago(days=15), text="Open on Sunday?"))
        if does.get("buys"):
            line = does["buys"]
            data = {"order_number": f"20{n:03d}", "currency": "USD", "total": line["unit_price"], "items": [line]}
            batches[store].append(
                interaction(f"o-{n}", type_="purchase", customer=who, occurred_at=ago(days=10 - n), data=data)
            )
    for source, items in batches.items():
        assert post_generic(client, source, {"interactions": items}).status_code == 202
    run_jobs()
    db.session.expire_all()
    found = db.session.execute(select(Customer.id, Customer.display_name).where(Customer.status == "active"))
    return {row.display_name: row.id for row in found}


HOME = {"line1": "1 High St", "city": "London", "postcode": "N1 9GU", "country": "GB"}


def two_ann_lees(client, run_jobs) -> tuple[int, int]:
    """The same Ann twice: one email address has a typo, so nothing links them but a person's judgement."""
    source = make_source(channel="email")
    for n, email in enumerate(("ann.lee@example.com", "ann.lee@exmaple.com")):
        who = {"email": email, "name": "Ann Lee", "attributes": {"address": HOME}}
        assert (
            post_generic(client, source, interaction(f"ann-{n}", customer=who, occurred_at=ago(days=3 - n))).status_code
            == 202
        )
    run_jobs()
    db.session.expire_all()
    older, newer = sorted(c.id for c in db.session.query(Customer).all())
    return older, newer
