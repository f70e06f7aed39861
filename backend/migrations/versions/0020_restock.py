"""restock decisions: merchants' answers to restock suggestions, on order until received

Revision ID: 0020
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db

revision: str = "0020"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "restock_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.String(length=40), nullable=False),
        sa.Column("sku", sa.String(length=40), nullable=False),
        sa.Column("decision", sa.String(length=10), nullable=False),
        sa.Column("suggested", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("decided_by", sa.String(length=40), nullable=False),
        sa.Column("decided_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("received_by", sa.String(length=40), nullable=True),
        sa.CheckConstraint(
            "decision IN ('accepted', 'adjusted')",
            name=op.f("ck_restock_decisions_decision_known"),
        ),
        sa.CheckConstraint(
            "quantity >= 0", name=op.f("ck_restock_decisions_quantity_not_negative")
        ),
        sa.CheckConstraint(
            "suggested >= 0", name=op.f("ck_restock_decisions_suggested_not_negative")
        ),
        sa.ForeignKeyConstraint(["sku"], ["skus.sku"], name=op.f("fk_restock_decisions_sku_skus")),
        sa.ForeignKeyConstraint(
            ["warehouse_id"],
            ["warehouses.id"],
            name=op.f("fk_restock_decisions_warehouse_id_warehouses"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_restock_decisions")),
    )
    op.create_index(
        "ix_restock_decisions_open",
        "restock_decisions",
        ["warehouse_id", "received_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_restock_decisions_open", table_name="restock_decisions")
    op.drop_table("restock_decisions")
