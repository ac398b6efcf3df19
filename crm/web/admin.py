"""Admin pages: users and roles, channel sources and their secrets and deliveries, privacy requests."""

from __future__ import annotations

import secrets

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from crm import audit
from crm.auth import admin
from crm.channels.cli import create_source, rotate_secret
from crm.extensions import db
from crm.web import bp, reads
from crm.web.access import page
from crm.web.forms import NewSourceForm, NewUserForm, RotateForm, UserRoleForm


def _page_arg() -> int:
    value = request.args.get("page", "1")
    return int(value) if value.isdigit() and int(value) > 0 else 1


@bp.route("/admin/users", methods=["GET", "POST"])
@page("admin")
def users():
    form = NewUserForm()
    if form.validate_on_submit():
        user = admin.add_user(form.email.data, form.role.data, form.password.data, form.name.data, current_user.email)
        db.session.commit()
        flash(f"Created {user.role} {user.email}.", "success")
        return redirect(url_for("web.users"))
    query = request.args.get("q", "").strip()
    found = admin.users_page(_page_arg(), 50, query or None)
    status = 400 if form.errors else 200
    return render_template("admin/users.html", form=form, users=found, q=query, role_form=UserRoleForm), status


@bp.post("/admin/users/<int:user_id>")
@page("admin")
def user_update(user_id: int):
    form = UserRoleForm()
    user = admin.get_user(user_id)
    if form.validate_on_submit():
        admin.update_user(user, actor=current_user.email, role=form.role.data, active=form.active.data)
        db.session.commit()
        state = "active" if user.active else "disabled"
        flash(f"{user.email} is now {'an' if user.role == 'admin' else 'a'} {user.role} ({state}).", "success")
    else:
        flash("; ".join(f"{k}: {', '.join(v)}" for k, v in form.errors.items()), "error")
    return redirect(url_for("web.users"))


@bp.route("/admin/sources", methods=["GET", "POST"])
@page("admin")
def sources():
    form = NewSourceForm()
    shown_secret = None
    if form.validate_on_submit():
        secret = form.secret.data or secrets.token_urlsafe(32)
        source = create_source(form.slug.data, form.channel.data, form.provider.data, secret, form.name.data or None)
        audit.record(current_user.email, "create_source", "source", source.id, slug=source.slug)
        db.session.commit()
        flash(f"Added source {source.slug}: providers post to /webhooks/{source.slug}.", "success")
        if not form.secret.data:
            # A generated secret is shown in this answer only (never in a flash: that rides in the cookie).
            shown_secret = {"slug": source.slug, "value": secret}
        form = NewSourceForm(formdata=None)
    status = 400 if form.errors else 200
    overview = reads.sources_overview()
    return render_template("admin/sources.html", form=form, sources=overview, shown_secret=shown_secret), status


@bp.route("/admin/sources/<slug>", methods=["GET", "POST"])
@page("admin")
def source_detail(slug: str):
    source = reads.source_by_slug(slug)
    form = RotateForm()
    shown_secret = None
    if form.validate_on_submit():
        value = rotate_secret(source, form.secret.data or None)
        audit.record(current_user.email, "rotate_secret", "source", source.id)
        db.session.commit()
        flash(f"Rotated the secret of {slug}; the previous one stays valid for a grace period.", "success")
        shown_secret = None if form.secret.data else value
        form = RotateForm(formdata=None)
    failures = request.args.get("failures") == "1"
    deliveries = reads.deliveries_page(source, failures_only=failures, page=_page_arg())
    return render_template(
        "admin/source.html",
        source=source,
        form=form,
        deliveries=deliveries,
        failures=failures,
        shown_secret=shown_secret,
    ), (400 if form.errors else 200)


@bp.get("/admin/privacy")
@page("admin")
def privacy():
    return render_template("admin/privacy.html")
