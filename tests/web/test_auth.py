"""Auth as users meet it: sessions and their cookies, CSRF on every form, the login rate limit,
roles on every page, and API tokens and users managed from the app."""

from __future__ import annotations

import re

import pytest

from crm.auth.models import ApiToken, User
from crm.extensions import db, limiter
from tests.factories import auth, make_user


def log_in(client, email: str, password: str = "password123"):
    return client.post("/login", data={"email": email, "password": password})


@pytest.fixture
def csrf_on(app):
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False


def test_pages_send_a_visitor_who_is_not_logged_in_to_the_login_page(client):
    response = client.get("/customers/1")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_the_session_cookie_is_http_only_same_site_and_secure_when_configured(app, client):
    user, _ = make_user("agent")
    response = log_in(client, user.email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    app.config["SESSION_COOKIE_SECURE"] = True
    try:
        client.post("/logout")
        cookie = log_in(client, user.email).headers["Set-Cookie"]
    finally:
        app.config["SESSION_COOKIE_SECURE"] = False
    assert "Secure" in cookie


def test_a_form_posted_without_its_csrf_token_is_refused(app, client, csrf_on):
    user, _ = make_user("agent")
    response = log_in(client, user.email)
    assert response.status_code == 400
    assert "Form not accepted" in response.text
    page = client.get("/login")
    token = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"email": user.email, "password": "password123", "csrf_token": token})
    assert response.status_code == 302


def test_a_session_api_write_needs_the_csrf_header_but_a_bearer_token_does_not(app, client, csrf_on):
    user, token = make_user("agent")
    page = client.get("/login")
    form_token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    client.post("/login", data={"email": user.email, "password": "password123", "csrf_token": form_token})
    refused = client.post("/api/v1/tokens", json={"name": "from a forged page"})
    assert refused.status_code == 400
    assert refused.mimetype == "application/problem+json"
    meta = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").text).group(1)
    with_header = client.post("/api/v1/tokens", json={"name": "from the page"}, headers={"X-CSRFToken": meta})
    assert with_header.status_code == 201
    scripted = client.application.test_client().post("/api/v1/tokens", json={"name": "script"}, headers=auth(token))
    assert scripted.status_code == 201


@pytest.fixture
def rate_limited(_app, database_url):
    """A second app on the same database with the login rate limit on (the test app runs with it off)."""
    from crm import create_app
    from tests.conftest import MODE, RUN_ID, IsolatedClient, base_config

    config = base_config(database_url)
    # Full mode counts in Redis, as production does, under keys of this test's own.
    config.update(RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="3 per minute", RATELIMIT_KEY_PREFIX=f"crm-test-{RUN_ID}")
    config["RATELIMIT_STORAGE_URI"] = config["REDIS_URL"] if MODE == "full" else "memory://"
    limited = create_app(config)
    limited.test_client_class = IsolatedClient
    yield limited.test_client()
    # The limiter is one object shared by both apps: switch it back off for the rest of the session.
    limiter.enabled = False


def test_logins_past_the_rate_limit_get_429_until_the_window_passes(app, rate_limited):
    user, _ = make_user("agent")
    answers = [log_in(rate_limited, user.email, "wrong-password").status_code for _ in range(4)]
    assert answers == [401, 401, 401, 429]
    blocked = log_in(rate_limited, user.email)
    assert blocked.status_code == 429, "the right password does not get past the limit either"
    assert "Too many attempts" in blocked.text
    assert rate_limited.get("/login").status_code == 200, "only POST is limited"


def test_logout_ends_the_session(client):
    user, _ = make_user("marketer")
    log_in(client, user.email)
    assert client.get("/segments").status_code == 200
    client.post("/logout")
    assert client.get("/segments").status_code == 302


@pytest.mark.parametrize(
    ("role", "path", "status"),
    [
        ("agent", "/admin/users", 403),
        ("agent", "/admin/sources", 403),
        ("agent", "/admin/privacy", 403),
        ("agent", "/segments/new", 403),
        ("marketer", "/admin/users", 403),
        ("marketer", "/segments/new", 200),
        ("marketer", "/search", 200),
        ("admin", "/admin/sources", 200),
        ("admin", "/segments/new", 200),
    ],
)
def test_each_page_is_open_only_to_the_roles_that_need_it(client, role, path, status):
    user, _ = make_user(role)
    log_in(client, user.email)
    response = client.get(path)
    assert response.status_code == status
    if status == 403:
        assert "You don't have access to this page" in response.text
        assert f"Your role ({role})" in response.text


def test_a_token_is_shown_once_listed_by_its_prefix_and_stops_working_when_revoked(app, client):
    user, _ = make_user("agent")
    log_in(client, user.email)
    created = client.post("/account/tokens", data={"name": "nightly export"}, follow_redirects=True)
    value = re.search(r'id="new-token-value" class="mono" readonly value="([^"]+)"', created.text).group(1)
    assert client.get("/api/v1/tokens", headers=auth(value)).status_code == 200
    listed = client.get("/account/tokens").text
    assert value not in listed, "the token is never shown again"
    assert value[:12] in listed
    row = db.session.query(ApiToken).filter_by(name="nightly export").one()
    assert client.post(f"/account/tokens/{row.id}/revoke").status_code == 302
    script = client.application.test_client()  # no session cookie: the token alone
    assert script.get("/api/v1/tokens", headers=auth(value)).status_code == 401


def test_token_api_creates_lists_and_revokes_the_callers_own_tokens(client):
    user, token = make_user("marketer")
    other, other_token = make_user("agent")
    created = client.post("/api/v1/tokens", json={"name": "ci"}, headers=auth(token))
    assert created.status_code == 201 and created.json["token"].startswith("crm_")
    names = [t["name"] for t in client.get("/api/v1/tokens", headers=auth(token)).json["items"]]
    assert sorted(names) == ["ci", "test"]
    assert "token" not in client.get("/api/v1/tokens", headers=auth(token)).json["items"][0]
    theirs = client.delete(f"/api/v1/tokens/{created.json['id']}", headers=auth(other_token))
    assert theirs.status_code == 404, "nobody revokes another user's token"
    assert client.delete(f"/api/v1/tokens/{created.json['id']}", headers=auth(token)).status_code == 204
    again = client.delete(f"/api/v1/tokens/{created.json['id']}", headers=auth(token))
    assert again.status_code == 409
    assert client.post("/api/v1/tokens", json={"name": ""}, headers=auth(token)).status_code == 422


def test_an_admin_adds_a_user_and_changes_their_role_from_the_users_page(client):
    admin, _ = make_user("admin")
    log_in(client, admin.email)
    response = client.post(
        "/admin/users",
        data={"email": "New.Agent@Shop.example", "name": "Nia", "role": "agent", "password": "s3cret-pass"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    created = db.session.query(User).filter_by(email="new.agent@shop.example").one()
    assert created.role == "agent" and created.name == "Nia"
    client.post(f"/admin/users/{created.id}", data={"role": "marketer", "active": "y"})
    db.session.expire_all()
    assert db.session.get(User, created.id).role == "marketer"
    page = client.get("/admin/users").text
    assert "is now a marketer (active)" in page


def test_a_bad_new_user_form_names_the_field_that_was_wrong(client):
    admin, _ = make_user("admin")
    log_in(client, admin.email)
    response = client.post("/admin/users", data={"email": "not-an-email", "role": "agent", "password": "short"})
    assert response.status_code == 400
    assert "Invalid email address." in response.text
    assert "Field must be between 8 and 200 characters long." in response.text


def test_the_last_admin_cannot_demote_or_disable_themselves(client):
    admin, token = make_user("admin")
    response = client.patch(f"/api/v1/users/{admin.id}", json={"role": "agent"}, headers=auth(token))
    assert response.status_code == 409
    assert "last active admin" in response.json["detail"]
    second, _ = make_user("admin")
    assert client.patch(f"/api/v1/users/{admin.id}", json={"active": False}, headers=auth(token)).status_code == 200
    assert client.get("/api/v1/users", headers=auth(token)).status_code == 401, "a disabled user's tokens stop"


def test_users_api_is_for_admins_and_paginates(client):
    _, agent_token = make_user("agent")
    _, admin_token = make_user("admin")
    assert client.get("/api/v1/users", headers=auth(agent_token)).status_code == 403
    for n in range(3):
        client.post(
            "/api/v1/users",
            json={"email": f"m{n}@shop.example", "role": "marketer", "password": "password123"},
            headers=auth(admin_token),
        )
    page = client.get("/api/v1/users?per_page=2&page=2", headers=auth(admin_token)).json
    assert page["total"] == 5 and page["pages"] == 3 and len(page["items"]) == 2
    duplicate = client.post(
        "/api/v1/users",
        json={"email": "m0@shop.example", "role": "agent", "password": "password123"},
        headers=auth(admin_token),
    )
    assert duplicate.status_code == 409


def test_the_openapi_document_lists_the_token_and_user_operations(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert set(paths["/tokens"]) == {"get", "post"}
    assert set(paths["/tokens/{token_id}"]) == {"delete"}
    assert set(paths["/users"]) == {"get", "post"}
    assert set(paths["/users/{user_id}"]) == {"patch"}
    assert "Permission: `admin`" in paths["/users"]["get"]["description"]
