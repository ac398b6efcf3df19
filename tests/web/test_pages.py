"""Pages at their edges, through the test client: search without script, bad addresses, bad input."""

from __future__ import annotations

import pytest

from tests.factories import make_user
from tests.web.scenes import ann_on_four_channels


def log_in(client, role: str = "agent"):
    user, _ = make_user(role)
    client.post("/login", data={"email": user.email, "password": "password123"})
    return user


def test_search_without_script_renders_the_results_on_the_server(app, client, run_jobs):
    ann = ann_on_four_channels(client, run_jobs)
    log_in(client)
    page = client.get("/search?q=ann+lee").text
    assert f'href="/customers/{ann.id}"' in page
    assert "<em>Ann</em> <em>Lee</em>" in page, "the matching words are marked"
    assert "1 customer and" in page


def test_search_escapes_what_was_typed(client):
    log_in(client)
    page = client.get("/search?q=%3Cscript%3Ealert(1)%3C/script%3E").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_cursor_that_was_not_given_out_gets_a_clear_422_page(app, client, run_jobs):
    ann = ann_on_four_channels(client, run_jobs)
    log_in(client)
    response = client.get(f"/customers/{ann.id}?cursor=not-a-cursor")
    assert response.status_code == 422
    assert "cursor is not one this API gave out" in response.text


def test_an_unknown_address_gets_the_not_found_page_and_the_api_a_problem(client):
    log_in(client)
    page = client.get("/no/such/page")
    assert page.status_code == 404 and "There is no page at this address." in page.text
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.mimetype == "application/problem+json"


@pytest.mark.parametrize("target", ["//evil.example/steal", "/\\evil.example", "https://evil.example/"])
def test_login_never_redirects_to_another_site(client, target):
    user, _ = make_user("agent")
    response = client.post(
        "/login", query_string={"next": target}, data={"email": user.email, "password": "password123"}
    )
    assert response.headers["Location"] == "/"


def test_login_goes_back_to_the_page_that_asked_for_it(client):
    user, _ = make_user("agent")
    response = client.post("/login?next=/search%3Fq%3Dann", data={"email": user.email, "password": "password123"})
    assert response.headers["Location"] == "/search?q=ann"


def test_the_dashboard_says_which_filter_was_wrong(client):
    log_in(client, "marketer")
    response = client.get("/dashboard?since=2026-05-01&until=2026-04-01")
    assert response.status_code == 400
    assert "must be before the until day" in response.text
    assert client.get("/dashboard?period=year").status_code == 400


def test_the_builder_offers_every_journey_stage_and_the_other_segments(client):
    log_in(client, "marketer")
    page = client.get("/segments/new").text
    for stage in ("awareness", "first purchase", "at risk", "lapsed"):
        assert stage in page
