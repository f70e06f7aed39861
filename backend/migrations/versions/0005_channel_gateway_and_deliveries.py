"""the channel gateway (receipts, callbacks, statements, rejections) and deliveries

Every existing order gets one delivery of its own (same id), carrying all of its lines, with its
rider while it is still on their hands: riders' loads then count deliveries, as before.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channel_rejections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("received_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("external_id", sa.String(length=40), nullable=True),
        sa.Column("field", sa.String(length=80), nullable=True),
        sa.Column("channel_field", sa.String(length=80), nullable=True),
        sa.Column("problem", sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_rejections")),
    )
    with op.batch_alter_table("channel_rejections", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_channel_rejections_channel"), ["channel"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_channel_rejections_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "channel_statements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("received_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_statements")),
        sa.UniqueConstraint("channel", "day", name=op.f("uq_channel_statements_channel_day")),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("merge_key", sa.String(length=80), nullable=True),
        sa.Column("rider_id", sa.Integer(), nullable=True),
        sa.Column("weight_g", sa.Integer(), nullable=False),
        sa.Column("cold_weight_g", sa.Integer(), nullable=False),
        sa.Column("opened_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'out', 'done')", name=op.f("ck_deliveries_known_status")
        ),
        sa.ForeignKeyConstraint(
            ["rider_id"], ["riders.id"], name=op.f("fk_deliveries_rider_id_riders")
        ),
        sa.ForeignKeyConstraint(
            ["warehouse_id"], ["warehouses.id"], name=op.f("fk_deliveries_warehouse_id_warehouses")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_deliveries_merge", ["merge_key", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_deliveries_rider_id"), ["rider_id"], unique=False)

    op.create_table(
        "channel_callbacks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("callback_id", sa.String(length=80), nullable=False),
        sa.Column("external_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("occurred_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.String(length=300), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_channel_callbacks_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_callbacks")),
        sa.UniqueConstraint(
            "channel", "callback_id", name=op.f("uq_channel_callbacks_channel_callback_id")
        ),
    )
    with op.batch_alter_table("channel_callbacks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_channel_callbacks_external_id"), ["external_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_channel_callbacks_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "channel_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("external_id", sa.String(length=40), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("reported_amount_cents", sa.Integer(), nullable=False),
        sa.Column("received_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_channel_orders_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_orders")),
        sa.UniqueConstraint(
            "channel", "external_id", name=op.f("uq_channel_orders_channel_external_id")
        ),
    )
    with op.batch_alter_table("channel_orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_channel_orders_order_id"), ["order_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_channel_orders_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "delivery_items",
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("weight_g", sa.Integer(), nullable=False),
        sa.Column("cold_chain", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_delivery_items_delivery_id_deliveries"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_delivery_items_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("delivery_id", "order_id", "line", name=op.f("pk_delivery_items")),
    )
    with op.batch_alter_table("delivery_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delivery_items_order_id"), ["order_id"], unique=False)

    _one_delivery_per_existing_order()


# States in which an order no longer holds its rider (backend/orders/service.py RIDER_FREE_STATES),
# and those in which its goods are on the road.
_DONE = "('SIGNED', 'RETURNED', 'CLAIMING', 'CLAIM_SETTLED', 'CANCELLED')"
_OUT = "('DELIVERING', 'EXCEPTION', 'RETURNING')"


def _one_delivery_per_existing_order() -> None:
    op.execute(
        f"""
        INSERT INTO deliveries
            (id, warehouse_id, status, merge_key, rider_id, weight_g, cold_weight_g, opened_at,
             closed_at)
        SELECT o.id, o.warehouse_id,
               CASE WHEN o.status IN {_DONE} THEN 'done'
                    WHEN o.status IN {_OUT} THEN 'out' ELSE 'open' END,
               NULL, o.rider_id, o.weight_g,
               COALESCE((SELECT SUM(i.weight_g) FROM order_items i
                         WHERE i.order_id = o.id AND i.cold_chain), 0),
               o.created_at,
               CASE WHEN o.status IN {_DONE} THEN o.updated_at END
        FROM orders o
        """
    )
    op.execute(
        """
        INSERT INTO delivery_items (delivery_id, order_id, line, quantity, weight_g, cold_chain)
        SELECT order_id, order_id, line, quantity, weight_g, cold_chain FROM order_items
        """
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "SELECT setval(pg_get_serial_sequence('deliveries', 'id'), "
            "COALESCE((SELECT MAX(id) FROM deliveries), 0) + 1, false)"
        )


def downgrade() -> None:
    with op.batch_alter_table("delivery_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_items_order_id"))

    op.drop_table("delivery_items")
    with op.batch_alter_table("channel_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_channel_orders_received_at"))
        batch_op.drop_index(batch_op.f("ix_channel_orders_order_id"))

    op.drop_table("channel_orders")
    with op.batch_alter_table("channel_callbacks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_channel_callbacks_received_at"))
        batch_op.drop_index(batch_op.f("ix_channel_callbacks_external_id"))

    op.drop_table("channel_callbacks")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deliveries_rider_id"))
        batch_op.drop_index("ix_deliveries_merge")

    op.drop_table("deliveries")
    op.drop_table("channel_statements")
    with op.batch_alter_table("channel_rejections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_channel_rejections_received_at"))
        batch_op.drop_index(batch_op.f("ix_channel_rejections_channel"))

    op.drop_table("channel_rejections")
