"""product model: customers per product, per pair of products and per segment, and each build

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 19:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "product_counts",
        sa.Column("sku", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=True),
        sa.Column("category", sa.String(length=200), nullable=True),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("sku", name=op.f("pk_product_counts")),
    )
    op.create_table(
        "product_pairs",
        sa.Column("sku_a", sa.String(length=200), nullable=False),
        sa.Column("sku_b", sa.String(length=200), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("sku_a", "sku_b", name=op.f("pk_product_pairs")),
    )
    op.create_table(
        "segment_products",
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=200), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segments.id"],
            name=op.f("fk_segment_products_segment_id_segments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("segment_id", "sku", name=op.f("pk_segment_products")),
    )
    with op.batch_alter_table("segment_products", schema=None) as batch_op:
        batch_op.create_index("ix_segment_products_rank", ["segment_id", "customers"], unique=False)
    op.create_table(
        "product_builds",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("products", sa.Integer(), nullable=False),
        sa.Column("pairs", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_builds")),
    )
    with op.batch_alter_table("product_builds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_product_builds_built_at"), ["built_at"], unique=False)


def downgrade():
    with op.batch_alter_table("product_builds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_builds_built_at"))
    op.drop_table("product_builds")
    with op.batch_alter_table("segment_products", schema=None) as batch_op:
        batch_op.drop_index("ix_segment_products_rank")
    op.drop_table("segment_products")
    op.drop_table("product_pairs")
    op.drop_table("product_counts")
