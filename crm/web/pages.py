"""The start page: what the user's role can open, and the search box for those who search."""

from __future__ import annotations

from flask import render_template

from crm.web import bp
from crm.web.access import page


@bp.get("/")
@page(None)
def index():
    return render_template("index.html")
