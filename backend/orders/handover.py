"""Handing every order one rider carries to another rider, in the same sequence, all or none
(a rider's scooter broke down; their shift ends early). Their parcels move whole: the taker
needs a free slot for each parcel, however many orders ride in it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.dispatch import deliveries
from backend.dispatch.deliveries import DeliveryRecord
from backend.errors import Conflict, Unprocessable
from backend.orders import records
from backend.orders import service as orders
from backend.orders.lifecycle import ASSIGNABLE_STATES
from backend.orders.models import OrderRow
from backend.orders.records import OrderRecord
from backend.riders import service as riders
from backend.sql import sql_of
from backend_client.models import Handover, RiderStatus


async def hand_over(
    session: AsyncSession, from_rider_id: int, request: Handover, *, actor: Principal, now: datetime
) -> list[OrderRecord]:
    """Move the listed orders (every order the rider carries, as the caller last saw them) to
    `request.to_rider_id`, in the listed sequence. Refused as a whole if the list is not what
    the rider carries now, a version is stale, or the other rider cannot take them all."""
    to_rider_id = request.to_rider_id
    if to_rider_id == from_rider_id:
        raise Unprocessable("to_rider_id is the rider the orders are taken from")
    listed = [o.id for o in request.orders]
    if len(set(listed)) != len(listed):
        raise Unprocessable("orders: an order is listed twice")
    await riders.load_rider(session, from_rider_id, actor)
    await riders.lock_riders(session, {from_rider_id, to_rider_id})
    ids = await session.scalars(
        select(OrderRow.id).where(
            OrderRow.rider_id == from_rider_id, OrderRow.status.in_(ASSIGNABLE_STATES)
        )
    )
    sql = sql_of(session)
    carried = {
        o.id: o
        for o in await records.load_many(sql, list(ids.all()), lock=True)
        # Locked now: what changed rider or state since the ids were read no longer counts.
        if o.rider_id == from_rider_id and o.status in ASSIGNABLE_STATES
    }
    if set(listed) != set(carried):
        raise Conflict(
            f"rider {from_rider_id} carries orders {sorted(carried)} now, not {sorted(listed)}; "
            "reload and try again",
            carried=sorted(carried),
        )
    for wanted in request.orders:
        await orders.check_version(session, carried[wanted.id], wanted.version, actor)
    # Parcels move whole: merged orders ride on together and keep their one slot.
    parcels: dict[int, DeliveryRecord] = {}
    for order in carried.values():
        parcel = await deliveries.lead(session, order)
        if parcel.rider_id == from_rider_id:
            parcels.setdefault(parcel.id, parcel)
    taker = await riders.load_rider(session, to_rider_id, actor)
    if taker.status != RiderStatus.ONLINE:
        raise Conflict(f"rider {to_rider_id} is {taker.status}, not online")
    room = taker.capacity - taker.active_orders
    if room < len(parcels):
        raise Conflict(
            f"rider {to_rider_id} has room for {room} more "
            f"{'parcel' if room == 1 else 'parcels'}, not {len(parcels)}",
            room=room,
        )
    if not taker.cold_chain and any(p.cold_chain for p in parcels.values()):
        raise Conflict(f"rider {to_rider_id} has no cold-chain box for the cold-chain orders")
    reason = request.reason or f"handed over from rider {from_rider_id}"
    moved = []
    for position, wanted in enumerate(request.orders, start=1):
        order = carried[wanted.id]
        goods = await orders.goods_on_the_road(session, order)
        parcel = await deliveries.lead(session, order)
        if parcel.id in parcels and parcel.rider_id == from_rider_id:
            await deliveries.take(session, parcel, to_rider_id)
        await orders.record_assignment(
            session,
            order,
            to_rider_id,
            actor=actor,
            now=now,
            reason=f"{reason} ({position} of {len(listed)})",
        )
        if goods is not None:  # out on the road: collected where the rider before is
            await orders.leave_goods(session, order, to_rider_id, goods, now=now)
        moved.append(order)
    return moved
