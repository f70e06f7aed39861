"""Keeping sensor readings (temperature, humidity or both): each names an order's box or a
rider's vehicle, in scope."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.errors import Unprocessable
from backend.orders.models import OrderRow
from backend.orders.scope import order_scope
from backend.riders.models import RiderRow
from backend.riders.scope import rider_scope
from backend.sensors.models import TemperatureReadingRow
from backend_client.models import TemperatureReadings

MAX_CLOCK_SKEW = timedelta(minutes=2)
MAX_AGE = timedelta(days=2)


async def record_readings(
    session: AsyncSession, batch: TemperatureReadings, *, actor: Principal, now: datetime
) -> int:
    """Keep every reading, or none: one naming neither or both, something out of the caller's
    scope, or an impossible time refuses the batch, naming the reading by index."""
    order_ids = {r.order_id for r in batch.readings if r.order_id is not None}
    rider_ids = {r.rider_id for r in batch.readings if r.rider_id is not None}
    orders = set(
        (
            await session.scalars(
                select(OrderRow.id).where(OrderRow.id.in_(order_ids), order_scope(actor))
            )
        ).all()
    )
    riders = set(
        (
            await session.scalars(
                select(RiderRow.id).where(RiderRow.id.in_(rider_ids), rider_scope(actor))
            )
        ).all()
    )
    problems = []
    for i, reading in enumerate(batch.readings):
        if (reading.order_id is None) == (reading.rider_id is None):
            problems.append(f"readings[{i}]: name an order_id or a rider_id (one of them)")
        elif reading.order_id is not None and reading.order_id not in orders:
            problems.append(f"readings[{i}].order_id: no order {reading.order_id}")
        elif reading.rider_id is not None and reading.rider_id not in riders:
            problems.append(f"readings[{i}].rider_id: no rider {reading.rider_id}")
        if reading.at > now + MAX_CLOCK_SKEW:
            problems.append(f"readings[{i}].at: {reading.at.isoformat()} is in the future")
        elif reading.at < now - MAX_AGE:
            problems.append(f"readings[{i}].at: older than {MAX_AGE.days} days")
    if problems:
        raise Unprocessable("; ".join(problems[:20]))
    session.add_all(
        TemperatureReadingRow(
            order_id=r.order_id,
            rider_id=r.rider_id,
            celsius=r.celsius,
            humidity=r.humidity,
            at=r.at,
            received_at=now,
        )
        for r in batch.readings
    )
    await session.flush()
    return len(batch.readings)
