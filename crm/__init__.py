"""crm: an omnichannel customer 360.

create_app() builds the Flask app: configuration from the environment, the extensions, the
blueprints and the `flask` CLI commands. Nothing connects to a service at import or at start-up;
each service is reached when first used, so a missing one degrades that piece, not the app.
"""

from __future__ import annotations

import gc
import logging
import os
from pathlib import Path

from flask import Flask

from crm.config import _engine_options, load_config

MIGRATIONS_DIR = str(Path(__file__).resolve().parent.parent / "migrations")


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_path=os.environ.get("CRM_INSTANCE_PATH") or None, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(load_config(app.instance_path))
    if config:
        app.config.update(config)
        if "SQLALCHEMY_DATABASE_URI" in config and "SQLALCHEMY_ENGINE_OPTIONS" not in config:
            app.config["SQLALCHEMY_ENGINE_OPTIONS"] = _engine_options(config["SQLALCHEMY_DATABASE_URI"])
    app.json.sort_keys = False
    _configure_logging(app)

    from crm import models  # noqa: F401  (every table known to SQLAlchemy and Alembic)
    from crm.extensions import csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, compare_type=True, render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        _sqlite_pragmas(app)

    from crm.errors import register_error_handlers

    register_error_handlers(app)
    _register_blueprints(app)
    _register_cli(app)
    return app


def _register_blueprints(app: Flask) -> None:
    from crm.api import bp as api_bp
    from crm.auth.views import bp as auth_bp
    from crm.channels.webhooks import bp as webhooks_bp
    from crm.experiments.pages import bp as experiments_web_bp
    from crm.extensions import csrf
    from crm.health import bp as health_bp
    from crm.web import bp as web_bp

    # Webhooks are authenticated by their signatures and the API by tokens, not by session cookies.
    csrf.exempt(webhooks_bp)
    for bp in (health_bp, webhooks_bp, api_bp, auth_bp, web_bp, experiments_web_bp):
        app.register_blueprint(bp)


def freeze_startup_objects() -> None:
    """For long-running processes (web, worker), once the app is built: load what nearly every request
    needs anyway (the sentiment lexicon), then move every object alive so far out of the garbage
    collector's walks (gc.freeze). Those objects live as long as the process; without this each full
    collection walked all of them again, a sixth of the slowest agent views (bench/agent_view)."""
    from crm.personalization.sentiment import score_text

    score_text("warm")
    gc.collect()
    gc.freeze()


def _register_cli(app: Flask) -> None:
    from crm.cli import register

    register(app)


def _configure_logging(app: Flask) -> None:
    level = os.environ.get("LOG_LEVEL", "INFO").upper()
    if not logging.getLogger().handlers:
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("crm").setLevel(level)
    # The ES client logs every failed attempt with a traceback; one line from us is enough.
    logging.getLogger("elastic_transport").setLevel(logging.ERROR)
    logging.getLogger("elasticsearch").setLevel(logging.ERROR)


def _sqlite_pragmas(app: Flask) -> None:
    from sqlalchemy import event

    from crm.extensions import db

    with app.app_context():
        engine = db.engine

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()
