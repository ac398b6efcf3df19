"""A marketer at the browser: builds a segment from two conditions with the count live as rules change
(the same count the API gives), saves it, reads its members and exports them."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from tests.conftest import MODE, wait_for
from tests.factories import auth, make_user
from tests.web.browsing import check_page, log_in
from tests.web.scenes import shoppers

pytestmark = pytest.mark.browser

EMAILED = {"condition": "interactions", "channel": "email", "op": "gte", "value": 1}
BOUGHT_SHOES = {"condition": "bought", "category": "footwear"}


def api_count(client, token: str, rule: dict) -> int:
    response = client.post("/api/v1/segments/preview", json={"rule": rule}, headers=auth(token))
    assert response.status_code == 200, response.json
    return response.json["count"]


def shown_rule(page, expected: dict) -> dict:
    """Wait until the live count was computed for `expected`: the count element names its rule."""

    def current():
        raw = page.locator("#live-count").get_attribute("data-rule")
        return raw is not None and json.loads(raw) == expected

    wait_for(current, timeout=10, interval=0.05, message=f"the live count of {expected}")
    return expected


def test_a_marketer_builds_a_two_condition_segment_and_the_live_count_is_the_apis(page, client, app, run_jobs):
    people = shoppers(client, run_jobs)
    marketer, token = make_user("marketer", email="morgan@shop.example")
    previews: list[str] = []
    page.on("request", lambda r: previews.append(r.url) if r.url.endswith("/api/v1/segments/preview") else None)
    log_in(page, marketer.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Segments").click()
    page.get_by_role("link", name="New segment").click()
    page.get_by_label("Name").fill("Emailed and bought shoes")

    first = page.locator("#cond-1")
    first.get_by_label("on channel").select_option("email")
    shown_rule(page, {"all": [EMAILED]})
    assert page.locator("#live-count").inner_text() == str(api_count(client, token, {"all": [EMAILED]})) == "3"

    page.get_by_role("button", name="Add condition").click()
    second = page.locator("#cond-2")
    second.get_by_label("Condition 2", exact=True).select_option(label="Bought from a category")
    before = len(previews)
    second.get_by_label("category").press_sequentially("footwear", delay=30)
    shown_rule(page, {"all": [EMAILED, BOUGHT_SHOES]})
    expected = api_count(client, token, {"all": [EMAILED, BOUGHT_SHOES]})
    assert page.locator("#live-count").inner_text() == str(expected) == "1"
    assert len(previews) - before <= 3, f"typing 8 letters asked for {len(previews) - before} previews: not debounced"
    expect(page.locator("#sample")).to_contain_text("Bea Shoes-and-mail")
    expect(page.get_by_role("list", name="By channel")).to_be_visible()
    check_page(page, "segment-builder", keyboard_targets=["Add condition", "Save segment"])

    page.get_by_role("button", name="Save segment").click()
    page.wait_for_url(re.compile(r"/segments/\d+$"))
    if MODE == "full":
        run_jobs()  # the refresh job works the members out
        page.reload()
    members = page.get_by_role("region", name="Members")
    expect(members).to_contain_text("Bea Shoes-and-mail")
    assert members.locator("tbody tr").count() == 1
    check_page(page, "segment")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    csv = open(download.value.path(), encoding="utf-8").read()
    assert "shopper0@example.com" in csv and "shopper1@example.com" not in csv
    page.get_by_role("link", name="← All segments").click()
    expect(page.get_by_role("row", name=re.compile("Emailed and bought shoes"))).to_contain_text("1")
    check_page(page, "segments")
    assert people["Bea Shoes-and-mail"]


def test_removing_a_condition_brings_the_count_back(page, client, run_jobs):
    shoppers(client, run_jobs)
    marketer, token = make_user("marketer")
    log_in(page, marketer.email)
    page.goto("/segments/new")
    page.locator("#cond-1").get_by_label("on channel").select_option("email")
    page.get_by_role("button", name="Add condition").click()
    page.locator("#cond-2").get_by_label("Condition 2", exact=True).select_option(label="Latest NPS")
    page.locator("#cond-2").get_by_label("category").select_option("detractor")
    shown_rule(page, {"all": [EMAILED, {"condition": "nps", "category": "detractor"}]})
    assert page.locator("#live-count").inner_text() == "0"
    page.get_by_role("button", name="Remove condition 2").click()
    shown_rule(page, {"all": [EMAILED]})
    assert page.locator("#live-count").inner_text() == str(api_count(client, token, {"all": [EMAILED]}))
    page.get_by_label("any of them").check()
    page.get_by_role("button", name="Add condition").click()
    page.locator("#cond-3").get_by_label("Condition 3", exact=True).select_option(label="Bought from a category")
    page.locator("#cond-3").get_by_label("category").fill("camping")
    any_rule = {"any": [EMAILED, {"condition": "bought", "category": "camping"}]}
    shown_rule(page, any_rule)
    assert page.locator("#live-count").inner_text() == str(api_count(client, token, any_rule)) == "3"


def test_a_saved_segment_opens_in_the_builder_as_its_rows_or_as_json(page, client, run_jobs):
    shoppers(client, run_jobs)
    marketer, token = make_user("marketer")
    flat = {"any": [EMAILED, {"not": BOUGHT_SHOES}]}
    nested = {"all": [EMAILED, {"any": [BOUGHT_SHOES, {"condition": "bought", "category": "camping"}]}]}
    ids = [
        client.post("/api/v1/segments", json={"name": name, "rule": rule}, headers=auth(token)).json["id"]
        for name, rule in (("Flat", flat), ("Nested", nested))
    ]
    log_in(page, marketer.email)
    page.goto(f"/segments/{ids[0]}/edit")
    expect(page.get_by_label("any of them")).to_be_checked()
    expect(page.locator("#cond-2").get_by_label("exclude those who match")).to_be_checked()
    expect(page.locator("#cond-2").get_by_label("category")).to_have_value("footwear")
    shown_rule(page, flat)
    page.get_by_label("Name").fill("Flat, renamed")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(re.compile(rf"/segments/{ids[0]}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Flat, renamed")

    page.goto(f"/segments/{ids[1]}/edit")
    editor = page.get_by_label("Rule (JSON)")
    expect(editor).to_be_visible()
    shown_rule(page, nested)
    assert page.locator("#live-count").inner_text() == str(api_count(client, token, nested))
    editor.fill(json.dumps({"all": [EMAILED]}))
    shown_rule(page, {"all": [EMAILED]})


def test_a_segment_past_the_streaming_limit_exports_by_a_job_with_its_progress(page, app, client, run_jobs):
    shoppers(client, run_jobs)
    marketer, token = make_user("marketer")
    created = client.post("/api/v1/segments", json={"name": "Emailed", "rule": {"all": [EMAILED]}}, headers=auth(token))
    run_jobs()
    app.config["SEGMENT_EXPORT_STREAM_MAX"] = 2  # three members: past it
    try:
        log_in(page, marketer.email)
        page.goto(f"/segments/{created.json['id']}")
        page.get_by_role("button", name="Export CSV").click()
        # The job is queued once its progress shows ("0 of 3 members written (queued)"; inline: done already).
        expect(page.locator("#export-status")).to_contain_text("members")
        run_jobs()  # full mode: the export job, on rq, while the page polls its progress
        link = page.get_by_role("link", name="Download the CSV")
        expect(link).to_be_visible(timeout=30_000)
        expect(page.locator("#export-status")).to_contain_text("Ready: 3 members.")
        with page.expect_download() as download:
            link.click()
        csv = open(download.value.path(), encoding="utf-8").read()
        assert all(f"shopper{n}@example.com" in csv for n in (0, 1, 3))
    finally:
        app.config["SEGMENT_EXPORT_STREAM_MAX"] = 10_000
