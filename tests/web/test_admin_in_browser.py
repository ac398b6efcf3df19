"""An admin at the browser: users and roles, channel sources with their secrets and failed deliveries,
a customer's export and erasure."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from crm.auth.models import User
from crm.channels.models import Source
from crm.extensions import db
from crm.profiles.models import Customer
from tests.factories import make_user, post_generic
from tests.web.browsing import check_page, log_in
from tests.web.scenes import ANN, ann_on_four_channels

pytestmark = pytest.mark.browser


def test_an_admin_adds_a_marketer_and_makes_them_an_agent(page):
    admin, _ = make_user("admin", email="ada@shop.example")
    log_in(page, admin.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
    new = page.get_by_role("region", name="Add a user")
    new.get_by_label("Email").fill("mo@shop.example")
    new.get_by_label("Name").fill("Mo Marketer")
    new.get_by_label("Role").select_option("marketer")
    new.get_by_label("Initial password").fill("a-long-password")
    new.get_by_role("button", name="Add user").click()
    expect(page.get_by_text("Created marketer mo@shop.example.")).to_be_visible()
    page.get_by_label("Role of mo@shop.example").select_option("agent")
    page.get_by_role("button", name="Save mo@shop.example").click()
    expect(page.get_by_text("mo@shop.example is now an agent (active).")).to_be_visible()
    db.session.expire_all()
    assert db.session.query(User).filter_by(email="mo@shop.example").one().role == "agent"
    check_page(page, "admin-users", keyboard_targets=["users-q", "Add user"])


def test_an_admin_adds_a_source_sees_its_secret_once_rotates_it_and_reads_the_failures(page, client):
    admin, _ = make_user("admin")
    log_in(page, admin.email)
    page.goto("/admin/sources")
    form = page.get_by_role("region", name="Add a source")
    form.get_by_label("Slug (the webhook path)").fill("helpdesk-mail")
    form.get_by_label("Channel").select_option("email")
    form.get_by_label("Provider").select_option("generic")
    form.get_by_role("button", name="Add source").click()
    secret = page.get_by_role("textbox", name="Secret", exact=True).input_value()
    assert len(secret) >= 32
    page.reload()
    assert page.get_by_role("textbox", name="Secret", exact=True).count() == 0, "the secret is shown once"

    db.session.expire_all()
    source = db.session.query(Source).filter_by(slug="helpdesk-mail").one()
    assert source.secret == secret
    assert post_generic(client, source, {"bad": "payload"}).status_code == 422
    assert post_generic(client, source, {"x": 1}, secret="not-the-secret-at-all").status_code == 401
    page.reload()
    row = page.get_by_role("row", name=re.compile("helpdesk-mail"))
    expect(row).to_contain_text("2 failed")
    check_page(page, "admin-sources")

    row.get_by_role("link", name="helpdesk-mail").click()
    page.get_by_role("link", name="Show failures only").click()
    failures = page.get_by_role("region", name="Failed deliveries")
    expect(failures.locator("tbody tr")).to_have_count(2)
    expect(failures).to_contain_text("401")
    expect(failures).to_contain_text("422")
    page.get_by_role("button", name="Rotate secret").click()
    expect(page.get_by_text(re.compile("Rotated the secret of helpdesk-mail"))).to_be_visible()
    rotated = page.get_by_role("textbox", name="Secret", exact=True).input_value()
    db.session.expire_all()
    assert rotated != secret and db.session.get(Source, source.id).secret == rotated
    check_page(page, "admin-source")


def test_an_admin_exports_and_then_erases_a_customer(page, client, run_jobs):
    ann_id = ann_on_four_channels(client, run_jobs).id
    admin, _ = make_user("admin")
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, admin.email)
    page.goto("/admin/privacy")
    page.get_by_label("Customer id, email or phone").fill(ANN["email"])
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_role("heading", name=re.compile("Ann Lee"))).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the export").click()
    exported = json.loads(open(download.value.path(), encoding="utf-8").read())
    assert {i["value"] for i in exported["identifiers"]} >= {ANN["email"], "+442079460958"}
    assert len(exported["interactions"]) == 6
    check_page(page, "admin-privacy")

    page.get_by_role("button", name=f"Erase customer #{ann_id}").click()
    expect(page.get_by_text("Nothing was erased: type ERASE in the box to confirm.")).to_be_visible()
    page.get_by_label("Type ERASE to confirm").fill("ERASE")
    page.get_by_role("button", name=f"Erase customer #{ann_id}").click()
    expect(page.get_by_text(re.compile(rf"Customer #{ann_id} is erased \(1 customers, 6 interactions"))).to_be_visible()
    db.session.expire_all()
    assert db.session.get(Customer, ann_id) is None
    history = page.get_by_role("region", name="Recent requests")
    expect(history.locator("tbody tr").first).to_contain_text("erase")
