"""erased deliveries: tombstones of erased interactions (source, digest of the external id)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 22:50:00

A provider's retry of a delivery after its customer was erased must not bring the data back.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "erased_deliveries",
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_erased_deliveries_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("source_id", "digest", name=op.f("pk_erased_deliveries")),
    )


def downgrade():
    op.drop_table("erased_deliveries")
