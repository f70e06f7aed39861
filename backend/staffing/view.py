"""Planned against online and needed, per zone and clock hour: what the riders screen shows
and the `understaffed_zone` rule reads (`forecast.py` explains the figures)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.inventory.models import WarehouseRow
from backend.riders.models import RiderRow
from backend.staffing import forecast
from backend.staffing.forecast import hour_floor, hours_from, rider_hours
from backend_client.models import RiderStatus
from backend_client.models.staffing import Staffing, StaffingHour, ZoneStaffing


async def staffing(
    session: AsyncSession,
    now: datetime,
    *,
    hours: int,
    orders_per_rider_hour: float,
    weeks: int,
) -> Staffing:
    """Every zone a warehouse serves, now and for `hours` clock hours from the current one."""
    first = hour_floor(now)
    slots = hours_from(first, hours)
    zones: dict[str, str] = {}
    for warehouse_id, zone in await session.execute(
        select(WarehouseRow.id, WarehouseRow.zone).order_by(WarehouseRow.zone, WarehouseRow.id)
    ):
        zones.setdefault(zone, warehouse_id)
    online = dict(
        (
            await session.execute(
                select(WarehouseRow.zone, func.count(RiderRow.id))
                .join(WarehouseRow, WarehouseRow.id == RiderRow.warehouse_id)
                .where(RiderRow.status != RiderStatus.OFFLINE)
                .group_by(WarehouseRow.zone)
            )
        ).all()
    )
    expected = await forecast.forecast(session, first, hours, weeks=weeks)
    planned = await forecast.planned_shifts(session, first, first + hours * forecast.HOUR)
    answer = []
    for zone, warehouse_id in zones.items():
        shifts = planned.get(zone, [])
        spans = [(starts_at, ends_at) for _, starts_at, ends_at in shifts]
        rows = []
        for hour in slots:
            guess = expected.of(zone, hour)
            planned_hours = round(rider_hours(spans, hour), 2)
            needed = forecast.riders_needed(guess.orders, orders_per_rider_hour)
            rows.append(
                StaffingHour(
                    starts_at=hour,
                    forecast_orders=round(guess.orders, 2),
                    weeks=guess.weeks,
                    riders_planned=planned_hours,
                    riders_needed=needed,
                    short=round(max(0.0, needed - planned_hours), 2),
                )
            )
        answer.append(
            ZoneStaffing(
                zone=zone,
                warehouse_id=warehouse_id,
                planned_now=len({r for r, s, e in shifts if s <= now < e}),
                online_now=int(online.get(zone, 0)),
                hours=rows,
            )
        )
    return Staffing(
        at=now, orders_per_rider_hour=orders_per_rider_hour, history_weeks=weeks, zones=answer
    )
