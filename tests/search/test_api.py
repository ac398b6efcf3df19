"""GET /api/v1/search as an API client meets it: authentication, clear 422s, the OpenAPI entry, scopes,
and an answer from the database when Elasticsearch cannot give one."""

from __future__ import annotations

import pytest

from tests.factories import auth, interaction, make_source, make_user, post_generic


@pytest.fixture
def agent(app):
    return auth(make_user("agent")[1])


def test_search_needs_a_token_and_every_role_may_search(app, client):
    assert client.get("/api/v1/search?q=ann").status_code == 401
    for role in ("agent", "marketer", "admin"):
        response = client.get("/api/v1/search?q=ann", headers=auth(make_user(role)[1]))
        assert response.status_code == 200, (role, response.json)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "x" * 201}, "q"),
        ({"q": "ann", "scope": "everything"}, "scope"),
        ({"q": "ann", "channel": "email,fax"}, "channel"),
        ({"q": "ann", "per_page": "500"}, "per_page"),
        ({"q": "ann", "page": "0"}, "page"),
        ({"q": "ann", "page": "11", "per_page": "100"}, "page"),
        ({"q": "ann", "since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "since"),
        ({"q": "ann", "since": "yesterday"}, "since"),
        ({"q": "ann", "segment": "abc"}, "segment"),
    ],
)
def test_bad_parameters_get_a_422_naming_the_field(client, agent, params, field):
    response = client.get("/api/v1/search", query_string=params, headers=agent)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert field in response.json["errors"]


def test_scope_limits_the_answer_to_customers_or_interactions(app, client, run_jobs, agent):
    source = make_source(channel="email")
    item = interaction("s-1", customer={"email": "rae@example.com", "name": "Rae Refund"}, subject="Refund please")
    assert post_generic(client, source, item).status_code == 202
    run_jobs()
    both = client.get("/api/v1/search", query_string={"q": "refund"}, headers=agent).json
    assert sorted(i["kind"] for i in both["items"]) == ["customer", "interaction"]
    for scope, kind in (("customers", "customer"), ("interactions", "interaction")):
        body = client.get("/api/v1/search", query_string={"q": "refund", "scope": scope}, headers=agent).json
        assert [i["kind"] for i in body["items"]] == [kind]


def test_the_openapi_document_describes_the_search_parameters_and_answer(client):
    spec = client.get("/api/v1/openapi.json").json
    operation = spec["paths"]["/search"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"q", "scope", "channel", "since", "until", "segment", "page", "per_page"} <= names
    assert "422" in operation["responses"] and "401" in operation["responses"]


def test_with_elasticsearch_unreachable_the_answer_comes_from_the_database(app, client, run_jobs, agent, monkeypatch):
    source = make_source(channel="email")
    assert (
        post_generic(
            client, source, interaction("f-1", customer={"email": "fay@example.com", "name": "Fay Wray"})
        ).status_code
        == 202
    )
    run_jobs()
    monkeypatch.setitem(app.config, "ELASTICSEARCH_URL", "http://127.0.0.1:1")
    app.extensions.pop("crm.es", None)
    try:
        response = client.get("/api/v1/search", query_string={"q": "fay wray"}, headers=agent)
    finally:
        app.extensions.pop("crm.es", None)
    assert response.status_code == 200
    body = response.json
    assert body["backend"] == "sql"
    assert body["notes"] == ["Elasticsearch is unavailable: answered from the database"]
    assert body["items"][0]["customer"]["display_name"] == "Fay Wray"


@pytest.mark.parametrize("q", ["!!!", "#", "@", "%_%", "a"])
def test_punctuation_or_a_single_letter_before_anything_is_indexed_gives_an_empty_answer(client, agent, q):
    response = client.get("/api/v1/search", query_string={"q": q}, headers=agent)
    assert response.status_code == 200, response.json
    assert response.json["items"] == [] and response.json["next_page"] is None
