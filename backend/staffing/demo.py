"""The demo's roster: every demo rider planned for a week, so the riders screen's planned
column is not empty the first time the console opens."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.inventory.models import WarehouseRow
from backend.riders.models import RiderRow
from backend.staffing.models import ShiftRow

log = logging.getLogger(__name__)

SHIFT = timedelta(hours=8)
DAYS = 7


def demo_shifts(
    riders: list[tuple[int, str]], now: datetime
) -> list[tuple[int, str, datetime, datetime]]:
    """(rider, zone, start, end): three 8-hour shifts a day (00-08, 08-16, 16-24 UTC), each
    zone's riders taking them in turn by id (a zone with three riders or more is never left
    without one), for `DAYS` days from today; those already over left out."""
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    planned = []
    turns: Counter[str] = Counter()
    for rider_id, zone in riders:
        n = turns[zone]
        turns[zone] += 1
        for day in range(DAYS):
            starts_at = today + timedelta(days=day) + (n % 3) * SHIFT
            if starts_at + SHIFT > now:
                planned.append((rider_id, zone, starts_at, starts_at + SHIFT))
    return planned


async def seed_rosters(session: AsyncSession, now: datetime) -> None:
    """Plan the week when nothing is planned from now on (a demo restarted days later gets a
    new week; one still planned is left alone)."""
    if await session.scalar(select(ShiftRow.id).where(ShiftRow.ends_at > now).limit(1)):
        return
    riders = [
        (rider_id, zone)
        for rider_id, zone in await session.execute(
            select(RiderRow.id, WarehouseRow.zone)
            .join(WarehouseRow, WarehouseRow.id == RiderRow.warehouse_id)
            .order_by(RiderRow.id)
        )
    ]
    taken = {
        (rider_id, starts_at)
        for rider_id, starts_at in await session.execute(
            select(ShiftRow.rider_id, ShiftRow.starts_at).where(ShiftRow.ends_at > now - SHIFT)
        )
    }
    shifts = [s for s in demo_shifts(riders, now) if (s[0], s[2]) not in taken]
    session.add_all(
        ShiftRow(
            rider_id=rider_id,
            zone=zone,
            starts_at=starts_at,
            ends_at=ends_at,
            created_by="demo",
            created_at=now,
            version=1,
        )
        for rider_id, zone, starts_at, ends_at in shifts
    )
    await session.flush()
    if shifts:
        log.info("planned %d demo shifts", len(shifts))
