"""Return and claim requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime


class ReturnRequestRow(Base):
    """A return (refused goods), a claim (damaged goods) or, after sale, an exchange, waiting
    for, or given, a decision."""

    __tablename__ = "return_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    warehouse_id: Mapped[str] = mapped_column(ForeignKey("warehouses.id"))
    reason: Mapped[str] = mapped_column(String(500))
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    amount_cents: Mapped[int] = mapped_column(default=0)
    opened_by: Mapped[str] = mapped_column(String(40))
    opened_role: Mapped[str] = mapped_column(String(20))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(40))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_reason: Mapped[str | None] = mapped_column(String(500))
    version: Mapped[int] = mapped_column(default=1)
    after_sale: Mapped[bool] = mapped_column(default=False, server_default=false())
    """Opened after the order was signed: approving moves it on from SIGNED, not EXCEPTION."""
    category: Mapped[str | None] = mapped_column(String(20), index=True)
    """A complaint's category (`ComplaintCategory`); null for the other kinds."""
    outcome: Mapped[str | None] = mapped_column(String(20))
    """A resolved complaint's outcome (`ComplaintOutcome`)."""
    outcome_cents: Mapped[int] = mapped_column(default=0, server_default="0")
    """A resolved complaint's voucher or refund."""
