"""the event log keyed by append order (`id`); `seq`, the stream's number, given after commit
on PostgreSQL, so appenders no longer take turns

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    "kind, order_id, rider_id, warehouse_id, from_state, to_state, actor, role, client_addr, "
    "at, reason, payload"
)
UNNUMBERED = sa.text("seq IS NULL")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.add_column("events", sa.Column("id", sa.BigInteger(), nullable=True))
        op.execute("UPDATE events SET id = seq")
        op.execute("CREATE SEQUENCE events_id_seq OWNED BY events.id")
        op.execute(
            "SELECT setval('events_id_seq', coalesce((SELECT max(id) FROM events), 0) + 1, false)"
        )
        op.execute("ALTER TABLE events ALTER COLUMN id SET DEFAULT nextval('events_id_seq')")
        op.alter_column("events", "id", nullable=False)
        op.drop_constraint("pk_events", "events", type_="primary")
        op.create_primary_key("pk_events", "events", ["id"])
        op.alter_column("events", "seq", nullable=True)
        op.create_unique_constraint("uq_events_seq", "events", ["seq"])
        op.create_index("ix_events_unnumbered", "events", ["id"], postgresql_where=UNNUMBERED)
        return
    # SQLite cannot change a primary key in place: a new table, the rows copied (id = seq).
    op.create_table(
        "events_new",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=True),
        *_other_columns(),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.UniqueConstraint("seq", name="uq_events_seq"),
    )
    op.execute(
        f"INSERT INTO events_new (id, seq, {COLUMNS}) SELECT seq, seq, {COLUMNS} FROM events"
    )
    op.drop_table("events")
    op.rename_table("events_new", "events")
    _index_events()
    op.create_index("ix_events_unnumbered", "events", ["id"], sqlite_where=UNNUMBERED)


def downgrade() -> None:
    op.execute("DELETE FROM events WHERE seq IS NULL")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_events_unnumbered", table_name="events")
        op.drop_constraint("uq_events_seq", "events", type_="unique")
        op.alter_column("events", "seq", nullable=False)
        op.drop_constraint("pk_events", "events", type_="primary")
        op.create_primary_key("pk_events", "events", ["seq"])
        op.drop_column("events", "id")
        return
    op.create_table(
        "events_old",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        *_other_columns(),
        sa.PrimaryKeyConstraint("seq", name="pk_events"),
    )
    op.execute(f"INSERT INTO events_old (seq, {COLUMNS}) SELECT seq, {COLUMNS} FROM events")
    op.drop_table("events")
    op.rename_table("events_old", "events")
    _index_events()


def _other_columns() -> list[sa.Column]:
    return [
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("rider_id", sa.Integer(), nullable=True),
        sa.Column("warehouse_id", sa.String(length=40), nullable=True),
        sa.Column("from_state", sa.String(length=20), nullable=True),
        sa.Column("to_state", sa.String(length=20), nullable=True),
        sa.Column("actor", sa.String(length=40), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("client_addr", sa.String(length=64), nullable=True),
        sa.Column("at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
    ]


def _index_events() -> None:
    op.create_index("ix_events_at", "events", ["at"])
    op.create_index("ix_events_order_id", "events", ["order_id"])
    op.create_index("ix_events_rider_id", "events", ["rider_id"])
    op.create_index("ix_events_kind_at", "events", ["kind", "at"])
