"""Tables: registered SSH public keys, and the session tokens issued for them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime


class SshKeyRow(Base):
    """A public key that signs in as one account over SSH; revoked keys stay for the audit."""

    __tablename__ = "ssh_keys"
    __table_args__ = (
        # One live key per fingerprint; a revoked one may be registered again.
        Index(
            "uq_ssh_keys_live_fingerprint",
            "fingerprint",
            unique=True,
            sqlite_where="revoked_at IS NULL",
            postgresql_where="revoked_at IS NULL",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    fingerprint: Mapped[str] = mapped_column(String(60))
    key_type: Mapped[str] = mapped_column(String(40))
    public_key: Mapped[str] = mapped_column(Text)
    label: Mapped[str | None] = mapped_column(String(80))
    read_only: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SshSessionRow(Base):
    """A token issued to the gateway for one SSH session: revoking the key revokes these."""

    __tablename__ = "ssh_sessions"

    token_digest: Mapped[str] = mapped_column(ForeignKey("tokens.digest"), primary_key=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("ssh_keys.id"), index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    peer: Mapped[str | None] = mapped_column(String(64))
