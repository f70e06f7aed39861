"""SSH keys for `freshline ssh-serve`, and the session tokens issued for them

Revision ID: 0024
Revises: 0026
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from backend.db import UTCDateTime

revision: str = "0024"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ssh_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=60), nullable=False),
        sa.Column("key_type", sa.String(length=40), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("label", sa.String(length=80), nullable=True),
        sa.Column("read_only", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_ssh_keys_user_id_users")),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_ssh_keys_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ssh_keys")),
    )
    op.create_index(op.f("ix_ssh_keys_user_id"), "ssh_keys", ["user_id"], unique=False)
    op.create_index(
        "uq_ssh_keys_live_fingerprint",
        "ssh_keys",
        ["fingerprint"],
        unique=True,
        sqlite_where=sa.text("revoked_at IS NULL"),
        postgresql_where=sa.text("revoked_at IS NULL"),
    )
    op.create_table(
        "ssh_sessions",
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("issued_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("peer", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["token_digest"], ["tokens.digest"], name=op.f("fk_ssh_sessions_token_digest_tokens")
        ),
        sa.ForeignKeyConstraint(
            ["key_id"], ["ssh_keys.id"], name=op.f("fk_ssh_sessions_key_id_ssh_keys")
        ),
        sa.PrimaryKeyConstraint("token_digest", name=op.f("pk_ssh_sessions")),
    )
    op.create_index(op.f("ix_ssh_sessions_key_id"), "ssh_sessions", ["key_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_ssh_sessions_key_id"), table_name="ssh_sessions")
    op.drop_table("ssh_sessions")
    op.drop_index("uq_ssh_keys_live_fingerprint", table_name="ssh_keys")
    op.drop_index(op.f("ix_ssh_keys_user_id"), table_name="ssh_keys")
    op.drop_table("ssh_keys")
