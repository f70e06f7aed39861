"""`client.warehouses`: front warehouses, their stock, auto-dispatch, and the zones they serve."""

from __future__ import annotations

from datetime import datetime

from backend_client._transport import Resource, query_params
from backend_client.models import (
    DispatchSettings,
    RestockAction,
    RestockDecide,
    RestockDecision,
    RestockPlan,
    StockAdjust,
    StockLevel,
    Warehouse,
    WarehouseLosses,
    Zone,
)


class Warehouses(Resource):
    """Warehouses, their stock, and the delivery zones they serve."""

    async def all(self) -> list[Warehouse]:
        return await self._transport.call("GET", "/warehouses", list[Warehouse])

    async def get(self, warehouse_id: str) -> Warehouse:
        return await self._transport.call("GET", f"/warehouses/{warehouse_id}", Warehouse)

    async def stock(self, warehouse_id: str) -> list[StockLevel]:
        return await self._transport.call(
            "GET", f"/warehouses/{warehouse_id}/stock", list[StockLevel]
        )

    async def adjust_stock(
        self, warehouse_id: str, sku: str, delta: int, reason: str
    ) -> StockLevel:
        """Add (restock) or remove (write-off, count correction) units on hand."""
        return await self._transport.call(
            "POST",
            f"/warehouses/{warehouse_id}/stock/{sku}/adjust",
            StockLevel,
            json=StockAdjust(delta=delta, reason=reason),
        )

    async def restock(
        self,
        warehouse_id: str,
        *,
        lead_hours: float | None = None,
        review_hours: float | None = None,
        service_level: float | None = None,
        weeks: int | None = None,
    ) -> RestockPlan:
        """Restock suggestions per SKU, sized by the server's settings unless overridden."""
        asked = {
            "lead_hours": lead_hours,
            "review_hours": review_hours,
            "service_level": service_level,
            "weeks": weeks,
        }
        return await self._transport.call(
            "GET",
            f"/warehouses/{warehouse_id}/restock",
            RestockPlan,
            params={k: v for k, v in asked.items() if v is not None},
        )

    async def decide_restock(
        self,
        warehouse_id: str,
        sku: str,
        *,
        version: str,
        suggested: int,
        quantity: int | None = None,
    ) -> RestockDecision:
        """Accept the suggestion (`quantity` None) or adjust it to `quantity` units; a
        `Conflict` when another decision was made since the plan was read."""
        body = RestockDecide(
            action=RestockAction.ACCEPT if quantity is None else RestockAction.ADJUST,
            version=version,
            suggested=suggested,
            quantity=quantity,
        )
        return await self._transport.call(
            "POST",
            f"/warehouses/{warehouse_id}/restock/{sku}/decision",
            RestockDecision,
            json=body,
        )

    async def receive_restock(self, warehouse_id: str, decision_id: int) -> RestockDecision:
        """The goods of a decision arrived: they go on the shelf."""
        return await self._transport.call(
            "POST",
            f"/warehouses/{warehouse_id}/restock/decisions/{decision_id}/receive",
            RestockDecision,
        )

    async def losses(
        self,
        warehouse_id: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> WarehouseLosses:
        """Units sold and lost per SKU in [start, end) (default: the last 7 days)."""
        params = query_params(start=start and start.isoformat(), end=end and end.isoformat())
        return await self._transport.call(
            "GET", f"/warehouses/{warehouse_id}/losses", WarehouseLosses, params=params
        )

    async def set_auto_dispatch(self, warehouse_id: str, on: bool) -> Warehouse:
        return await self._transport.call(
            "PUT",
            f"/warehouses/{warehouse_id}/dispatch",
            Warehouse,
            json=DispatchSettings(auto_dispatch=on),
        )

    async def zones(self) -> list[Zone]:
        """The delivery zones with their polygons."""
        return await self._transport.call("GET", "/zones", list[Zone])
