"""What calls for a handover, and who takes which order.

A trigger is a standing alert: an order's `delivery_exception` (the rider reported an accident
on the road), or a critical `gps_silent` (a rider carrying orders went silent). The plan gives
each order the rider carries, most urgent promise first, to the best rider of the ranking
auto-dispatch uses (`dispatch.ranking`), from where the goods are, within reach, counting the
slots the plan has taken already; orders riding in one parcel stay together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.alerts.models import ACTIVE, AlertRow
from backend.alerts.rules import AutoHandover
from backend.dispatch import deliveries
from backend.dispatch.ranking import Place, rank_riders
from backend.inventory.models import WarehouseRow
from backend.orders import records
from backend.orders import service as orders
from backend.orders.lifecycle import ASSIGNABLE_STATES
from backend.orders.models import OrderRow
from backend.sql import sql_of
from backend.takeover.models import TakeoverRow
from backend_client.models import AlertRule, AlertSeverity, OrderState, TakeoverTrigger

SHORTLIST = 10
"""Riders ranked per order: enough to find one with room after the plan's own picks."""


@dataclass(frozen=True, slots=True)
class Trigger:
    """A standing alert that calls for handing a rider's orders over."""

    alert_id: int
    rider_id: int
    kind: TakeoverTrigger
    reason: str


async def triggers(session: AsyncSession) -> list[Trigger]:
    """Standing accident and critical-silence alerts with no proposal yet, oldest first."""
    proposed = select(TakeoverRow.alert_id).where(TakeoverRow.alert_id.is_not(None))
    rows = (
        await session.execute(
            select(AlertRow.id, AlertRow.rule, AlertRow.title, AlertRow.rider_id, OrderRow)
            .outerjoin(OrderRow, OrderRow.id == AlertRow.order_id)
            .where(
                AlertRow.state.in_(ACTIVE),
                AlertRow.id.not_in(proposed),
                (AlertRow.rule == AlertRule.DELIVERY_EXCEPTION)
                | (
                    (AlertRow.rule == AlertRule.GPS_SILENT)
                    & (AlertRow.severity == AlertSeverity.CRITICAL)
                ),
            )
            .order_by(AlertRow.id)
        )
    ).all()
    found = []
    for alert_id, rule, title, rider_id, order in rows:
        if rule == AlertRule.DELIVERY_EXCEPTION:
            if order is None or order.status != OrderState.EXCEPTION or order.rider_id is None:
                continue  # resumed or moved meanwhile: nothing stands in the road
            found.append(Trigger(alert_id, order.rider_id, TakeoverTrigger.ACCIDENT, title))
        elif rider_id is not None:
            found.append(Trigger(alert_id, rider_id, TakeoverTrigger.GPS_SILENT, title))
    return found


async def carried(session: AsyncSession, rider_id: int, *, lock: bool = False):
    """The orders the rider carries (holding a slot of theirs), most urgent promise first."""
    ids = await session.scalars(
        select(OrderRow.id)
        .where(OrderRow.rider_id == rider_id, OrderRow.status.in_(ASSIGNABLE_STATES))
        .order_by(OrderRow.promised_at, OrderRow.id)
    )
    loaded = await records.load_many(sql_of(session), list(ids.all()), lock=lock)
    kept = [o for o in loaded if o.rider_id == rider_id and o.status in ASSIGNABLE_STATES]
    return sorted(kept, key=lambda o: (o.promised_at, o.id))


@dataclass(frozen=True, slots=True)
class Spot:
    """Where goods already on the road wait."""

    lat: float
    lng: float


async def plan(
    session: AsyncSession, rider_id: int, rules: AutoHandover, *, now: datetime
) -> list[dict[str, Any]]:
    """One move per order the rider carries: the order as it stands, and who takes it (None
    when nobody within `rules.reach_m` has room or the cold box it needs)."""
    moves: list[dict[str, Any]] = []
    room: dict[int, int] = {}
    together: dict[int, tuple[int, str, datetime]] = {}
    """A parcel (still at the warehouse) already given: its orders go with it."""
    for order in await carried(session, rider_id):
        parcel = await deliveries.lead(session, order)
        move: dict[str, Any] = {
            "order_id": order.id,
            "version": order.version,
            "status": order.status,
            "promised_at": order.promised_at.isoformat(),
            "to_rider_id": None,
            "to_rider_name": None,
            "eta": None,
        }
        moves.append(move)
        shared = parcel.status != deliveries.OUT and len(parcel.carried) > 1
        if shared and parcel.id in together:
            taker, name, eta = together[parcel.id]
            move.update(to_rider_id=taker, to_rider_name=name, eta=eta.isoformat())
            continue
        goods = await orders.goods_on_the_road(session, order)
        pickup: Place | None = Spot(*goods) if goods is not None else None
        pickup = pickup or await session.get(WarehouseRow, order.warehouse_id)
        assert pickup is not None  # a foreign key
        ranked = await rank_riders(
            session,
            order,
            pickup,
            limit=SHORTLIST,
            exclude=rider_id,
            cold_chain=parcel.cold_chain or order.cold_chain,
        )
        for candidate in ranked:
            rider = candidate.rider
            left = room.setdefault(rider.id, rider.capacity - rider.active_orders)
            if candidate.distance_m > rules.reach_m or left <= 0:
                continue
            room[rider.id] = left - 1
            eta = now + timedelta(minutes=candidate.eta_minutes)
            move.update(to_rider_id=rider.id, to_rider_name=rider.name, eta=eta.isoformat())
            if shared:
                together[parcel.id] = (rider.id, rider.name, eta)
            break
    return moves
