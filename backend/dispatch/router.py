"""Routes: rider suggestions for an order, and auto-dispatch on or off per warehouse."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from backend.auth.deps import RuntimeDep, require
from backend.auth.permissions import Permission
from backend.auth.principal import Principal
from backend.dispatch import deliveries
from backend.dispatch.ranking import rank_riders
from backend.errors import NotFound
from backend.inventory.models import WarehouseRow
from backend.inventory.router import WarehouseId, warehouse_view
from backend.orders.service import load_order
from backend.realtime.outbox import append_event
from backend.responses import PROTECTED, TOO_LARGE, errors
from backend.riders.service import rider_view
from backend_client.models import DispatchSettings, RiderSuggestion, Warehouse

router = APIRouter(tags=["dispatch"], responses=PROTECTED)

OrderId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Order id.")]


@router.get(
    "/orders/{order_id}/rider-suggestions",
    response_model=list[RiderSuggestion],
    responses=errors({404: "No such order in your scope."}),
)
async def suggest_riders(
    order_id: OrderId,
    runtime: RuntimeDep,
    principal: Annotated[Principal, Depends(require(Permission.ORDERS_ASSIGN))],
    limit: Annotated[int, Query(ge=1, le=50)] = 5,
) -> list[RiderSuggestion]:
    """Riders who could take the order now (online, with room, cold chain if needed), best
    first: the ranking auto-dispatch uses. The order's current rider is left out."""
    async with runtime.db.read() as session:
        order = await load_order(session, order_id, principal)
        pickup = await session.get(WarehouseRow, order.warehouse_id)
        assert pickup is not None  # a foreign key
        # The parcel the order rides in may need a cold box for another order's goods.
        parcel = await deliveries.lead(session, order)
        ranked = await rank_riders(
            session,
            order,
            pickup,
            limit=limit,
            exclude=order.rider_id,
            cold_chain=parcel.cold_chain or order.cold_chain,
        )
    return [
        RiderSuggestion(
            rider=rider_view(c.rider),
            distance_m=round(c.distance_m, 1),
            eta_minutes=round(c.eta_minutes, 1),
        )
        for c in ranked
    ]


@router.put(
    "/warehouses/{warehouse_id}/dispatch",
    response_model=Warehouse,
    responses={**TOO_LARGE, **errors({404: "No such warehouse."})},
)
async def configure_dispatch(
    warehouse_id: WarehouseId,
    body: DispatchSettings,
    runtime: RuntimeDep,
    principal: Annotated[Principal, Depends(require(Permission.DISPATCH_CONFIGURE))],
) -> Warehouse:
    """Turn auto-dispatch on or off for one warehouse. Off, its orders wait for a dispatcher;
    on again, waiting orders are offered to riders within a few seconds."""
    now = runtime.clock.now()
    async with runtime.db.write() as session:
        warehouse = await session.get(WarehouseRow, warehouse_id, with_for_update=True)
        if warehouse is None:
            raise NotFound(f"no warehouse {warehouse_id}")
        if warehouse.auto_dispatch != body.auto_dispatch:
            warehouse.auto_dispatch = body.auto_dispatch
            await session.flush()
            await append_event(
                session,
                kind="warehouse.dispatch",
                actor=principal,
                at=now,
                warehouse_id=warehouse.id,
                payload={"auto_dispatch": body.auto_dispatch},
            )
        return warehouse_view(warehouse)
