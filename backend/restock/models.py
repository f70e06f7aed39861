"""The merchants' decisions on restock suggestions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime


class RestockDecisionRow(Base):
    """One accepted or adjusted suggestion: units on order until they are received."""

    __tablename__ = "restock_decisions"
    __table_args__ = (
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        CheckConstraint("suggested >= 0", name="suggested_not_negative"),
        CheckConstraint("decision IN ('accepted', 'adjusted')", name="decision_known"),
        # The open decisions of a warehouse (its units on order) are read on every plan.
        Index("ix_restock_decisions_open", "warehouse_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    warehouse_id: Mapped[str] = mapped_column(ForeignKey("warehouses.id"))
    sku: Mapped[str] = mapped_column(ForeignKey("skus.sku"))
    decision: Mapped[str] = mapped_column(String(10))
    suggested: Mapped[int]
    quantity: Mapped[int]
    version: Mapped[str] = mapped_column(String(64))
    """The stock position the suggestion was made on (`service.position_version`)."""
    decided_by: Mapped[str] = mapped_column(String(40))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    received_by: Mapped[str | None] = mapped_column(String(40))
