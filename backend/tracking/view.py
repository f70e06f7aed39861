"""The customer-safe view of one order, built from the store (never from the staff's model).

What it shows and what it keeps back is decided here, field by field: the stages and their
times, the ETA the desk sees (the newest `order.eta`, kept as `delivery_progress.eta_sent`),
the rider's first name and masked phone, the rider's position and track only while the order
is DELIVERING, the items, and where the order goes. Never the customer's name or phone, never
the rider's id or full name, never anything of another order.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.inventory.models import WarehouseRow
from backend.orders.models import OrderRow
from backend.proof.pins import customer_pin
from backend.realtime.models import EventRow
from backend.riders.models import DeliveryProgressRow, RiderPositionRow, RiderRow, ZoneRow
from backend.tracking.models import TrackingLinkRow
from backend_client.models import OrderState
from backend_client.models.tracking import (
    TrackingItem,
    TrackingMap,
    TrackingMapZone,
    TrackingPoint,
    TrackingRider,
    TrackingStage,
    TrackingView,
)
from backend_client.phones import mask_phone

S = OrderState
STAGE_COLUMNS: tuple[tuple[OrderState, str], ...] = (
    (S.CREATED, "created_at"),
    (S.PAID, "paid_at"),
    (S.PICKING, "picking_at"),
    (S.OUT_OF_STOCK, "out_of_stock_at"),
    (S.DELIVERING, "delivering_at"),
    (S.EXCEPTION, "exception_at"),
    (S.SIGNED, "signed_at"),
    (S.RETURNING, "returning_at"),
    (S.RETURNED, "returned_at"),
    (S.CLAIMING, "claiming_at"),
    (S.CLAIM_SETTLED, "claim_settled_at"),
    (S.CANCELLED, "cancelled_at"),
)
TRACK_POINTS = 200
"""The most fixes a view carries: enough for a phone's map, few enough for a small answer."""


def first_name(name: str) -> str:
    """The first word of the rider's name as registered: all the customer is told."""
    words = name.split()
    return words[0] if words else "Your rider"


def stages_of(order: OrderRow) -> list[TrackingStage]:
    reached = [
        TrackingStage(state=state, at=getattr(order, column))
        for state, column in STAGE_COLUMNS
        if getattr(order, column) is not None
    ]
    return sorted(reached, key=lambda stage: stage.at)


def thin(points: list[TrackingPoint], cap: int) -> list[TrackingPoint]:
    """At most `cap` points, evenly spread, the newest always kept."""
    if len(points) <= cap:
        return points
    step = len(points) / (cap - 1)
    kept = [points[int(i * step)] for i in range(cap - 1)]
    return [*kept, points[-1]]


async def order_seq(session: AsyncSession, order_id: int) -> int:
    """The newest numbered event of the order (0 before its first is numbered)."""
    newest = await session.scalar(
        select(func.max(EventRow.seq)).where(EventRow.order_id == order_id)
    )
    return int(newest or 0)


async def customer_view(session: AsyncSession, order_id: int) -> TrackingView:
    """The order as its tracking link shows it, now."""
    view, _ = await view_and_carrier(session, order_id)
    return view


async def view_and_carrier(session: AsyncSession, order_id: int) -> tuple[TrackingView, int | None]:
    """The view, and the rider whose fixes move it (while DELIVERING; else None)."""
    seq = await order_seq(session, order_id)
    order = await session.get_one(OrderRow, order_id)
    link = await session.get_one(TrackingLinkRow, order_id)
    store = await session.get_one(WarehouseRow, order.warehouse_id)
    delivering = order.status == S.DELIVERING
    rider = await session.get(RiderRow, order.rider_id) if order.rider_id is not None else None
    progress = await session.get(DeliveryProgressRow, order_id) if delivering else None
    if progress is not None and progress.rider_id != order.rider_id:
        progress = None  # the rider before's, until the new rider's first fix
    position: TrackingPoint | None = None
    track: list[TrackingPoint] = []
    if delivering and rider is not None:
        if rider.last_lat is not None and rider.last_lng is not None:
            position = TrackingPoint(lat=rider.last_lat, lng=rider.last_lng, at=rider.last_fix_at)
        track = await _track(session, rider.id, order.delivering_at)
    arrived = progress is not None and progress.arrived_at is not None
    # Asked on this delivery (an order back on the road after an exception is asked again).
    asked = (
        delivering
        and link.sign_requested_at is not None
        and (order.delivering_at is None or link.sign_requested_at >= order.delivering_at)
    )
    signed = link.signed_at is not None
    pin = await customer_pin(session, order_id) if delivering and not signed else None
    view = TrackingView(
        seq=seq,
        reference=order.external_id,
        status=OrderState(order.status),
        stages=stages_of(order),
        promised_at=order.promised_at,
        eta=progress.eta_sent if progress is not None else None,
        rider=(
            TrackingRider(first_name=first_name(rider.name), phone=mask_phone(rider.phone))
            if rider is not None
            else None
        ),
        rider_position=position,
        track=track,
        destination=TrackingPoint(lat=order.lat, lng=order.lng),
        store=TrackingPoint(lat=store.lat, lng=store.lng),
        zone=order.zone,
        items=[TrackingItem(name=i.name, quantity=i.quantity, unit=i.unit) for i in order.items],
        arrived=arrived,
        signature_requested=asked,
        can_sign=delivering and (arrived or asked) and not signed,
        signed=signed,
        pin=pin,
    )
    return view, rider.id if delivering and rider is not None else None


async def _track(
    session: AsyncSession, rider_id: int, since: datetime | None
) -> list[TrackingPoint]:
    if since is None:
        return []
    rows = await session.execute(
        select(RiderPositionRow.lat, RiderPositionRow.lng, RiderPositionRow.at)
        .where(RiderPositionRow.rider_id == rider_id, RiderPositionRow.at >= since)
        .order_by(RiderPositionRow.at)
    )
    return thin([TrackingPoint(lat=lat, lng=lng, at=at) for lat, lng, at in rows], TRACK_POINTS)


async def city_map(session: AsyncSession) -> TrackingMap:
    """The zones' borders: the page's map, drawn from the city's own data."""
    rows = await session.scalars(select(ZoneRow).order_by(ZoneRow.name))
    return TrackingMap(
        zones=[
            TrackingMapZone(name=z.name, polygon=[(lat, lng) for lat, lng in z.polygon])
            for z in rows
        ]
    )
