"""Logging in as each role in a real browser: what each role sees, and the door closed on the rest."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.factories import make_user
from tests.web.browsing import check_page, log_in

pytestmark = pytest.mark.browser

NAV_BY_ROLE = {
    "agent": ["Search", "Segments", "Dashboard", "API tokens"],
    "marketer": ["Search", "Segments", "Dashboard", "Experiments", "API tokens"],
    "admin": ["Search", "Segments", "Dashboard", "Experiments", "Users", "Sources", "Privacy", "API tokens"],
}


@pytest.mark.parametrize("role", ["agent", "marketer", "admin"])
def test_each_role_logs_in_and_sees_its_own_menu(page, role):
    user, _ = make_user(role, email=f"{role}@shop.example")
    log_in(page, user.email)
    menu = page.get_by_role("navigation", name="Main").get_by_role("link").all_inner_texts()
    assert menu == NAV_BY_ROLE[role]
    assert page.locator(".topbar .role").inner_text() == role
    if role == "agent":
        check_page(page, "start-agent", keyboard_targets=["Skip to content", "Search", "Log out"])


def test_an_agent_gets_the_403_page_on_every_admin_page(page):
    user, _ = make_user("agent")
    log_in(page, user.email)
    for path in ("/admin/users", "/admin/sources", "/admin/privacy"):
        response = page.goto(path)
        assert response.status == 403, path
        assert page.get_by_role("heading", name="You don't have access to this page").is_visible()
    check_page(page, "forbidden")


def test_logging_out_ends_the_session(page):
    user, _ = make_user("marketer")
    log_in(page, user.email)
    page.get_by_role("button", name="Log out").click()
    assert page.get_by_text("You are logged out.").is_visible()
    page.goto("/admin/users")
    assert "/login" in page.url


def test_a_wrong_password_is_refused_with_a_message(page):
    user, _ = make_user("agent")
    page.goto("/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_text("Wrong email or password.").is_visible()
    check_page(page, "login")


def test_a_user_creates_an_api_token_sees_it_once_and_revokes_it(page):
    user, _ = make_user("marketer")
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, user.email)
    page.get_by_role("link", name="API tokens").first.click()
    page.get_by_label("Token name").fill("weekly export")
    page.get_by_role("button", name="Create token").click()
    value = page.get_by_role("textbox", name="Token", exact=True).input_value()
    assert value.startswith("crm_")
    tokens = page.get_by_role("region", name="Your tokens")
    row = tokens.get_by_role("row", name=re.compile("weekly export"))
    expect(row).to_contain_text(value[:12])
    check_page(page, "tokens", keyboard_targets=["name", "Create token", "Revoke"])
    page.reload()
    assert value not in page.content(), "shown once: not on the page again"
    row.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text(re.compile("Token “weekly export” .* is revoked."))).to_be_visible()
    expect(tokens.get_by_role("row", name=re.compile("weekly export"))).to_contain_text("revoked")
