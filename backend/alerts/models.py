"""The alerts table: one row per alert, resolved rows kept as history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime

ACTIVE = ("open", "acknowledged", "snoozed")
"""States of an alert that still stands; at most one per rule and subject."""


class AlertRow(Base):
    """One alert of one rule about one subject ("order:12", "rider:3", "request:7")."""

    __tablename__ = "alerts"
    __table_args__ = (
        # No floods: one standing alert per rule and subject, whoever raises it.
        Index(
            "uq_alerts_standing",
            "rule",
            "subject",
            unique=True,
            sqlite_where=text("state != 'resolved'"),
            postgresql_where=text("state != 'resolved'"),
        ),
        Index("ix_alerts_state_severity", "state", "severity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(60))
    severity: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    order_id: Mapped[int | None] = mapped_column(index=True)
    rider_id: Mapped[int | None] = mapped_column(index=True)
    request_id: Mapped[int | None]
    warehouse_id: Mapped[str | None] = mapped_column(String(40))
    zone: Mapped[str | None] = mapped_column(String(60))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    attention_since: Mapped[datetime] = mapped_column(UTCDateTime())
    """Since when it has waited for someone unanswered (opened, or back from a snooze): the
    escalation clock."""
    acknowledged_by: Mapped[str | None] = mapped_column(String(40))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(String(500))
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolution: Mapped[str | None] = mapped_column(String(300))
    changed_by: Mapped[str] = mapped_column(String(40))
    changed_role: Mapped[str] = mapped_column(String(20))
    """Who made the last change (a stale version's 409 names them)."""
    version: Mapped[int] = mapped_column(default=1)
