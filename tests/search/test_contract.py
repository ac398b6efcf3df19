"""The search contract, one suite for both backends: what an agent typing into the search box gets.

Every test runs on Elasticsearch (full mode) and on the SQL backend (PostgreSQL in full mode, SQLite
in embedded mode). Ranking within a tier may differ between them; which customers an identifier
finds may not, so identifier tests compare the exact set of customers found.
"""

from __future__ import annotations

import pytest

from crm.extensions import db
from crm.segments.models import Segment, SegmentMember
from tests.factories import auth, make_user
from tests.search.people import ago, build


@pytest.fixture(params=[pytest.param("elasticsearch", marks=pytest.mark.services), "sql"])
def backend(request, app, monkeypatch):
    if request.param == "sql":
        # Without ELASTICSEARCH_URL the app answers from the tables (and writes no outbox rows).
        monkeypatch.setitem(app.config, "ELASTICSEARCH_URL", None)
    return request.param


@pytest.fixture
def people(backend, app, client, run_jobs):
    return build(client, run_jobs)


@pytest.fixture
def agent(app):
    return auth(make_user("agent")[1])


def find(client, headers, q, **params) -> dict:
    response = client.get("/api/v1/search", query_string={"q": q, **params}, headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def customers(body) -> list[int]:
    return [item["id"] for item in body["items"] if item["kind"] == "customer"]


def interactions(body) -> list[int]:
    return [item["id"] for item in body["items"] if item["kind"] == "interaction"]


def test_the_answer_says_which_backend_served_it(backend, people, client, agent):
    assert find(client, agent, "zoe")["backend"] == backend


def test_an_exact_email_finds_exactly_its_owner(people, client, agent):
    body = find(client, agent, "Zoe.Unal@Example.com")
    assert customers(body) == [people.ids["zoe"]]
    assert body["items"][0]["highlight"]["identifiers"][0]["value"] == "zoe.unal@example.com"


@pytest.mark.parametrize(
    "written", ["+1 415 555 0132", "(415) 555-0132", "415.555.0132", "001 415 555 0132", "555-0132"]
)
def test_a_phone_in_any_format_finds_its_owner_and_not_the_same_exchange(people, client, agent, written):
    assert customers(find(client, agent, written)) == [people.ids["zoe"]]


@pytest.mark.parametrize("written", ["+44 20 7946 0958", "020 7946 0958", "0044 20 7946 0958", "7946 0958"])
def test_a_foreign_phone_is_found_written_nationally_or_internationally(people, client, agent, written):
    assert customers(find(client, agent, written)) == [people.ids["bob"]]


@pytest.mark.parametrize(
    ("written", "person"), [("L-1234", "zoe"), ("l1234", "zoe"), ("@AnnLee", "ann"), ("cus_AbC1", "bob")]
)
def test_loyalty_ids_chat_handles_and_provider_ids_find_their_owner(people, client, agent, written, person):
    assert customers(find(client, agent, written)) == [people.ids[person]]


def test_an_order_number_finds_the_customer_and_the_purchase_first(people, client, agent):
    for written in ("#10023", "10023"):
        body = find(client, agent, written)
        assert customers(body) == [people.ids["zoe"]]
        first_interaction = next(i for i in body["items"] if i["kind"] == "interaction")
        assert first_interaction["interaction"]["order_number"] == "#10023"
        assert first_interaction["highlight"]["order_number"] == ["<em>#10023</em>"]
    assert customers(find(client, agent, "so-77")) == [people.ids["bob"]]


@pytest.mark.parametrize(
    ("written", "persons"),
    [("zoe.unal@", ["zoe"]), ("unal@example.com", ["zoe"]), ("@example.net", ["sam_b", "zora"]), ("ann.lee", ["ann"])],
)
def test_a_partial_email_finds_the_addresses_that_start_or_end_with_it(people, client, agent, written, persons):
    found = customers(find(client, agent, written))
    assert sorted(found) == sorted(people.ids[p] for p in persons)


def test_a_partial_name_finds_everyone_it_starts_most_recently_active_first(people, client, agent):
    assert customers(find(client, agent, "Zo")) == [people.ids["zoe"], people.ids["zora"]]
    assert customers(find(client, agent, "zoe un")) == [people.ids["zoe"]]
    # Zoë by her name; then Zora, whose address xzoe.unal@ has the word too (identifiers are searchable text).
    assert customers(find(client, agent, "Ünal")) == [people.ids["zoe"], people.ids["zora"]]


@pytest.mark.parametrize(
    ("written", "person"), [("Zeo Unal", "zoe"), ("Ann Lea", "ann"), ("O'Brian", "bob"), ("obrien smith", "bob")]
)
def test_a_name_with_one_typo_or_without_its_apostrophe_still_finds_the_person(people, client, agent, written, person):
    body = find(client, agent, written)
    assert customers(body)[:1] == [people.ids[person]]
    assert "<em>" in body["items"][0]["highlight"]["name"]


def test_an_exact_name_outranks_a_typo_and_equal_names_come_most_recent_first(people, client, agent):
    assert customers(find(client, agent, "Sam Taylor")) == [people.ids["sam_b"], people.ids["sam_a"]]
    body = find(client, agent, "Sam Tayler")
    assert customers(body) == [people.ids["sam_b"], people.ids["sam_a"]]
    assert body["items"][0]["score"] < find(client, agent, "Sam Taylor")["items"][0]["score"]


def test_a_phrase_finds_the_message_and_its_words_in_any_order_rank_below(people, client, agent):
    body = find(client, agent, "refund not received")
    assert customers(body) == []
    (hit,) = body["items"]
    assert hit["interaction"]["subject"] == "Refund not received"
    assert hit["highlight"]["subject"] == ["<em>Refund not received</em>"]
    loose = find(client, agent, "received refund")
    assert [i["interaction"]["channel"] for i in loose["items"]] == ["chat", "email"]  # equal tier: newest first
    assert loose["total"] == {"customers": 0, "interactions": 2}


def test_filters_by_channel_date_range_and_segment(people, backend, client, agent):
    assert [i["interaction"]["channel"] for i in find(client, agent, "received refund", channel="chat")["items"]] == [
        "chat"
    ]
    assert len(find(client, agent, "received refund", since=ago(2.5).isoformat())["items"]) == 1
    assert customers(find(client, agent, "Sam Taylor", since=ago(5).isoformat())) == [people.ids["sam_b"]]
    assert customers(find(client, agent, "zo", channel="store")) == [people.ids["zoe"]]
    segment = _segment_of([people.ids["sam_a"]], backend)
    assert customers(find(client, agent, "Sam Taylor", segment=segment)) == [people.ids["sam_a"]]
    shipped = find(client, agent, "ship to", segment=segment)
    assert [i["interaction"]["customer_id"] for i in shipped["items"] if i["kind"] == "interaction"] == [
        people.ids["sam_a"]
    ]


def _segment_of(customer_ids: list[int], backend: str) -> int:
    from crm.search import drain, record_change

    segment = Segment(name="Canada shippers", kind="static", rule={})
    db.session.add(segment)
    db.session.flush()
    for cid in customer_ids:
        db.session.add(SegmentMember(segment_id=segment.id, customer_id=cid))
        record_change("customer", cid)
    db.session.commit()
    if backend == "elasticsearch":
        drain()
    return segment.id


def test_pages_follow_the_ranking_and_stop_at_the_end(people, client, agent):
    first = find(client, agent, "Sam Taylor", per_page=1)
    assert customers(first) == [people.ids["sam_b"]] and first["next_page"] == 2
    second = find(client, agent, "Sam Taylor", per_page=1, page=2)
    assert customers(second) == [people.ids["sam_a"]] and second["next_page"] is None
    assert first["total"]["customers"] == 2


def test_nothing_matching_gives_an_empty_page_not_an_error(people, client, agent):
    body = find(client, agent, "xylophone quartet")
    assert body["items"] == [] and body["total"] == {"customers": 0, "interactions": 0}


def test_paging_one_by_one_through_a_mixed_answer_gives_the_order_of_one_page(people, client, agent):
    whole = [(i["kind"], i["id"]) for i in find(client, agent, "10023", per_page=50)["items"]]
    assert [k for k, _ in whole] == ["customer", "interaction", "interaction"]
    paged, page = [], 1
    while page:
        body = find(client, agent, "10023", per_page=1, page=page)
        paged += [(i["kind"], i["id"]) for i in body["items"]]
        page = body["next_page"]
    assert paged == whole
