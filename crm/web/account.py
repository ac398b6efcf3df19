"""The user's own account: API tokens (created and shown once, listed, revoked)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from crm.auth import admin
from crm.extensions import db
from crm.web import bp
from crm.web.access import page, show_once, take_shown
from crm.web.forms import TokenForm


@bp.route("/account/tokens", methods=["GET", "POST"])
@page("account")
def tokens():
    form = TokenForm()
    if form.validate_on_submit():
        row, value = admin.create_token(current_user, form.name.data)
        db.session.commit()
        show_once("token", {"name": row.name, "value": value})
        return redirect(url_for("web.tokens") + "#new-token")
    status = 400 if form.errors else 200
    shown = take_shown("token")
    return render_template(
        "account/tokens.html", form=form, tokens=admin.tokens_of(current_user), new_token=shown
    ), status


@bp.post("/account/tokens/<int:token_id>/revoke")
@page("account")
def token_revoke(token_id: int):
    row = admin.revoke_token(current_user, token_id)
    db.session.commit()
    flash(f"Token “{row.name}” ({row.prefix}…) is revoked.", "info")
    return redirect(url_for("web.tokens"))
