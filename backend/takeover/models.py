"""The takeovers table: one row per proposed handover of one rider's orders."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime


class TakeoverRow(Base):
    """A proposal (then its outcome) to hand one rider's orders to other riders."""

    __tablename__ = "takeovers"
    __table_args__ = (
        # One standing proposal per rider, whichever instance proposes it.
        Index(
            "uq_takeovers_proposed",
            "rider_id",
            unique=True,
            sqlite_where=text("state = 'proposed'"),
            postgresql_where=text("state = 'proposed'"),
        ),
        Index("ix_takeovers_state_due", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rider_id: Mapped[int] = mapped_column(ForeignKey("riders.id"), index=True)
    trigger: Mapped[str] = mapped_column(String(20))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), unique=True)
    """The alert that made it: one proposal per alert, ever (unique)."""
    reason: Mapped[str] = mapped_column(String(500))
    state: Mapped[str] = mapped_column(String(20))
    moves: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """Per order: id, version and state when proposed, promise, taker and ETA; once carried
    out, the version it moved at (what an undo checks)."""
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(40))
    outcome: Mapped[str | None] = mapped_column(String(300))
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    undone_by: Mapped[str | None] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(default=1)
