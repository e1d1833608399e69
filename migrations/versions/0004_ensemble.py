"""a model version may average its predictions with other versions' networks

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 05:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ensemble_with_ids", sa.JSON(), nullable=True))
    # Every version before this revision predicts with its own network alone.
    op.execute("UPDATE model_versions SET ensemble_with_ids = '[]'")
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.alter_column("ensemble_with_ids", existing_type=sa.JSON(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.drop_column("ensemble_with_ids")
