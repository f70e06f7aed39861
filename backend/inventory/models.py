"""Tables for warehouses, SKUs and stock."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, String, true
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base


class WarehouseRow(Base):
    """A front warehouse serving one delivery zone."""

    __tablename__ = "warehouses"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    zone: Mapped[str] = mapped_column(String(60), index=True)
    address: Mapped[str] = mapped_column(String(300))
    lat: Mapped[float]
    lng: Mapped[float]
    auto_dispatch: Mapped[bool] = mapped_column(default=True, server_default=true())
    """The backend gives its picking orders to the best rider by itself."""


class SkuRow(Base):
    """A catalogue item, priced once for every channel."""

    __tablename__ = "skus"

    sku: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    category: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str] = mapped_column(String(20))
    weight_g: Mapped[int]
    price_cents: Mapped[int]
    cold_chain: Mapped[bool]


class StockRow(Base):
    """Units of one SKU in one warehouse; `reserved` are promised to paid orders."""

    __tablename__ = "stock"
    __table_args__ = (
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("on_hand >= reserved", name="reserved_within_on_hand"),
    )

    warehouse_id: Mapped[str] = mapped_column(ForeignKey("warehouses.id"), primary_key=True)
    sku: Mapped[str] = mapped_column(ForeignKey("skus.sku"), primary_key=True)
    on_hand: Mapped[int]
    reserved: Mapped[int] = mapped_column(default=0)
