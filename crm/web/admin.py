"""Admin pages: users and roles, channel sources and their secrets and deliveries, privacy requests."""

from __future__ import annotations

import json
import secrets

from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from crm import audit
from crm.auth import admin
from crm.channels.cli import create_source, rotate_secret
from crm.errors import NotFound
from crm.extensions import db
from crm.web import bp, reads
from crm.web.access import page, show_once, take_shown
from crm.web.forms import EraseForm, NewSourceForm, NewUserForm, PrivacyLookupForm, RotateForm, UserRoleForm


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
        flash(f"{user.email} is now {'an' if user.role[0] in 'aeiou' else 'a'} {user.role} ({state}).", "success")
    else:
        flash("; ".join(f"{k}: {', '.join(v)}" for k, v in form.errors.items()), "error")
    return redirect(url_for("web.users"))


@bp.route("/admin/sources", methods=["GET", "POST"])
@page("admin")
def sources():
    form = NewSourceForm()
    if form.validate_on_submit():
        secret = form.secret.data or secrets.token_urlsafe(32)
        source = create_source(form.slug.data, form.channel.data, form.provider.data, secret, form.name.data or None)
        audit.record(current_user.email, "create_source", "source", source.id, slug=source.slug)
        db.session.commit()
        flash(f"Added source {source.slug}: providers post to /webhooks/{source.slug}.", "success")
        if not form.secret.data:
            show_once("secret", {"slug": source.slug, "value": secret})
        return redirect(url_for("web.sources"))
    status = 400 if form.errors else 200
    overview = reads.sources_overview()
    return render_template("admin/sources.html", form=form, sources=overview, shown_secret=take_shown("secret")), status


@bp.route("/admin/sources/<slug>", methods=["GET", "POST"])
@page("admin")
def source_detail(slug: str):
    source = reads.source_by_slug(slug)
    form = RotateForm()
    if form.validate_on_submit():
        value = rotate_secret(source, form.secret.data or None)
        audit.record(current_user.email, "rotate_secret", "source", source.id)
        db.session.commit()
        flash(f"Rotated the secret of {slug}; the previous one stays valid for a grace period.", "success")
        if not form.secret.data:
            show_once("secret", {"slug": slug, "value": value})
        return redirect(url_for("web.source_detail", slug=slug))
    failures = request.args.get("failures") == "1"
    deliveries = reads.deliveries_page(source, failures_only=failures, page=_page_arg())
    return render_template(
        "admin/source.html",
        source=source,
        form=form,
        deliveries=deliveries,
        failures=failures,
        shown_secret=take_shown("secret"),
    ), (400 if form.errors else 200)


@bp.get("/admin/privacy")
@page("admin")
def privacy():
    form = PrivacyLookupForm(formdata=request.args)
    found = None
    if "customer" in request.args and form.validate():
        try:
            found = reads.find_customer(form.customer.data)
        except NotFound as exc:
            form.customer.errors.append(exc.detail)
        if found is not None and found.status == "merged" and found.merged_into_id:
            found = reads.find_customer(str(found.merged_into_id))
    history = reads.privacy_requests_page(_page_arg())
    erase_form = EraseForm(formdata=None, customer_id=found.id if found else None)
    return render_template("admin/privacy.html", form=form, found=found, history=history, erase_form=erase_form)


@bp.get("/admin/privacy/<int:customer_id>/export")
@page("admin")
def privacy_export(customer_id: int):
    from crm.profiles.privacy import export_customer

    document = export_customer(reads.find_customer(str(customer_id)).id, current_user.email)
    db.session.commit()
    body = json.dumps(document, ensure_ascii=False, indent=2, default=str)
    disposition = f'attachment; filename="customer-{customer_id}-export.json"'
    return Response(body, mimetype="application/json", headers={"Content-Disposition": disposition})


@bp.post("/admin/privacy/<int:customer_id>/erase")
@page("admin")
def privacy_erase(customer_id: int):
    from crm.profiles.privacy import erase_customer

    form = EraseForm()
    if (
        not form.validate_on_submit()
        or form.confirm.data.strip() != "ERASE"
        or form.customer_id.data != str(customer_id)
    ):
        flash("Nothing was erased: type ERASE in the box to confirm.", "error")
        return redirect(url_for("web.privacy", customer=customer_id))
    counts = erase_customer(reads.find_customer(str(customer_id)).id, current_user.email)
    summary = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in counts.items() if n)
    flash(f"Customer #{customer_id} is erased ({summary}). Only the request's ids and counts remain.", "success")
    return redirect(url_for("web.privacy"))
