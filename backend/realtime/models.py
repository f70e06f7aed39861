"""The append-only event log: audit trail and source of the live stream."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime


class EventRow(Base):
    """One change, written in the same transaction as the change itself.

    `seq` is assigned by the writer (not autoincrement) so it stays gap-free: see `outbox.py`.
    """

    __tablename__ = "events"
    # KPIs read one kind of event over a time range (rider shifts, intake, trouble).
    __table_args__ = (Index("ix_events_kind_at", "kind", "at"),)

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=False
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
