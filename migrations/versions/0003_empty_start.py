"""corrections keep what drawing the final mask from an empty one would have changed

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 03:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: corrections recorded before this revision have no figure, and computing it
    # would mean reading every stored mask inside a migration.
    with op.batch_alter_table("corrections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("empty_start_fraction", sa.Double(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("corrections", schema=None) as batch_op:
        batch_op.drop_column("empty_start_fraction")
