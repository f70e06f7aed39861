"""route plans: a dispatcher's order of a rider's stops, and the stops locked in place

Revision ID: 0027
Revises: 0024
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from backend.db import UTCDateTime

revision: str = "0027"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rider_routes",
        sa.Column("rider_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("set_by", sa.String(length=40), nullable=False),
        sa.Column("set_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["rider_id"], ["riders.id"], name=op.f("fk_rider_routes_rider_id_riders")
        ),
        sa.PrimaryKeyConstraint("rider_id", name=op.f("pk_rider_routes")),
    )
    op.create_table(
        "route_stops",
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("rider_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_route_stops_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["rider_id"], ["riders.id"], name=op.f("fk_route_stops_rider_id_riders")
        ),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_route_stops")),
    )
    op.create_index(op.f("ix_route_stops_rider_id"), "route_stops", ["rider_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_route_stops_rider_id"), table_name="route_stops")
    op.drop_table("route_stops")
    op.drop_table("rider_routes")
