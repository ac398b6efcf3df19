"""Rebuilding the index while agents search and channels keep writing; comparing it with the database."""

from __future__ import annotations

import threading

import pytest

from crm.search import check, drain, elastic
from crm.search.reindex import rebuild
from tests.conftest import IsolatedClient
from tests.factories import auth, interaction, make_source, make_user, post_generic
from tests.search.people import ago, build, customer_of

QUERIES = ["Sam Taylor", "zoe.unal@example.com", "(415) 555-0132", "received refund", "#10023", "crowd member 7", "zo"]


def _found(body: dict) -> list[tuple[str, int]]:
    return [(i["kind"], i["id"]) for i in body["items"]]


def _crowd(client, run_jobs, count: int) -> None:
    """More customers, so that the rebuild takes long enough for searches to land in every phase of it."""
    source = make_source(channel="chat")
    items = [
        interaction(
            f"crowd-{n}",
            customer={"email": f"crowd{n}@example.com", "name": f"Crowd Member {n}"},
            occurred_at=ago(n % 30),
        )
        for n in range(count)
    ]
    assert post_generic(client, source, {"interactions": items}).status_code == 202
    run_jobs()


class SearchLoop(threading.Thread):
    """An agent searching over and over on a client of its own, noting every answer that is not the one expected."""

    def __init__(self, app, headers: dict, expected: dict[str, list]):
        super().__init__(daemon=True)
        app.test_client_class = IsolatedClient
        self.client, self.headers, self.expected = app.test_client(), headers, expected
        self.stop, self.failures, self.searches = threading.Event(), [], 0

    def run(self) -> None:
        while not self.stop.is_set():
            for q, wanted in self.expected.items():
                response = self.client.get("/api/v1/search", query_string={"q": q}, headers=self.headers)
                self.searches += 1
                if response.status_code != 200:
                    self.failures.append((q, response.status_code, response.json))
                elif _found(response.json) != wanted:
                    self.failures.append((q, "different results", _found(response.json)))


@pytest.mark.services
def test_a_rebuild_while_agents_search_fails_no_search_and_finds_the_same_afterwards(app, client, run_jobs):
    build(client, run_jobs)
    _crowd(client, run_jobs, 120)
    headers = auth(make_user("agent")[1])
    before = {q: _found(client.get("/api/v1/search", query_string={"q": q}, headers=headers).json) for q in QUERIES}
    assert all(before.values())
    old = set(elastic.client().indices.get_alias(name=elastic.alias("customer")).keys())
    loop = SearchLoop(app, headers, before)
    loop.start()
    try:
        report = rebuild(batch=20, grace_s=1.0, progress=False)
    finally:
        loop.stop.set()
        loop.join(30)
    assert loop.failures == []
    assert loop.searches >= 2 * len(QUERIES)
    after = {q: _found(client.get("/api/v1/search", query_string={"q": q}, headers=headers).json) for q in QUERIES}
    assert after == before
    live = set(elastic.client().indices.get_alias(name=elastic.alias("customer")).keys())
    assert live == {report.indices["customer"]} and not (live & old)
    assert not elastic.client().indices.exists(index=",".join(old))


@pytest.mark.services
def test_changes_made_while_a_rebuild_runs_are_in_the_new_index(app, client, run_jobs):
    from crm.profiles.privacy import erase_customer

    people = build(client, run_jobs)
    store, email = make_source(channel="store"), make_source(channel="email")

    def meanwhile(phase: str) -> None:
        if phase != "loaded customers":
            return
        # Customers the build has read already change, are erased, and new ones arrive.
        zoe = {"email": "zoe.unal@example.com", "phone": "+1 415 555 0177"}
        post_generic(
            client, store, interaction("late-zoe", type_="purchase", customer=zoe, data={"order_number": "#777"})
        )
        post_generic(
            client, email, interaction("late-nia", customer={"email": "nia@example.com", "name": "Nia Newcomer"})
        )
        run_jobs()
        erase_customer(people.ids["ann"], "admin@test")
        run_jobs()

    rebuild(batch=2, grace_s=0, progress=False, on_phase=meanwhile)
    headers = auth(make_user("agent")[1])

    def customers(q):
        body = client.get("/api/v1/search", query_string={"q": q}, headers=headers).json
        return [i["id"] for i in body["items"] if i["kind"] == "customer"]

    assert customers("(415) 555-0177") == [people.ids["zoe"]]
    assert customers("#777") == [people.ids["zoe"]]
    assert customers("Nia Newcomer") == [customer_of("email", "nia@example.com")]
    assert customers("ann.lee@example.org") == []
    assert all(r.differences == 0 for r in check.compare_all(elastic.client(), elastic.alias))


@pytest.mark.services
def test_the_cli_rebuilds_reports_counts_and_check_finds_no_difference(app, client, run_jobs):
    build(client, run_jobs)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["search", "reindex", "--grace", "0"])
    assert result.exit_code == 0, result.output
    assert "customers: 6 documents" in result.output and "aliases swapped" in result.output
    result = runner.invoke(args=["search", "check"])
    assert result.exit_code == 0, result.output
    assert "customers: 6 in the database, 6 in the index" in result.output
    assert "no differences" in result.output


@pytest.mark.services
def test_check_names_missing_extra_and_stale_ids_exits_1_and_repair_fixes_them(app, client, run_jobs):
    people = build(client, run_jobs)
    es = elastic.client()
    es.delete(index=elastic.alias("customer", "write"), id=str(people.ids["bob"]), refresh=True)
    es.index(
        index=elastic.alias("customer", "write"),
        id="999999",
        document={"entity": "customer", "id": 999999},
        refresh=True,
    )
    runner = app.test_cli_runner()
    result = runner.invoke(args=["search", "check"])
    assert result.exit_code == 1
    assert f"1 missing from the index: {people.ids['bob']}" in result.output
    assert "1 in the index only: 999999" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(args=["search", "check", "--repair"])
    assert "queued 2 ids for the drain" in result.output
    drain()
    assert runner.invoke(args=["search", "check"]).exit_code == 0


@pytest.mark.services
def test_a_second_rebuild_is_refused_while_one_runs_and_force_takes_over(app, client, run_jobs):
    build(client, run_jobs)
    es = elastic.client()
    elastic.ensure_indices()
    dead = f"{elastic.prefix()}-customers-v0-dead"
    es.indices.create(index=dead)
    es.indices.put_alias(index=dead, name=elastic.alias("customer", "rebuild"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["search", "reindex", "--grace", "0"])
    assert result.exit_code == 1 and "already running" in result.output and "--force" in result.output
    result = runner.invoke(args=["search", "reindex", "--grace", "0", "--force"])
    assert result.exit_code == 0, result.output
    assert not es.indices.exists(index=dead)


@pytest.mark.services
def test_reindex_with_elasticsearch_unreachable_says_so_without_a_traceback(app):
    url = app.config["ELASTICSEARCH_URL"]
    app.config["ELASTICSEARCH_URL"] = "http://127.0.0.1:1"
    app.extensions.pop("crm.es", None)
    try:
        result = app.test_cli_runner().invoke(args=["search", "reindex"])
    finally:
        app.config["ELASTICSEARCH_URL"] = url
        app.extensions.pop("crm.es", None)
    assert result.exit_code == 1
    assert "Elasticsearch did not answer" in result.output and "Traceback" not in result.output


def test_index_commands_without_elasticsearch_explain_that_search_is_served_from_the_database(app, monkeypatch):
    monkeypatch.setitem(app.config, "ELASTICSEARCH_URL", None)
    for command in (["search", "check"], ["search", "reindex"], ["search", "lag"]):
        result = app.test_cli_runner().invoke(args=command)
        assert result.exit_code == 1 and "served from the database" in result.output
