"""Who may open which page: login, the role's permission, and the pages shown when either is missing.

`page(permission)` is to pages what `operation(...)` is to the API: one check on every view, with
the permissions of crm/auth/roles.py. Errors raised by the domain inside a page (a case resolved
already, a merge that cannot be undone) come back to the page they were sent from as a message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFError

from crm.auth.roles import can
from crm.errors import DomainError, problem
from crm.extensions import db
from crm.web import bp


def page(permission: str | None) -> Callable:
    """Require a logged-in user whose role grants `permission` (None: any logged-in user)."""

    def decorator(fn: Callable) -> Callable:
        @wraps(fn)
        def view(*args, **kwargs):
            if permission is not None and not can(current_user.role, permission):
                abort(403, description=permission)
            return fn(*args, **kwargs)

        return login_required(view)

    return decorator


@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str
    permission: str | None
    # Endpoints that highlight this item as the current page.
    prefix: str


NAV = (
    NavItem("Search", "web.search", "search", "web.search"),
    NavItem("Segments", "web.segments", "segments:read", "web.segment"),
    NavItem("Dashboard", "web.dashboard", "metrics:read", "web.dashboard"),
    NavItem("Experiments", "experiments_web.index", "experiments", "experiments_web."),
    NavItem("Users", "web.users", "admin", "web.user"),
    NavItem("Sources", "web.sources", "admin", "web.source"),
    NavItem("Privacy", "web.privacy", "admin", "web.privacy"),
    NavItem("API tokens", "web.tokens", None, "web.token"),
)


def nav_items() -> list[dict]:
    if not current_user.is_authenticated:
        return []
    endpoint = request.endpoint or ""
    return [
        {"label": item.label, "href": url_for(item.endpoint), "current": endpoint.startswith(item.prefix)}
        for item in NAV
        if (item.permission is None or can(current_user.role, item.permission))
        and item.endpoint in current_app.view_functions
    ]


@bp.app_context_processor
def _navigation() -> dict:
    return {"nav_items": nav_items, "can": may, "has_api": has_api}


def may(permission: str) -> bool:
    return current_user.is_authenticated and can(current_user.role, permission)


def has_api(operation: str) -> bool:
    """Whether an API operation is registered (a page degrades when the backend it calls is absent)."""
    return f"api.{operation}" in current_app.view_functions


def back(default: str = "web.index", **values) -> str:
    """Where a form posted from (a local path only), else `default`."""
    target = request.form.get("next") or request.referrer or ""
    parts = urlsplit(target)
    if parts.netloc and parts.netloc != request.host:
        return url_for(default, **values)
    if not parts.path.startswith("/") or parts.path.startswith("//") or "\\" in target:
        return url_for(default, **values)
    return parts.path + (f"?{parts.query}" if parts.query else "") + (f"#{parts.fragment}" if parts.fragment else "")


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError):
    db.session.rollback()
    if request.method == "GET":
        return render_template("errors/error.html", title=exc.title, detail=exc.detail), exc.status
    flash(exc.detail, "error")
    return redirect(back())


def _machine_path() -> bool:
    return request.path.startswith(("/api/", "/webhooks/", "/healthz"))


@bp.app_errorhandler(403)
def _forbidden(exc):
    if _machine_path():
        return problem(403, "Forbidden", exc.description)
    needs = exc.description if isinstance(exc.description, str) and ":" in exc.description else None
    return render_template("errors/403.html", needs=needs), 403


@bp.app_errorhandler(404)
def _not_found(exc):
    if _machine_path():
        return problem(404, "Not found", exc.description)
    return render_template("errors/error.html", title="Not found", detail="There is no page at this address."), 404


@bp.app_errorhandler(CSRFError)
def _csrf_failed(exc: CSRFError):
    if _machine_path():
        return problem(400, "CSRF check failed", exc.description)
    detail = "The form had expired or did not come from this site. Reload the page and try again."
    return render_template("errors/error.html", title="Form not accepted", detail=detail), 400


@bp.app_errorhandler(429)
def _too_many(exc):
    if _machine_path():
        return problem(429, "Too many requests", exc.description)
    detail = f"Too many attempts ({exc.description}). Wait a minute and try again."
    return render_template("errors/error.html", title="Too many attempts", detail=detail), 429


def show_once(kind: str, value: dict) -> None:
    """Keep a secret for the next page only (post/redirect/get: a reload must not create another).

    It rides in the signed session cookie for one round trip, as it would in the page's HTML.
    """
    session[f"show-once:{kind}"] = value


def take_shown(kind: str) -> dict | None:
    return session.pop(f"show-once:{kind}", None)
