"""What the sensors read in a KPI window: temperature and relative humidity, their range and
mean, from the boxes of the orders in scope and, for the whole scope only, from riders' vehicles
(a vehicle serves every channel, warehouse and zone, so a narrowed question leaves them out)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.kpi.scope import KpiScope
from backend.orders.models import OrderRow
from backend.sensors.models import TemperatureReadingRow
from backend_client.models import SensorKpis


async def sensor_kpis(session: AsyncSession, scope: KpiScope) -> SensorKpis:
    """One pass over the window's readings (SQL aggregates skip the measure a reading lacks)."""
    t = TemperatureReadingRow
    filters = scope.order_filters()
    # Narrowed: the boxes of the orders in scope only. Whole: every box and every vehicle.
    which = [t.order_id.is_not(None), *filters] if filters else []
    row = (
        await session.execute(
            select(
                func.count(t.celsius),
                func.min(t.celsius),
                func.avg(t.celsius),
                func.max(t.celsius),
                func.count(t.humidity),
                func.min(t.humidity),
                func.avg(t.humidity),
                func.max(t.humidity),
            )
            .select_from(t)
            .outerjoin(OrderRow, OrderRow.id == t.order_id)
            .where(t.at >= scope.start, t.at < scope.end, *which)
        )
    ).one()
    return SensorKpis(
        celsius_readings=row[0],
        celsius_min=row[1],
        celsius_avg=None if row[2] is None else float(row[2]),
        celsius_max=row[3],
        humidity_readings=row[4],
        humidity_min=row[5],
        humidity_avg=None if row[6] is None else float(row[6]),
        humidity_max=row[7],
    )
