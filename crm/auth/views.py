"""Login and logout (Flask-Login sessions, CSRF-protected form, rate-limited), and how requests authenticate.

A request is authenticated by its session cookie or by `Authorization: Bearer <token>`. Cookie-
authenticated writes must carry the CSRF token (a form field, or the X-CSRFToken header from the page's
meta tag); token-authenticated ones need not, since no other site can make a browser send that header.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, Email, Length

from crm.auth import tokens
from crm.auth.models import User
from crm.columns import utcnow
from crm.extensions import csrf, db, limiter, login_manager

bp = Blueprint("auth", __name__, template_folder="../web/templates")

login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to see this page."


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    user = db.session.get(User, int(user_id))
    return user if user is not None and user.active else None


@login_manager.request_loader
def _load_user_from_token(req) -> User | None:
    value = _bearer_token(req)
    return tokens.user_for_token(value) if value else None


def _bearer_token(req) -> str | None:
    scheme, _, value = req.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


@bp.record_once
def _csrf_checked_here(state) -> None:
    # CSRFProtect's own hook would check every POST, token-authenticated API calls included.
    state.app.config["WTF_CSRF_CHECK_DEFAULT"] = False


@bp.before_app_request
def _csrf_for_cookie_sessions() -> None:
    if not current_app.config.get("WTF_CSRF_ENABLED", True) or _bearer_token(request):
        return
    csrf.protect(apply_exemptions=True)


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(check_deliverability=False), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    remember = BooleanField("Keep me logged in")


def _safe_next(target: str | None) -> str:
    # Only local paths: an open redirect after login is a phishing tool. Browsers read a backslash as a
    # slash, so "/\\evil.example" would leave the site too.
    if (
        target
        and urlsplit(target).netloc == ""
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and target.isprintable()
    ):
        return target
    return url_for("web.index")


# Checked against when the email is unknown, so a wrong email costs the same time as a wrong password.
_NO_SUCH_USER = generate_password_hash("no-such-user")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.query(User).filter_by(email=form.email.data.strip().lower()).one_or_none()
        if user is None:
            check_password_hash(_NO_SUCH_USER, form.password.data)
        if user is None or not user.active or not tokens.check_password(user, form.password.data):
            flash("Wrong email or password.", "error")
            return render_template("auth/login.html", form=form), 401
        user.last_login_at = utcnow()
        db.session.commit()
        login_user(user, remember=form.remember.data)
        return redirect(_safe_next(request.args.get("next")))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))
