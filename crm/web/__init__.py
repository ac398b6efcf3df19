"""Pages for agents, marketers and admins: server-rendered Jinja with a little JavaScript.

Every page goes through `access.page(permission)` (login, role, the 403 page); views parse a form or
query, call one domain function and render. Live parts (search as you type, the segment preview, the
dashboard charts) fetch the JSON API from small plain-JS modules in static/js/.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/static/web")

# View modules register their routes on import (after bp exists).
from crm.web import access, account, admin, agent, casework, display, marketing, pages  # noqa: E402, F401
