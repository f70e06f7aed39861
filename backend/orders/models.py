"""Tables for customers, orders and order lines."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.crypto.columns import Sealed
from backend.db import Base, UTCDateTime


class CustomerRow(Base):
    """A customer, known by phone across channels: name, phone and address encrypted, the
    phone found by its blind index (`phone_index`, cleared when the customer is erased)."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Sealed("customers.name"))
    phone: Mapped[str] = mapped_column(Sealed("customers.phone"))
    phone_index: Mapped[str | None] = mapped_column(String(64), unique=True)
    address: Mapped[str] = mapped_column(Sealed("customers.address"))
    lat: Mapped[float]
    lng: Mapped[float]
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    erased_by: Mapped[str | None] = mapped_column(String(40))


class OrderRow(Base):
    """An order; `version` grows by one with every change, `open_rank` sorts open ones first."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        Index("ix_orders_urgency", "open_rank", "promised_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20), index=True)
    external_id: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    customer_name: Mapped[str] = mapped_column(Sealed("orders.customer_name"))
    """The name as this order's channel gave it; another channel's order never rewrites it."""
    customer_phone: Mapped[str] = mapped_column(Sealed("orders.customer_phone"))
    address: Mapped[str] = mapped_column(Sealed("orders.address"))
    search_tags: Mapped[str | None] = mapped_column(Text, deferred=True)
    """The blind index the search reads (`FieldCipher.search_tags`): phone suffixes and name
    words, as keyed hashes. Deferred: only the search's WHERE reads it, never a row's load."""
    lat: Mapped[float]
    lng: Mapped[float]
    zone: Mapped[str] = mapped_column(String(60), index=True)
    warehouse_id: Mapped[str] = mapped_column(ForeignKey("warehouses.id"), index=True)
    rider_id: Mapped[int | None] = mapped_column(ForeignKey("riders.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    open_rank: Mapped[int] = mapped_column(default=0)
    """0 while the order is still in play, 1 once it reached a final state."""
    version: Mapped[int] = mapped_column(default=1)
    stock_state: Mapped[str] = mapped_column(String(20), default="none")
    """none, reserved, consumed or released: what this order holds of the warehouse's stock."""
    amount_cents: Mapped[int]
    weight_g: Mapped[int]
    cold_chain: Mapped[bool]
    note: Mapped[str | None] = mapped_column(String(500))
    promised_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    picking_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    out_of_stock_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivering_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    exception_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    returning_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claiming_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claim_settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    customer: Mapped[CustomerRow] = relationship(lazy="select")
    items: Mapped[list[OrderItemRow]] = relationship(
        lazy="selectin", order_by="OrderItemRow.line", cascade="all, delete-orphan"
    )


class OrderItemRow(Base):
    """One line of an order, with the catalogue facts copied at ordering time."""

    __tablename__ = "order_items"

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    line: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(ForeignKey("skus.sku"))
    name: Mapped[str] = mapped_column(String(120))
    quantity: Mapped[int]
    unit: Mapped[str] = mapped_column(String(20))
    weight_g: Mapped[int]
    cold_chain: Mapped[bool]
    unit_price_cents: Mapped[int]
