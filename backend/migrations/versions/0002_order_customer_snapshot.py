"""orders keep their own copy of the customer's name and phone

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("customer_name", sa.String(length=120), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("customer_phone", sa.String(length=30), nullable=False, server_default="")
        )
    # Existing orders take the customer as it stands now: the best record there is.
    op.execute(
        "UPDATE orders SET "
        "customer_name = (SELECT name FROM customers WHERE customers.id = orders.customer_id), "
        "customer_phone = (SELECT phone FROM customers WHERE customers.id = orders.customer_id)"
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.alter_column("customer_name", server_default=None)
        batch_op.alter_column("customer_phone", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("customer_phone")
        batch_op.drop_column("customer_name")
