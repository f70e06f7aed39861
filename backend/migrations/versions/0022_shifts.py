"""riders' planned shifts (the roster)

Revision ID: 0022
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from backend.db import UTCDateTime

revision: str = "0022"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rider_shifts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rider_id", sa.Integer(), nullable=False),
        sa.Column("zone", sa.String(length=60), nullable=False),
        sa.Column("starts_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_rider_shifts_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["rider_id"], ["riders.id"], name=op.f("fk_rider_shifts_rider_id_riders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rider_shifts")),
    )
    op.create_index(
        "ix_rider_shifts_rider_starts", "rider_shifts", ["rider_id", "starts_at"], unique=False
    )
    op.create_index("ix_rider_shifts_zone_ends", "rider_shifts", ["zone", "ends_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_rider_shifts_zone_ends", table_name="rider_shifts")
    op.drop_index("ix_rider_shifts_rider_starts", table_name="rider_shifts")
    op.drop_table("rider_shifts")
