"""GET /healthz: the mode and the state of the database, the queue and search; 503 naming what is down."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from crm import jobs, search
from crm.config import mode
from crm.extensions import db

bp = Blueprint("health", __name__)


def database_state() -> dict:
    try:
        db.session.execute(text("SELECT 1"))
        return {"state": "up", "backend": db.engine.dialect.name}
    except Exception as exc:  # any driver error means down, whatever its class
        db.session.rollback()
        return {"state": "down", "backend": db.engine.dialect.name, "error": str(exc).splitlines()[0][:300]}


@bp.get("/healthz")
def healthz():
    checks = {"database": database_state(), "queue": jobs.queue_state(), "search": search.state()}
    if checks["database"]["state"] == "up":
        checks["search"]["index_lag_s"] = search.index_lag_seconds()
    down = [name for name, check in checks.items() if check["state"] == "down"]
    body = {"status": "down" if down else "ok", "mode": mode(current_app.config), "checks": checks}
    if down:
        body["down"] = down
    return jsonify(body), 503 if down else 200
