"""Routes: rider suggestions for an order, and auto-dispatch on or off per warehouse."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.deps import CanAssignOrders, CanConfigureDispatch
from backend.auth.fields import FieldPolicy
from backend.deps import ClockDep, DbDep, SettingsDep
from backend.dispatch import deliveries
from backend.dispatch.ranking import Place, Ranking, rank_riders
from backend.dispatch.what_if import Stop, what_ifs
from backend.errors import NotFound
from backend.idempotency import IDEMPOTENT, run_once
from backend.inventory.models import WarehouseRow
from backend.inventory.router import WarehouseId, warehouse_view
from backend.orders.handover import hand_over
from backend.orders.service import goods_on_the_road, load_order
from backend.orders.views import order_views
from backend.paths import OrderId
from backend.realtime.outbox import append_event
from backend.responses import PROTECTED, TOO_LARGE, errors
from backend.riders.service import rider_view
from backend_client.models import (
    DispatchSettings,
    Handover,
    Order,
    RiderSuggestion,
    RouteWhatIf,
    Warehouse,
)

router = APIRouter(tags=["dispatch"], responses=PROTECTED)


@router.get(
    "/orders/{order_id}/rider-suggestions",
    response_model=list[RiderSuggestion],
    responses=errors({404: "No such order in your scope."}),
)
async def suggest_riders(
    order_id: OrderId,
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
    principal: CanAssignOrders,
    limit: Annotated[int, Query(ge=1, le=50)] = 5,
    what_if: Annotated[
        bool,
        Query(
            description="With each rider, what taking the order does to their route: its new "
            "ETA, and the orders on the route it would make late."
        ),
    ] = False,
) -> list[RiderSuggestion]:
    """Riders who could take the order now (online, with room, cold chain if needed), best
    first: the ranking auto-dispatch uses. The order's current rider is left out. The goods
    are picked up at the warehouse, or, once out for delivery, where their rider is now."""
    routes: dict[int, RouteWhatIf] = {}
    async with db.read() as session:
        order = await load_order(session, order_id, principal)
        pickup: Place | None = await _goods_with_rider(session, order)
        pickup = pickup or await session.get(WarehouseRow, order.warehouse_id)
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
            by=Ranking(settings.dispatch_ranking),
            now=clock.now(),
        )
        if what_if:
            added = Stop(
                order.id, (order.lat, order.lng), order.promised_at, (pickup.lat, pickup.lng)
            )
            routes = await what_ifs(session, [c.rider for c in ranked], added, now=clock.now())
    fields = FieldPolicy.of(principal)
    return [
        RiderSuggestion(
            rider=rider_view(c.rider, fields),
            distance_m=round(c.distance_m, 1),
            eta_minutes=round(c.eta_minutes, 1),
            what_if=routes.get(c.rider.id),
        )
        for c in ranked
    ]


@dataclass(frozen=True, slots=True)
class Spot:
    """Where goods wait to be picked up, when that is not a warehouse."""

    id: str
    lat: float
    lng: float


async def _goods_with_rider(session, order) -> Spot | None:
    """Where the goods are if they left the warehouse: waiting where a rider left the road,
    else with the order's rider (their last fix)."""
    goods = await goods_on_the_road(session, order)
    return Spot(f"order {order.id}'s goods", *goods) if goods is not None else None


@router.post(
    "/riders/{rider_id}/handover",
    response_model=list[Order],
    responses={
        **TOO_LARGE,
        **errors(
            {
                404: "No such rider in your scope.",
                409: "The list is not what the rider carries now, a version is stale, or the "
                "other rider is not online, lacks room or a cold-chain box.",
            }
        ),
    },
    openapi_extra=IDEMPOTENT,
)
async def handover(
    rider_id: Annotated[int, Path(ge=1, le=2**31 - 1, description="The rider giving them up.")],
    body: Handover,
    request: Request,
    db: DbDep,
    clock: ClockDep,
    principal: CanAssignOrders,
):
    """Move every order the rider carries to another rider in the listed sequence, all or
    none; list them as you last saw them (id and version)."""
    now = clock.now()

    async def act(session):
        moved = await hand_over(session, rider_id, body, actor=principal, now=now)
        return 200, await order_views(session, moved, now, FieldPolicy.of(principal))

    return await run_once(request, db, principal, now, act)


@router.put(
    "/warehouses/{warehouse_id}/dispatch",
    response_model=Warehouse,
    responses={**TOO_LARGE, **errors({404: "No such warehouse."})},
)
async def configure_dispatch(
    warehouse_id: WarehouseId,
    body: DispatchSettings,
    db: DbDep,
    clock: ClockDep,
    principal: CanConfigureDispatch,
) -> Warehouse:
    """Turn auto-dispatch on or off for one warehouse. Off, its orders wait for a dispatcher;
    on again, waiting orders are offered to riders within a few seconds."""
    now = clock.now()

    async def configure(session: AsyncSession) -> Warehouse:
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

    return await db.write(configure)
