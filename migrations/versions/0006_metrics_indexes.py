"""metrics indexes: survey and purchase rows by time, cases by when they opened

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 19:55:00

The CX metrics read surveys (and the product model purchases) of a date range, and cases opened in a
date range; without these they scan every interaction of the range, or every case.
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.create_index("ix_interactions_type_occurred", ["type", "occurred_at"], unique=False)
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index("ix_cases_opened_at", ["opened_at"], unique=False)


def downgrade():
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_opened_at")
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.drop_index("ix_interactions_type_occurred")
