"""alerts, return and claim requests, temperature readings, delivery progress, still riders

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=60), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("rider_id", sa.Integer(), nullable=True),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("warehouse_id", sa.String(length=40), nullable=True),
        sa.Column("zone", sa.String(length=60), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("opened_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attention_since", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_by", sa.String(length=40), nullable=True),
        sa.Column("acknowledged_at", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("snoozed_until", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.String(length=300), nullable=True),
        sa.Column("changed_by", sa.String(length=40), nullable=False),
        sa.Column("changed_role", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["alerts.id"], name=op.f("fk_alerts_parent_id_alerts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_rider_id"), ["rider_id"], unique=False)
        batch_op.create_index("ix_alerts_state_severity", ["state", "severity"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_updated_at"), ["updated_at"], unique=False)
        batch_op.create_index(
            "uq_alerts_standing",
            ["rule", "subject"],
            unique=True,
            sqlite_where=sa.text("state != 'resolved'"),
            postgresql_where=sa.text("state != 'resolved'"),
        )

    op.create_table(
        "temperature_readings",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("rider_id", sa.Integer(), nullable=True),
        sa.Column("celsius", sa.Double(), nullable=False),
        sa.Column("at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(order_id IS NULL) != (rider_id IS NULL)",
            name=op.f("ck_temperature_readings_order_or_vehicle"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_temperature_readings")),
    )
    with op.batch_alter_table("temperature_readings", schema=None) as batch_op:
        batch_op.create_index("ix_temperature_readings_order_at", ["order_id", "at"], unique=False)
        batch_op.create_index("ix_temperature_readings_rider_at", ["rider_id", "at"], unique=False)

    op.create_table(
        "delivery_progress",
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("rider_id", sa.Integer(), nullable=False),
        sa.Column("distance_m", sa.Double(), nullable=False),
        sa.Column("closest_m", sa.Double(), nullable=False),
        sa.Column("speed_kmh", sa.Double(), nullable=False),
        sa.Column("eta_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("fix_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_delivery_progress_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["rider_id"], ["riders.id"], name=op.f("fk_delivery_progress_rider_id_riders")
        ),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_delivery_progress")),
    )
    with op.batch_alter_table("delivery_progress", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_delivery_progress_rider_id"), ["rider_id"], unique=False
        )

    op.create_table(
        "return_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("opened_by", sa.String(length=40), nullable=False),
        sa.Column("opened_role", sa.String(length=20), nullable=False),
        sa.Column("opened_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=40), nullable=True),
        sa.Column("decided_at", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.String(length=500), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_return_requests_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["warehouse_id"],
            ["warehouses.id"],
            name=op.f("fk_return_requests_warehouse_id_warehouses"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_requests")),
    )
    with op.batch_alter_table("return_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_return_requests_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_return_requests_state"), ["state"], unique=False)

    with op.batch_alter_table("riders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("still_lat", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("still_lng", sa.Double(), nullable=True))
        batch_op.add_column(
            sa.Column("still_since", backend.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("riders", schema=None) as batch_op:
        batch_op.drop_column("still_since")
        batch_op.drop_column("still_lng")
        batch_op.drop_column("still_lat")

    with op.batch_alter_table("return_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_return_requests_state"))
        batch_op.drop_index(batch_op.f("ix_return_requests_order_id"))

    op.drop_table("return_requests")
    with op.batch_alter_table("delivery_progress", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_progress_rider_id"))

    op.drop_table("delivery_progress")
    with op.batch_alter_table("temperature_readings", schema=None) as batch_op:
        batch_op.drop_index("ix_temperature_readings_rider_at")
        batch_op.drop_index("ix_temperature_readings_order_at")

    op.drop_table("temperature_readings")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_alerts_standing",
            sqlite_where=sa.text("state != 'resolved'"),
            postgresql_where=sa.text("state != 'resolved'"),
        )
        batch_op.drop_index(batch_op.f("ix_alerts_updated_at"))
        batch_op.drop_index("ix_alerts_state_severity")
        batch_op.drop_index(batch_op.f("ix_alerts_rider_id"))
        batch_op.drop_index(batch_op.f("ix_alerts_order_id"))

    op.drop_table("alerts")
