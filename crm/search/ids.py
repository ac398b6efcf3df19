"""`id_in(column, ids)`: a membership test for long id lists that stays cheap on PostgreSQL.

`column IN (...)` with a thousand ids means a thousand bound parameters to compile and send for every
batch of the drain; `column = ANY(:ids)` is one array parameter. SQLite keeps the plain IN.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import BigInteger, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY

from crm.extensions import db


def id_in(column, ids: Iterable[int]):
    ids = list(ids)
    if db.engine.dialect.name == "postgresql":
        return column == any_(bindparam(None, ids, type_=ARRAY(BigInteger)))
    return column.in_(ids)
