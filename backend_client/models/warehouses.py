"""Warehouses and their stock."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    Field,
)

from backend_client.models.common import Reason, Request, Response


class Warehouse(Response):
    """A front warehouse."""

    id: str
    name: str
    zone: str
    address: str
    lat: float
    lng: float
    auto_dispatch: bool = Field(description="Riders are assigned to its orders automatically.")


class DispatchSettings(Request):
    """Body of `PUT /api/v1/warehouses/{id}/dispatch`."""

    auto_dispatch: bool


class StockLevel(Response):
    """Stock of one SKU in one warehouse. `available` = `on_hand` - `reserved`."""

    warehouse_id: str
    sku: str
    name: str
    category: str
    unit: str
    cold_chain: bool
    price_cents: int
    on_hand: int
    reserved: int
    available: int


class StockAdjust(Request):
    """Add (restock) or remove (write-off, count correction) units on hand."""

    delta: Annotated[int, Field(ge=-100_000, le=100_000, examples=[24])]
    reason: Reason
