"""delivery progress keeps each order's place in its rider's sequence, what was last published
of its ETA and when it arrived; riders keep whether they are at their warehouse

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("delivery_progress", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sequence", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(
            sa.Column("eta_sent_at", backend.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("eta_sent", backend.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("late_sent", sa.Boolean(), nullable=True))
        batch_op.add_column(
            sa.Column("arrived_at", backend.db.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("delivery_progress", schema=None) as batch_op:
        batch_op.alter_column("sequence", server_default=None)
    with op.batch_alter_table("riders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("at_warehouse", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("riders", schema=None) as batch_op:
        batch_op.drop_column("at_warehouse")
    with op.batch_alter_table("delivery_progress", schema=None) as batch_op:
        batch_op.drop_column("arrived_at")
        batch_op.drop_column("late_sent")
        batch_op.drop_column("eta_sent")
        batch_op.drop_column("eta_sent_at")
        batch_op.drop_column("sequence")
