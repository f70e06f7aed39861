"""The notifications table: the outbox of what the customers are to be told."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime

PENDING, SENT, PARKED = "pending", "sent", "parked"
"""A row waits to be sent (again), went out, or was given up on (for the desk to see)."""


class NotificationRow(Base):
    """One message of one rule about one order; written in the transaction that decided it."""

    __tablename__ = "notifications"
    __table_args__ = (
        # Exactly once per order and rule, however many passes, retries or instances decide it.
        UniqueConstraint("order_id", "rule"),
        Index("ix_notifications_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    """The idempotency key a gateway drops repeats by; also the order messages go out in."""
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    rule: Mapped[str] = mapped_column(String(30))
    message: Mapped[str] = mapped_column(String(500))
    """As rendered when decided: the order's reference and times, nothing personal."""
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """A sender claimed it until then: no other instance sends it meanwhile."""
    lease_owner: Mapped[str | None] = mapped_column(String(40))
    last_error: Mapped[str | None] = mapped_column(String(300))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    notifier: Mapped[str | None] = mapped_column(String(20))
    """Which notifier took it (http, log)."""
