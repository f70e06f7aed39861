"""Tables for proofs of delivery and each order's customer PIN."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.crypto.columns import Sealed
from backend.db import Base, UTCDateTime


class ProofRow(Base):
    """One proof that an order reached its customer: a photo or a signature (its content kept
    by its SHA-256 in the proof storage), or the customer's PIN checked at the door."""

    __tablename__ = "proofs"
    __table_args__ = (Index("ix_proofs_warehouse_taken", "warehouse_id", "taken_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    warehouse_id: Mapped[str] = mapped_column(ForeignKey("warehouses.id"))
    """Copied from the order: a warehouse's day of proofs is read without the orders."""
    kind: Mapped[str] = mapped_column(String(20))
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    """The stored content's hash (hex); None for a PIN, which has no content."""
    media_type: Mapped[str | None] = mapped_column(String(40))
    size_bytes: Mapped[int] = mapped_column(default=0)
    width: Mapped[int | None]
    height: Mapped[int | None]
    taken_by: Mapped[str] = mapped_column(String(40))
    taken_role: Mapped[str] = mapped_column(String(20))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OrderPinRow(Base):
    """The PIN the customer tells the rider at the door, minted with the order: kept
    encrypted (the channel's receipt and the tracking page show it to the customer), checked
    against what the rider types, with wrong tries counted."""

    __tablename__ = "order_pins"

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    pin: Mapped[str] = mapped_column(Sealed("order_pins.pin"))
    failures: Mapped[int] = mapped_column(default=0)
    """Wrong PINs typed for this order; at `pin_max_failures` the PIN is refused for good
    (the rider proves the delivery another way)."""
