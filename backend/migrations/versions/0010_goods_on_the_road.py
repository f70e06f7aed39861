"""delivery progress keeps where the goods wait for a rider who took an order over on the road
(the accident site), until that rider has been there

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("delivery_progress", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pickup_lat", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("pickup_lng", sa.Double(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("delivery_progress", schema=None) as batch_op:
        batch_op.drop_column("pickup_lng")
        batch_op.drop_column("pickup_lat")
