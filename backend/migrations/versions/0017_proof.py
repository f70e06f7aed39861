"""proofs of delivery (photo, signature, PIN) and each order's customer PIN; returns, claims
and exchanges opened after sale

Revision ID: 0017
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db

revision: str = "0017"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "proofs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("media_type", sa.String(length=40), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("taken_by", sa.String(length=40), nullable=False),
        sa.Column("taken_role", sa.String(length=20), nullable=False),
        sa.Column("taken_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_proofs_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["warehouse_id"], ["warehouses.id"], name=op.f("fk_proofs_warehouse_id_warehouses")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proofs")),
    )
    with op.batch_alter_table("proofs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_proofs_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_proofs_sha256"), ["sha256"], unique=False)
        batch_op.create_index(
            "ix_proofs_warehouse_taken", ["warehouse_id", "taken_at"], unique=False
        )
    op.create_table(
        "order_pins",
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("pin", sa.Text(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_order_pins_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_order_pins")),
    )
    with op.batch_alter_table("return_requests", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("after_sale", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("return_requests", schema=None) as batch_op:
        batch_op.drop_column("after_sale")
    op.drop_table("order_pins")
    with op.batch_alter_table("proofs", schema=None) as batch_op:
        batch_op.drop_index("ix_proofs_warehouse_taken")
        batch_op.drop_index(batch_op.f("ix_proofs_sha256"))
        batch_op.drop_index(batch_op.f("ix_proofs_order_id"))
    op.drop_table("proofs")
