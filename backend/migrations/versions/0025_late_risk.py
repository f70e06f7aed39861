"""eta: the delay risk (P(late)) of each order out for delivery, beside its ETA

Revision ID: 0025
Revises: 0023
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("delivery_progress") as batch:
        batch.add_column(sa.Column("late_risk", sa.Double(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("delivery_progress") as batch:
        batch.drop_column("late_risk")
