"""customer notifications: the outbox of messages, one per order and rule

Revision ID: 0018
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db

revision: str = "0018"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=30), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_until", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=40), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("sent_at", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("notifier", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_notifications_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("order_id", "rule", name=op.f("uq_notifications_order_id_rule")),
    )
    op.create_index(
        "ix_notifications_due", "notifications", ["status", "next_attempt_at"], unique=False
    )
    op.create_index(op.f("ix_notifications_order_id"), "notifications", ["order_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_notifications_order_id"), table_name="notifications")
    op.drop_index("ix_notifications_due", table_name="notifications")
    op.drop_table("notifications")
