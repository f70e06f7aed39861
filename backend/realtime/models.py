"""The append-only event log: audit trail and source of the live stream."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime


class EventRow(Base):
    """One change, written in the same transaction as the change itself.

    `id` is the order of appending; `seq` the place on the stream, gap-free and in commit order:
    given by the SQLite writer as it appends, or by PostgreSQL's sequencer right after commit
    (null until then). See `backend/writer.py`.
    """

    __tablename__ = "events"
    __table_args__ = (
        # KPIs read one kind of event over a time range (rider shifts, intake, trouble).
        Index("ix_events_kind_at", "kind", "at"),
        # The sequencer's work list: rows not yet numbered (a handful at any time).
        Index(
            "ix_events_unnumbered",
            "id",
            postgresql_where=text("seq IS NULL"),
            sqlite_where=text("seq IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    seq: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), unique=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    order_id: Mapped[int | None] = mapped_column(index=True)
    rider_id: Mapped[int | None] = mapped_column(index=True)
    warehouse_id: Mapped[str | None] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str | None] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(20))
    client_addr: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    reason: Mapped[str | None] = mapped_column(String(500))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
