"""Pages for agents, marketers and admins (server-rendered Jinja with a little JavaScript)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import login_required

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/static/web")


@bp.get("/")
@login_required
def index():
    return render_template("index.html")
