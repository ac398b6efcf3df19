"""Identity at the browser: a possible duplicate confirmed into a merge, and the merge undone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from crm.extensions import db
from crm.profiles.models import Customer
from tests.factories import make_user
from tests.web.browsing import check_page, log_in
from tests.web.scenes import two_ann_lees

pytestmark = pytest.mark.browser


def test_an_agent_confirms_a_duplicate_then_undoes_the_merge(page, client, run_jobs):
    older, newer = two_ann_lees(client, run_jobs)
    agent, _ = make_user("agent")
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, agent.email)
    page.goto(f"/customers/{newer}")
    dupes = page.get_by_role("region", name="Possible duplicates")
    expect(dupes.get_by_role("link", name="Ann Lee")).to_have_attribute("href", f"/customers/{older}")
    expect(dupes).to_contain_text("emails one edit apart")
    dupes.get_by_role("button", name="Same person: merge").click()
    expect(page.get_by_text(re.compile("Merged: the two customers are one now"))).to_be_visible()
    assert page.url.endswith(f"/customers/{older}")
    identifiers = page.get_by_role("list", name="Identifiers")
    expect(identifiers).to_contain_text("ann.lee@exmaple.com")
    history = page.get_by_role("region", name="Merge history")
    expect(history).to_contain_text(f"Merged in #{newer}")
    check_page(page, "customer-merged")

    history.get_by_role("button", name=re.compile(r"Undo merge #\d+")).click()
    expect(page.get_by_text(re.compile(f"customers #{older} and #{newer} are apart again"))).to_be_visible()
    expect(page.get_by_role("region", name="Merge history")).to_contain_text("undone")
    expect(page.get_by_role("list", name="Identifiers")).not_to_contain_text("ann.lee@exmaple.com")
    db.session.expire_all()
    assert db.session.get(Customer, newer).status == "active"
    page.goto(f"/customers/{newer}")
    expect(page.get_by_role("region", name="Possible duplicates")).to_contain_text("No open suggestions.")
