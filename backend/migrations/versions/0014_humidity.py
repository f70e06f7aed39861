"""sensor readings carry relative humidity beside (or instead of) temperature; an index on
their time for the KPI window's readings

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("temperature_readings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("humidity", sa.Double(), nullable=True))
        batch_op.alter_column("celsius", existing_type=sa.Double(), nullable=True)
        batch_op.create_check_constraint(
            op.f("ck_temperature_readings_something_measured"),
            "celsius IS NOT NULL OR humidity IS NOT NULL",
        )
        batch_op.create_index("ix_temperature_readings_at", ["at"], unique=False)


def downgrade() -> None:
    # Readings of humidity alone have no temperature to keep.
    op.execute("DELETE FROM temperature_readings WHERE celsius IS NULL")
    with op.batch_alter_table("temperature_readings", schema=None) as batch_op:
        batch_op.drop_index("ix_temperature_readings_at")
        batch_op.drop_constraint(op.f("ck_temperature_readings_something_measured"), type_="check")
        batch_op.alter_column("celsius", existing_type=sa.Double(), nullable=False)
        batch_op.drop_column("humidity")
