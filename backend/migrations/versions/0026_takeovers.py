"""automatic handover proposals (takeovers)

Revision ID: 0026
Revises: 0025
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from backend.db import UTCDateTime

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "takeovers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rider_id", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("moves", sa.JSON(), nullable=False),
        sa.Column("proposed_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=40), nullable=True),
        sa.Column("outcome", sa.String(length=300), nullable=True),
        sa.Column("undone_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("undone_by", sa.String(length=40), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rider_id"], ["riders.id"], name=op.f("fk_takeovers_rider_id_riders")
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_takeovers_alert_id_alerts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_takeovers")),
        sa.UniqueConstraint("alert_id", name=op.f("uq_takeovers_alert_id")),
    )
    op.create_index(op.f("ix_takeovers_rider_id"), "takeovers", ["rider_id"], unique=False)
    op.create_index("ix_takeovers_state_due", "takeovers", ["state", "due_at"], unique=False)
    op.create_index(
        "uq_takeovers_proposed",
        "takeovers",
        ["rider_id"],
        unique=True,
        sqlite_where=sa.text("state = 'proposed'"),
        postgresql_where=sa.text("state = 'proposed'"),
    )


def downgrade() -> None:
    op.drop_index("uq_takeovers_proposed", table_name="takeovers")
    op.drop_index("ix_takeovers_state_due", table_name="takeovers")
    op.drop_index(op.f("ix_takeovers_rider_id"), table_name="takeovers")
    op.drop_table("takeovers")
