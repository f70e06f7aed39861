"""delivery zones and their streets live in the database (the demo seeds its city's), no longer
in the simulator's data

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "zones",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("warehouse_id", sa.String(length=40), nullable=False),
        sa.Column("polygon", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["warehouse_id"], ["warehouses.id"], name=op.f("fk_zones_warehouse_id_warehouses")
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_zones")),
    )
    with op.batch_alter_table("zones", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_zones_warehouse_id"), ["warehouse_id"], unique=False)

    op.create_table(
        "streets",
        sa.Column("zone", sa.String(length=60), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(["zone"], ["zones.name"], name=op.f("fk_streets_zone_zones")),
        sa.PrimaryKeyConstraint("zone", "position", name=op.f("pk_streets")),
    )


def downgrade() -> None:
    op.drop_table("streets")
    with op.batch_alter_table("zones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_zones_warehouse_id"))
    op.drop_table("zones")
