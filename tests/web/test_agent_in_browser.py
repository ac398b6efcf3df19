"""An agent at the browser: searches as they type, opens the customer, reads all four channels and the
personalization panel, writes a note that lands on the timeline, resolves a case."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import MODE
from tests.factories import make_user
from tests.web.browsing import check_page, log_in
from tests.web.scenes import ann_on_four_channels

pytestmark = pytest.mark.browser


@pytest.fixture
def ann(app, client, run_jobs):
    return ann_on_four_channels(client, run_jobs)


def test_an_agent_finds_ann_as_they_type_and_reads_her_whole_story(page, ann, worker_process):
    agent, _ = make_user("agent", email="alex@shop.example")
    log_in(page, agent.email)
    page.get_by_role("link", name="Search", exact=True).first.click()
    box = page.get_by_label("Name, email, phone, order number or words from a message")
    box.press_sequentially("ann le", delay=40)
    hit = page.locator("#search-results").get_by_role("link", name=re.compile("Ann Lee"))
    expect(hit.first).to_be_visible()
    assert "/search?q=ann+le" in page.url or "q=ann%20le" in page.url or "q=ann+le" in page.url
    check_page(page, "search", keyboard_targets=["q", "Search"])

    hit.first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ann Lee")
    timeline = page.get_by_role("list", name="Interactions, newest first")
    channels = set(timeline.locator("li.entry").evaluate_all("items => items.map(i => i.dataset.channel)"))
    assert {"email", "chat", "phone", "store"} <= channels
    expect(timeline).to_contain_text("Where is my order?")  # the email
    expect(timeline.get_by_role("list", name="Chat transcript")).to_contain_text("It ships tomorrow.")
    expect(timeline).to_contain_text("4 min 05 s")  # the call
    expect(timeline.get_by_role("table", name="Order lines")).to_contain_text("Merino running socks")
    panel = page.locator("#personalization")
    expect(panel.get_by_role("heading", name="Context and next best actions")).to_be_visible()
    expect(panel.locator(".summary")).not_to_be_empty()
    expect(panel.get_by_role("heading", name="Next best actions", exact=True)).to_be_visible()
    expect(panel.get_by_role("heading", name="Recommended products")).to_be_visible()
    check_page(page, "customer", keyboard_targets=["Skip to content", "Filter", "Add note", "Log call"])

    if MODE == "full":
        worker_process()  # a real worker attaches the note, as in production
    page.get_by_role("textbox", name="Note", exact=True).fill("Promised a refund of the delivery fee.")
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_text("Note saved.")).to_be_visible()
    note = timeline.locator("li.entry[data-type=note]", has_text="Promised a refund of the delivery fee.")
    expect(note).to_be_visible(timeout=30_000)
    expect(note).to_contain_text("alex@shop.example")


def test_an_agent_resolves_a_case_and_closes_a_next_best_action(page, ann):
    agent, _ = make_user("agent")
    log_in(page, agent.email)
    page.goto(f"/customers/{ann.id}")
    cases = page.get_by_role("region", name="Open cases")
    first = cases.get_by_role("button", name=re.compile(r"Resolve case #\d+")).first
    label = first.inner_text()
    first.click()
    expect(page.get_by_text(re.compile(r"Case #\d+ resolved\."))).to_be_visible()
    assert page.get_by_role("button", name=label).count() == 0

    actions = page.get_by_role("list", name="Next best actions")
    action = actions.get_by_role("listitem").first
    key = action.get_attribute("data-action-key")
    expect(action.locator(".reason")).to_contain_text("Why:")
    action.get_by_role("button", name="Done").click()
    expect(page.get_by_text("Marked done.")).to_be_visible()
    assert page.locator(f'[data-action-key="{key}"]').count() == 0, "a done action does not come back"


def test_search_results_come_twenty_at_a_time_with_more_on_request(page, client, run_jobs):
    from tests.factories import interaction, make_source, post_generic

    source = make_source(channel="email")
    items = [
        interaction(f"p-{n}", customer={"email": f"pat{n}@example.com", "name": f"Pat Quinn{n}"}) for n in range(21)
    ]
    assert post_generic(client, source, {"interactions": items}).status_code == 202
    run_jobs()
    agent, _ = make_user("agent")
    log_in(page, agent.email)
    page.goto("/search")
    page.get_by_label("Name, email, phone, order number or words from a message").fill("pat")
    found = page.locator("#customers-found-list > li")
    expect(found).to_have_count(20)
    expect(page.get_by_role("status")).to_contain_text("21 customers")
    page.get_by_role("button", name="More results").click()
    expect(found).to_have_count(21)
    expect(page.get_by_role("button", name="More results")).to_have_count(0)
