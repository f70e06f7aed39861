"""The newest readings that speak for an order now: its own box's or its rider's vehicle's,
whichever is newer, one measure at a time (a humidity-only sensor says nothing of temperature)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.inventory.models import SkuRow
from backend.orders.models import OrderItemRow
from backend.sensors.models import TemperatureReadingRow

Measure = Literal["celsius", "humidity"]
Source = Literal["box", "vehicle"]
Newest = dict[tuple[Source, int], tuple[float, datetime]]


async def newest_readings(
    session: AsyncSession,
    measure: Measure,
    *,
    order_ids: Iterable[int],
    rider_ids: Iterable[int],
    since: datetime,
) -> Newest:
    """The newest value of `measure` since `since` per box (by order) and per vehicle (by rider)."""
    t = TemperatureReadingRow
    column = t.celsius if measure == "celsius" else t.humidity
    rows = await session.execute(
        select(t.order_id, t.rider_id, column, t.at)
        .where(
            t.at >= since,
            column.is_not(None),
            or_(t.order_id.in_(list(order_ids)), t.rider_id.in_(list(rider_ids))),
        )
        .order_by(t.at, t.id)
    )
    newest: Newest = {}
    for order_id, rider_id, value, at in rows:
        assert value is not None  # asked for readings of this measure only
        if order_id is not None:
            newest["box", order_id] = (value, at)
        elif rider_id is not None:  # the table holds one of the two
            newest["vehicle", rider_id] = (value, at)
    return newest


def speaking_for(
    newest: Newest, order_id: int, rider_id: int | None
) -> tuple[Source, float, datetime] | None:
    """The newer of the order's box reading and its rider's vehicle reading, if any."""
    found: list[tuple[Source, float, datetime]] = []
    if (box := newest.get(("box", order_id))) is not None:
        found.append(("box", *box))
    if rider_id is not None and (vehicle := newest.get(("vehicle", rider_id))) is not None:
        found.append(("vehicle", *vehicle))
    return max(found, key=lambda f: f[2]) if found else None


async def classes_of(session: AsyncSession, order_ids: Iterable[int]) -> dict[int, set[str]]:
    """The classes of goods (catalogue categories) in each order."""
    rows = await session.execute(
        select(OrderItemRow.order_id, SkuRow.category)
        .join(SkuRow, SkuRow.sku == OrderItemRow.sku)
        .where(OrderItemRow.order_id.in_(list(order_ids)))
    )
    classes: dict[int, set[str]] = {}
    for order_id, category in rows:
        classes.setdefault(order_id, set()).add(category)
    return classes
