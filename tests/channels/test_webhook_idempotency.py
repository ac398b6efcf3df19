"""Providers retry, and retries race: however many copies of a delivery arrive, one after another or all
at once, one interaction is stored and every copy gets a 2xx with the same id."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from crm.extensions import db
from crm.profiles.models import Customer, Interaction
from tests.channels import deliver
from tests.channels.deliver import interaction_count
from tests.channels.test_adapters_mailgun import route_post
from tests.channels.test_adapters_shopify import order
from tests.channels.test_adapters_twilio import callback
from tests.factories import interaction, make_source

PROVIDERS = [("generic", "chat"), ("mailgun", "email"), ("twilio", "phone"), ("shopify", "store")]


def _one_delivery(source, base_url: str = deliver.TEST_CLIENT_BASE) -> deliver.Delivery:
    if source.provider == "generic":
        return deliver.generic(source, interaction("retried-1", customer={"email": "kim@example.com"}, text="hello"))
    if source.provider == "mailgun":
        return deliver.mailgun(source, {k: v for k, v in route_post().items() if k not in ("timestamp", "token")})
    if source.provider == "twilio":
        return deliver.twilio(source, callback(), base_url=base_url)
    return deliver.shopify(source, order())


def _at_once(count: int, send) -> list:
    """Run send(n) from `count` threads released together, so the requests overlap in the database."""
    barrier = threading.Barrier(count)

    def go(n: int):
        barrier.wait()
        return send(n)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(go, range(count)))


@pytest.mark.parametrize(("provider", "channel"), PROVIDERS)
def test_ten_deliveries_in_a_row_leave_one_interaction(app, client, provider, channel):
    source = make_source(channel=channel, provider=provider)
    delivery = _one_delivery(source)
    answers = [deliver.post(client, delivery) for _ in range(10)]
    assert [a.status_code for a in answers] == [202] + [200] * 9
    (first_id,) = answers[0].json["accepted"]
    assert all(a.json["ids"] == [first_id] for a in answers)
    assert all(a.json["replayed"] == [first_id] for a in answers[1:])
    assert interaction_count() == 1


@pytest.mark.parametrize(("provider", "channel"), PROVIDERS)
def test_ten_deliveries_at_once_leave_one_interaction_and_all_get_a_2xx(app, live_server, provider, channel):
    source = make_source(channel=channel, provider=provider)
    delivery = _one_delivery(source, base_url=live_server)
    answers = _at_once(10, lambda _: deliver.post_live(live_server, delivery))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * 9 + [202], [a.text for a in answers]
    assert len({tuple(a.json()["ids"]) for a in answers}) == 1, "every copy names the same interaction"
    assert interaction_count() == 1


def test_overlapping_batches_at_once_store_each_interaction_once_without_deadlock(app, live_server):
    source = make_source(channel="store")
    size, rounds = 300, 4
    for round_ in range(rounds):
        ids = [f"r{round_}-{n:04d}" for n in range(size + 1)]
        # The same rows in opposite orders: inserted in request order, two transactions would each hold
        # a row the other one waits for.
        forward = {"interactions": [interaction(e) for e in ids[:size]]}
        backward = {"interactions": [interaction(e) for e in reversed(ids[1:])]}
        signed = [deliver.generic(source, body) for body in (forward, backward, forward, backward)]
        answers = _at_once(4, lambda n, d=signed: deliver.post_live(live_server, d[n]))
        assert all(a.status_code in (200, 202) for a in answers), [a.text[:300] for a in answers]
        accepted = [i for a in answers for i in a.json()["accepted"]]
        assert len(accepted) == len(set(accepted)) == size + 1, "each interaction accepted by exactly one request"
    assert interaction_count() == rounds * (size + 1)


def test_a_batch_delivered_again_with_more_in_it_stores_only_the_new_ones(app, client, run_jobs):
    source = make_source(channel="store")
    first = [interaction(f"o-{n}", customer={"email": "lee@example.com"}) for n in range(3)]
    assert deliver.post(client, deliver.generic(source, {"interactions": first})).status_code == 202
    more = first + [interaction("o-3", customer={"email": "lee@example.com"})]
    answers = [deliver.post(client, deliver.generic(source, {"interactions": more})) for _ in range(10)]
    assert [a.status_code for a in answers] == [202] + [200] * 9
    assert len(answers[0].json["accepted"]) == 1 and len(answers[0].json["replayed"]) == 3
    run_jobs()
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Interaction)) == 4
    (customer,) = db.session.scalars(select(Customer).where(Customer.status == "active"))
    assert customer.interaction_count == 4
