"""match keys: the email domain and country frequency keys of every stored match record

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 17:40:00

Duplicate scoring after each processed interaction now weighs a shared email domain and country by
how many customers have it, counted from match_keys. A record is stored again only when it changes, so
the customers already there get their two new kinds of key here; without them a common country would
count as rare. Computed with the application's own key functions, so they are the keys it looks up.
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

CHUNK = 5000


def _keys(customer_id: int, data) -> set[int]:
    from crm.profiles import matching
    from crm.profiles.similarity import countries, email_domains, features

    record = matching.from_json(customer_id, json.loads(data) if isinstance(data, str) else data)
    f = features(record)
    values = [("domain", d) for d in email_domains(f)] + [("country", c) for c in countries(f)]
    return {matching.key_hash(matching.frequency_key(kind, value)) for kind, value in values if value}


def _each_chunk(conn):
    after = 0
    while True:
        rows = conn.execute(
            sa.text(
                "SELECT customer_id, record FROM match_profiles WHERE customer_id > :after"
                " ORDER BY customer_id LIMIT :n"
            ),
            {"after": after, "n": CHUNK},
        ).all()
        if not rows:
            return
        yield [{"key_hash": h, "customer_id": cid} for cid, data in rows for h in _keys(cid, data)]
        after = rows[-1][0]


def upgrade():
    conn = op.get_bind()
    ignore = "ON CONFLICT DO NOTHING" if conn.dialect.name == "postgresql" else ""
    insert = sa.text(
        f"INSERT {'OR IGNORE ' if not ignore else ''}INTO match_keys (key_hash, customer_id)"
        f" VALUES (:key_hash, :customer_id) {ignore}"
    )
    for keys in _each_chunk(conn):
        if keys:
            conn.execute(insert, keys)


def downgrade():
    # The keys of the two kinds go; a key shared with another kind (a 64-bit hash collision) goes with them,
    # and `flask identity suggest` writes every key again.
    conn = op.get_bind()
    delete = sa.text("DELETE FROM match_keys WHERE key_hash = :key_hash AND customer_id = :customer_id")
    for keys in _each_chunk(conn):
        if keys:
            conn.execute(delete, keys)
