"""the archive's ledger: one row per day moved to Parquet, and erasures still to apply to it
(backend/archive/)

Revision ID: 0019
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from backend.db import UTCDateTime

revision: str = "0019"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "archive_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("checksums", sa.JSON(), nullable=False),
        sa.Column("first_at", UTCDateTime(), nullable=True),
        sa.Column("last_at", UTCDateTime(), nullable=True),
        sa.Column("min_order_id", sa.Integer(), nullable=True),
        sa.Column("max_order_id", sa.Integer(), nullable=True),
        sa.Column("max_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("written_at", UTCDateTime(), nullable=False),
        sa.Column("archived_at", UTCDateTime(), nullable=True),
        sa.Column("dropped_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("day", "part", name=op.f("pk_archive_days")),
    )
    op.create_table(
        "archive_erasures",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("done_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_archive_erasures")),
    )


def downgrade() -> None:
    op.drop_table("archive_erasures")
    op.drop_table("archive_days")
