"""The Flask extensions, created here and bound to the app in create_app (nothing connects at import)."""

from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints so that Alembic migrations can drop and alter them on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)


def insert_ignoring_conflicts(target, *index_elements: str):
    """INSERT ... ON CONFLICT (index_elements) DO NOTHING in the database in use (PostgreSQL or SQLite)."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(target).on_conflict_do_nothing(index_elements=list(index_elements))


migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def core_rows(stmt) -> list:
    """All rows of a Core statement, in the session's transaction but past the ORM's result layer, which
    costs more than the rows themselves where documents are built from hundreds of thousands of them."""
    session = db.session()
    if session.autoflush:
        session.flush()  # what session.execute would do first: pending changes are part of what is read
    return session.connection().execute(stmt).all()
