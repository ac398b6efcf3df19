"""segments: CSV exports built by a job, and the log of every outbound delivery attempt

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 18:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "outbound_attempts",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("delivery_id", BIG_ID, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["outbound_deliveries.id"],
            name=op.f("fk_outbound_attempts_delivery_id_outbound_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_attempts")),
    )
    with op.batch_alter_table("outbound_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbound_attempts_delivery_id"), ["delivery_id"], unique=False)

    op.create_table(
        "segment_exports",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["segment_id"], ["segments.id"], name=op.f("fk_segment_exports_segment_id_segments"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment_exports")),
    )
    with op.batch_alter_table("segment_exports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_segment_exports_segment_id"), ["segment_id"], unique=False)


def downgrade():
    with op.batch_alter_table("segment_exports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_segment_exports_segment_id"))
    op.drop_table("segment_exports")
    with op.batch_alter_table("outbound_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbound_attempts_delivery_id"))
    op.drop_table("outbound_attempts")
