"""Tables for deliveries: what one rider carries on one trip, and which order lines are in it.

An order is delivered in one or more deliveries (split when too heavy, or too much cold-chain
goods for one box); a delivery may hold several orders (merged: the same customer and address,
or the same group-buy leader). Orders stay separate for money and history; a rider's capacity
counts deliveries, since merged orders travel as one parcel.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime


class DeliveryRow(Base):
    """One parcel: `open` while it is put together, `out` on the road, `done` once every order
    in it is settled (its rider's slot is free again)."""

    __tablename__ = "deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'out', 'done')", name="known_status"),
        Index("ix_deliveries_merge", "merge_key", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    warehouse_id: Mapped[str] = mapped_column(ForeignKey("warehouses.id"))
    status: Mapped[str] = mapped_column(String(10), default="open")
    merge_key: Mapped[str | None] = mapped_column(String(80))
    """Orders with the same key may join this delivery (customer and address, or pick-up
    leader); None never takes another order."""
    rider_id: Mapped[int | None] = mapped_column(ForeignKey("riders.id"), index=True)
    weight_g: Mapped[int]
    cold_weight_g: Mapped[int]
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    """When its first order came in: the merge window counts from here."""
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def cold_chain(self) -> bool:
        """The parcel needs a rider with a cold-chain box."""
        return self.cold_weight_g > 0


class DeliveryItemRow(Base):
    """Units of one order line carried in one delivery."""

    __tablename__ = "delivery_items"

    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"), primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True, index=True)
    line: Mapped[int] = mapped_column(primary_key=True)
    quantity: Mapped[int]
    weight_g: Mapped[int]
    cold_chain: Mapped[bool]
