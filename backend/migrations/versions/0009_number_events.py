"""PostgreSQL: number_events(), one round of the event log's sequencer in one round trip

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A volatile function takes a snapshot for each statement (READ COMMITTED): the UPDATE sees the
# numbers given by the round that held the lock before this one. The lock is released when the
# calling statement's transaction ends, after the numbers are committed with it.
NUMBER_EVENTS = """
CREATE OR REPLACE FUNCTION number_events(lock_key bigint, round_limit integer)
RETURNS SETOF events LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(lock_key);
    RETURN QUERY
    WITH top AS (SELECT coalesce(max(seq), 0) AS seq FROM events),
    ready AS (
        SELECT id, row_number() OVER (ORDER BY id) AS n
        FROM events WHERE seq IS NULL ORDER BY id LIMIT round_limit
    )
    UPDATE events SET seq = top.seq + ready.n
    FROM ready, top
    WHERE events.id = ready.id
    RETURNING events.*;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(NUMBER_EVENTS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS number_events(bigint, integer)")
