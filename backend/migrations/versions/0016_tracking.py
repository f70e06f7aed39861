"""each order's tracking link: its token encrypted, found by a blind index; the rider's request
to sign, and when the customer signed

Revision ID: 0016
Revises: 0017
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from backend.db import UTCDateTime

revision: str = "0016"
# Assigned "0014"; after this branch merged h-proof (0017, also after 0014) one chain is needed
# for a single head: the coordinator re-chains the wave's migrations at merge.
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tracking_links",
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("token_index", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("sign_requested_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("signed_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_tracking_links_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_tracking_links")),
        sa.UniqueConstraint("token_index", name=op.f("uq_tracking_links_token_index")),
    )


def downgrade() -> None:
    op.drop_table("tracking_links")
