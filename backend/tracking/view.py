"""The customer-safe view of one order, built from the store (never from the staff's model).

What it shows and what it keeps back is decided here, field by field: the stages and their
times, the ETA the desk sees (the newest `order.eta`, kept as `delivery_progress.eta_sent`),
the rider's first name and masked phone, the rider's position and track only while the order
is DELIVERING, the items, and where the order goes. Never the customer's name or phone, never
the rider's id or full name, never anything of another order.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.crypto.cipher import active
from backend.errors import NotFound
from backend.proof.pins import LABEL as PIN_LABEL
from backend.riders.models import ZoneRow
from backend.sql import Query, sql_of, when
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


def thin(points: list[TrackingPoint], cap: int) -> list[TrackingPoint]:
    """At most `cap` points, evenly spread, the newest always kept."""
    if len(points) <= cap:
        return points
    step = len(points) / (cap - 1)
    kept = [points[int(i * step)] for i in range(cap - 1)]
    return [*kept, points[-1]]


DELIVERING_AT = [column for _, column in STAGE_COLUMNS].index("delivering_at")
STAGES_SQL = ", ".join(f"o.{column}" for _, column in STAGE_COLUMNS)
READ_VIEW = Query(
    "SELECT o.external_id, o.status, o.promised_at, o.lat, o.lng, o.zone, o.rider_id, "
    "w.lat, w.lng, r.name, r.phone, r.last_lat, r.last_lng, r.last_fix_at, "
    "p.rider_id, p.eta_sent, p.arrived_at, t.sign_requested_at, t.signed_at, pin.pin, "
    "(SELECT MAX(e.seq) FROM events e WHERE e.order_id = o.id), "
    f"{STAGES_SQL} "
    "FROM orders o JOIN tracking_links t ON t.order_id = o.id "
    "JOIN warehouses w ON w.id = o.warehouse_id "
    "LEFT JOIN riders r ON r.id = o.rider_id "
    "LEFT JOIN delivery_progress p ON p.order_id = o.id "
    "LEFT JOIN order_pins pin ON pin.order_id = o.id "
    "WHERE o.id = :order_id"
)
"""Everything of one order's view but its items and track, in one statement: a view is read
at every page's look, so its round trips to the database are what it costs."""
READ_ITEMS = Query(
    "SELECT name, quantity, unit FROM order_items WHERE order_id = :order_id ORDER BY line"
)


async def customer_view(session: AsyncSession, order_id: int) -> TrackingView:
    """The order as its tracking link shows it, now."""
    view, _ = await view_and_carrier(session, order_id)
    return view


READ_TRACK = Query(
    "SELECT lat, lng, at FROM rider_positions WHERE rider_id = :rider_id AND at >= :since "
    "ORDER BY at"
)


async def view_and_carrier(session: AsyncSession, order_id: int) -> tuple[TrackingView, int | None]:
    """The view, and the rider whose fixes move it (while DELIVERING; else None)."""
    sql = sql_of(session)
    row = await sql.one(READ_VIEW, {"order_id": order_id})
    if row is None:
        raise NotFound(f"no order {order_id} with a tracking link")
    (
        reference, status, promised_at, lat, lng, zone, rider_id, store_lat, store_lng,
        rider_name, rider_phone, rider_lat, rider_lng, rider_fix_at, progress_rider, eta_sent,
        arrived_at, asked_at, signed_at, sealed_pin, seq, *stage_times,
    ) = row  # fmt: skip
    delivering = status == S.DELIVERING
    stages = sorted(
        (
            TrackingStage(state=state, at=moment)
            for (state, _), at in zip(STAGE_COLUMNS, stage_times, strict=True)
            if (moment := when(at)) is not None
        ),
        key=lambda stage: stage.at,
    )
    delivering_at = when(stage_times[DELIVERING_AT])
    # The rider before's progress stands until the new rider's first fix: not theirs to show.
    ours = delivering and progress_rider is not None and progress_rider == rider_id
    position: TrackingPoint | None = None
    track: list[TrackingPoint] = []
    if delivering and rider_id is not None:
        if rider_lat is not None and rider_lng is not None:
            position = TrackingPoint(lat=rider_lat, lng=rider_lng, at=when(rider_fix_at))
        if delivering_at is not None:
            fixes = await sql.all(READ_TRACK, {"rider_id": rider_id, "since": delivering_at})
            track = thin(
                [TrackingPoint(lat=a, lng=b, at=when(c)) for a, b, c in fixes], TRACK_POINTS
            )
    arrived = ours and arrived_at is not None
    asked_when = when(asked_at)
    # Asked on this delivery (an order back on the road after an exception is asked again).
    asked = (
        delivering
        and asked_when is not None
        and (delivering_at is None or asked_when >= delivering_at)
    )
    signed = signed_at is not None
    cipher = active()
    show_pin = delivering and not signed and sealed_pin is not None
    items = await sql.all(READ_ITEMS, {"order_id": order_id})
    view = TrackingView(
        seq=int(seq or 0),
        reference=reference,
        status=OrderState(status),
        stages=stages,
        promised_at=cast(datetime, when(promised_at)),
        eta=when(eta_sent) if ours else None,
        rider=(
            TrackingRider(
                first_name=first_name(rider_name),
                phone=mask_phone(cipher.decrypt(rider_phone, "riders.phone")),
            )
            if rider_id is not None
            else None
        ),
        rider_position=position,
        track=track,
        destination=TrackingPoint(lat=lat, lng=lng),
        store=TrackingPoint(lat=store_lat, lng=store_lng),
        zone=zone,
        items=[TrackingItem(name=n, quantity=q, unit=u) for n, q, u in items],
        arrived=arrived,
        signature_requested=asked,
        can_sign=delivering and (arrived or asked) and not signed,
        signed=signed,
        pin=cipher.decrypt(sealed_pin, PIN_LABEL) if show_pin else None,
    )
    return view, rider_id if delivering else None


async def city_map(session: AsyncSession) -> TrackingMap:
    """The zones' borders: the page's map, drawn from the city's own data."""
    rows = await session.scalars(select(ZoneRow).order_by(ZoneRow.name))
    return TrackingMap(
        zones=[
            TrackingMapZone(name=z.name, polygon=[(lat, lng) for lat, lng in z.polygon])
            for z in rows
        ]
    )
