"""complaints: a request's category, and the outcome a complaint is resolved with

Revision ID: 0021
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("return_requests") as batch:
        batch.add_column(sa.Column("category", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("outcome", sa.String(length=20), nullable=True))
        batch.add_column(
            sa.Column("outcome_cents", sa.Integer(), server_default="0", nullable=False)
        )
        batch.create_index(batch.f("ix_return_requests_category"), ["category"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("return_requests") as batch:
        batch.drop_index(batch.f("ix_return_requests_category"))
        batch.drop_column("outcome_cents")
        batch.drop_column("outcome")
        batch.drop_column("category")
