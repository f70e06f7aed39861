"""personal fields encrypted at rest: wider text columns for ciphertext, the customers' phone
found by a blind index instead of a unique plain phone, the orders' search tags, when a
customer was erased, and stored answers indexed by age (they are pruned)

Values written before this revision stay plain until the backend's first start after it,
which encrypts them and fills the blind index (`backend/privacy/upkeep.py`): a migration has
no keys (they are never in the database).

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEALED = {
    "customers": {"name": 120, "phone": 30, "address": 300},
    "orders": {"customer_name": 120, "customer_phone": 30, "address": 300},
    "riders": {"phone": 30},
}


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_customers_phone"), type_="unique")
        for column, length in SEALED["customers"].items():
            batch_op.alter_column(
                column, existing_type=sa.String(length=length), type_=sa.Text(), nullable=False
            )
        batch_op.add_column(sa.Column("phone_index", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("erased_by", sa.String(length=40), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_customers_phone_index"), ["phone_index"])
    with op.batch_alter_table("orders", schema=None) as batch_op:
        for column, length in SEALED["orders"].items():
            batch_op.alter_column(
                column, existing_type=sa.String(length=length), type_=sa.Text(), nullable=False
            )
        batch_op.add_column(sa.Column("search_tags", sa.Text(), nullable=True))
    with op.batch_alter_table("riders", schema=None) as batch_op:
        batch_op.alter_column(
            "phone", existing_type=sa.String(length=30), type_=sa.Text(), nullable=False
        )
    # Stored answers are pruned by age.
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotency_keys_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_created_at"))
    # Only a database whose values are plain again (`keys decrypt` does not exist: restore a
    # backup) fits the narrow columns; the structure is put back as it was.
    with op.batch_alter_table("riders", schema=None) as batch_op:
        batch_op.alter_column(
            "phone", existing_type=sa.Text(), type_=sa.String(length=30), nullable=False
        )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("search_tags")
        for column, length in SEALED["orders"].items():
            batch_op.alter_column(
                column, existing_type=sa.Text(), type_=sa.String(length=length), nullable=False
            )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_customers_phone_index"), type_="unique")
        batch_op.drop_column("erased_by")
        batch_op.drop_column("erased_at")
        batch_op.drop_column("phone_index")
        for column, length in SEALED["customers"].items():
            batch_op.alter_column(
                column, existing_type=sa.Text(), type_=sa.String(length=length), nullable=False
            )
        batch_op.create_unique_constraint(batch_op.f("uq_customers_phone"), ["phone"])
