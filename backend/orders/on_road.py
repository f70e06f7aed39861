"""What an order out for delivery adds to its answer: its ETA and its rider.

The ETA is the one the board shows and `order.eta` events carry: `delivery_progress.eta_at`,
kept by `backend/riders/progress.py` from the rider's fixes (the learned model's, or the
straight line: backend/eta/), with its delay risk. One query for a whole page of
orders, and none for a page with no order out for delivery.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.orders.lifecycle import FINAL_STATES
from backend.orders.models import OrderRow
from backend.orders.records import OrderRecord
from backend.riders.models import DeliveryProgressRow, RiderRow
from backend_client.models import EtaReason, OrderState


@dataclass(frozen=True, slots=True)
class OnRoad:
    """A delivering order's rider and, once the rider sent a fix since taking it, its ETA."""

    eta_at: datetime | None
    late_risk: float | None
    rider_id: int
    rider_name: str
    rider_phone: str
    last_lat: float | None
    last_lng: float | None
    last_fix_at: datetime | None


async def on_road(
    session: AsyncSession, orders: Iterable[OrderRow | OrderRecord]
) -> dict[int, OnRoad]:
    """The rider and ETA of each of `orders` that is DELIVERING, by order id."""
    ids = sorted({o.id for o in orders if o.status == OrderState.DELIVERING})
    if not ids:
        return {}
    rows = await session.execute(
        select(
            OrderRow.id,
            DeliveryProgressRow.eta_at,
            DeliveryProgressRow.late_risk,
            RiderRow.id,
            RiderRow.name,
            RiderRow.phone,
            RiderRow.last_lat,
            RiderRow.last_lng,
            RiderRow.last_fix_at,
        )
        .join(RiderRow, RiderRow.id == OrderRow.rider_id)
        # Progress kept for a rider before a reassignment is not this rider's ETA.
        .outerjoin(
            DeliveryProgressRow,
            and_(
                DeliveryProgressRow.order_id == OrderRow.id,
                DeliveryProgressRow.rider_id == OrderRow.rider_id,
            ),
        )
        .where(OrderRow.id.in_(ids), OrderRow.status == OrderState.DELIVERING)
    )
    return {
        order_id: OnRoad(eta_at, risk, rider_id, name, phone, lat, lng, fix_at)
        for order_id, eta_at, risk, rider_id, name, phone, lat, lng, fix_at in rows
    }


def eta_reason(status: str, road: OnRoad | None) -> EtaReason | None:
    """Why an order in `status` has no ETA (None: it has one)."""
    if status == OrderState.DELIVERING:
        return None if road is not None and road.eta_at is not None else EtaReason.NO_FIX
    if status == OrderState.EXCEPTION:
        return EtaReason.EXCEPTION
    if status in FINAL_STATES or status in (OrderState.RETURNING, OrderState.CLAIMING):
        return EtaReason.DELIVERY_OVER
    return EtaReason.NOT_DISPATCHED
